package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/memlayer"
)

// tinyLM is a 4-layer lm model of kind with byte tokens, small enough to train for a few steps in a
// second. Its 64-row value table is larger than one step reads, so sparse and dense updates differ.
func tinyLM(t *testing.T, kind lm.Kind) lm.Config {
	t.Helper()
	cfg := lm.Config{Vocab: data.NumBytesAndSpecials, Dim: 16, Layers: 4, Heads: 2, SeqLen: 16, TiedEmbeddings: true,
		Model: kind, Memory: memlayer.Config{Heads: 2, KNN: 3, NKeys: 8, KDim: 8, QueryBias: true}}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// newLMTrainer returns a trainer of the lm model on the repeated text, on cfg's memory path.
func newLMTrainer(t *testing.T, mc lm.Config, cfg Config) *Trainer {
	t.Helper()
	split, err := mc.Split()
	if err != nil {
		t.Fatal(err)
	}
	modelFn := func(scope *model.Scope, tokens *Node) (*Node, *Node) { return lm.Forward(scope, mc, tokens) }
	tr, err := NewSplit(testBackend(t), modelFn, split, cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// lmTrainConfig trains with warmup, decay, weight decay, clipping (that bites) and separate rates.
func lmTrainConfig(steps int, path, updates string) Config {
	cfg := tinyConfig()
	cfg.Steps, cfg.WarmupSteps, cfg.BatchSize, cfg.SeqLen = steps, min(2, steps), 4, 16
	cfg.LR, cfg.ValueLR, cfg.WeightDecay, cfg.GradClip = 3e-3, 1e-2, 0.1, 0.5
	cfg.MemoryPath, cfg.ValueUpdates = path, updates
	return cfg
}

// parameters returns every trainable parameter of a finished run, value tables included, by path: from
// the store on the graph path, from the host tables on the host path.
func parameters(t *testing.T, tr *Trainer) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for v := range tr.Store().IterVariables() {
		if v.Trainable && v.DType().IsFloat() && !strings.HasPrefix(v.Path(), OptimizerScope+"/") {
			out[v.Path()] = variableFloats(t, tr.Store(), v.Path())
		}
	}
	if tr.host != nil {
		for _, tbl := range tr.host.tables {
			out[tbl.path] = slices.Clone(tbl.values.Data)
		}
	}
	return out
}

// requireSameRun checks two runs' losses and parameters agree within a relative tolerance (for a
// parameter, relative to its largest magnitude or 0.1, whichever is larger: biases start at zero).
func requireSameRun(t *testing.T, what string, a, b *Summary, pa, pb map[string][]float32, tol float64) {
	t.Helper()
	if len(a.Losses) != len(b.Losses) {
		t.Fatalf("%s: %d and %d losses", what, len(a.Losses), len(b.Losses))
	}
	for i := range a.Losses {
		if d := math.Abs(a.Losses[i] - b.Losses[i]); d > tol*math.Abs(a.Losses[i]) {
			t.Errorf("%s: step %d loss %.7g vs %.7g", what, i+1, a.Losses[i], b.Losses[i])
		}
	}
	if len(pa) != len(pb) {
		t.Errorf("%s: %d and %d parameters", what, len(pa), len(pb))
	}
	for path, wa := range pa {
		wb, ok := pb[path]
		if !ok {
			t.Errorf("%s: %s missing from the second run", what, path)
			continue
		}
		scale := 0.1
		for _, x := range wa {
			scale = math.Max(scale, math.Abs(float64(x)))
		}
		if d := maxAbsDiff(wa, wb); d > tol*scale {
			t.Errorf("%s: %s differs by %.3g (scale %.3g)", what, path, d, scale)
		}
	}
}

// TestHostPathMatchesGraphPath trains memory, Memory+ and PEER models from the same initialisation on both
// paths. With the same value-update rule (sparse), 1 and 10 steps give the same losses and parameters
// within float32 tolerance; the first step also equals the graph path's dense rule.
func TestHostPathMatchesGraphPath(t *testing.T) {
	for _, kind := range []lm.Kind{lm.KindMemory, lm.KindMemoryPlus, lm.KindPEER} {
		t.Run(string(kind), func(t *testing.T) {
			mc := tinyLM(t, kind)
			for _, steps := range []int{1, 10} {
				host := newLMTrainer(t, mc, lmTrainConfig(steps, PathHost, ""))
				sumHost, err := host.Run(context.Background(), Options{NoBuiltinEval: true})
				if err != nil {
					t.Fatal(err)
				}
				graph := newLMTrainer(t, mc, lmTrainConfig(steps, PathGraph, UpdatesSparse))
				sumGraph, err := graph.Run(context.Background(), Options{NoBuiltinEval: true})
				if err != nil {
					t.Fatal(err)
				}
				requireSameRun(t, "host vs graph", sumGraph, sumHost, parameters(t, graph), parameters(t, host), 2e-4)
				if sumHost.ValueParams != sumGraph.ValueParams || sumHost.Params != sumGraph.Params {
					t.Errorf("params host %d (%d values), graph %d (%d values)", sumHost.Params, sumHost.ValueParams, sumGraph.Params, sumGraph.ValueParams)
				}
				if steps == 1 {
					dense := newLMTrainer(t, mc, lmTrainConfig(steps, PathGraph, UpdatesDense))
					sumDense, err := dense.Run(context.Background(), Options{NoBuiltinEval: true})
					if err != nil {
						t.Fatal(err)
					}
					requireSameRun(t, "host vs dense graph, one step", sumDense, sumHost, parameters(t, dense), parameters(t, host), 2e-4)
				}
			}
		})
	}
}

// TestHostPathResumeIsExact: on the host path, 12 steps straight and 6 + interruption + resume + 6 give
// bitwise-equal losses, graph variables, value tables and value optimizer state.
func TestHostPathResumeIsExact(t *testing.T) {
	for _, kind := range []lm.Kind{lm.KindMemory, lm.KindMemoryPlus, lm.KindPEER} {
		t.Run(string(kind), func(t *testing.T) {
			mc := tinyLM(t, kind)
			cfg := lmTrainConfig(12, PathHost, "")
			cfg.CheckpointEvery = 4
			straight := newLMTrainer(t, mc, cfg)
			sumA, err := straight.Run(context.Background(), Options{})
			if err != nil {
				t.Fatal(err)
			}

			dir := filepath.Join(t.TempDir(), "ckpt")
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			first := newLMTrainer(t, mc, cfg)
			_, err = first.Run(ctx, Options{CheckpointDir: dir, OnStep: func(s StepInfo) {
				if s.Step == 6 {
					cancel()
				}
			}})
			if !errors.Is(err, ErrInterrupted) {
				t.Fatalf("Run returned %v, want an interruption", err)
			}
			resumed := newLMTrainer(t, mc, cfg)
			sumC, err := resumed.Run(context.Background(), Options{CheckpointDir: dir, Resume: true})
			if err != nil {
				t.Fatal(err)
			}
			for i, l := range sumA.Losses[6:] {
				if math.Float64bits(l) != math.Float64bits(sumC.Losses[i]) {
					t.Errorf("step %d loss straight %v, resumed %v", 7+i, l, sumC.Losses[i])
				}
			}
			for k, a := range sumA.Final { // every final metric but the timings (value_rows_per_step included)
				if c, ok := sumC.Final[k]; !strings.Contains(k, "second") && (!ok || math.Float64bits(a) != math.Float64bits(c)) {
					t.Errorf("final %s: straight %v, resumed %v", k, a, c)
				}
			}
			if _, ok := sumA.Final["value_rows_per_step"]; !ok {
				t.Error("no value_rows_per_step on the host path")
			}
			for m, mem := range straight.host.mems { // memory usage: a share of the slots, a KL in [0, log rows]
				c := mem.config()
				used, kl := sumA.Final[fmt.Sprintf("slots_used_m%d", m)], sumA.Final[fmt.Sprintf("usage_kl_m%d", m)]
				if !(used > 0 && used <= 1) || !(kl >= 0 && kl <= math.Log(float64(c.NKeys*c.NKeys))+1e-9) {
					t.Errorf("memory layer %d: slots_used %v, usage_kl %v: want a share in (0, 1] and a KL in [0, log %d]",
						m, used, kl, c.NKeys*c.NKeys)
				}
			}
			want, got := variableBytes(t, straight.Store()), variableBytes(t, resumed.Store())
			for path, w := range want {
				if g, ok := got[path]; !ok || !bytes.Equal(w, g) {
					t.Errorf("variable %s differs between the straight and the resumed run", path)
				}
			}
			for i, a := range straight.host.tables {
				c := resumed.host.tables[i]
				if !slices.Equal(a.values.Data, c.values.Data) || !slices.Equal(a.opt.M, c.opt.M) || !slices.Equal(a.opt.V, c.opt.V) ||
					!slices.Equal(a.opt.RowDecayLog, c.opt.RowDecayLog) || a.opt.DecayLog != c.opt.DecayLog || a.opt.Step != c.opt.Step {
					t.Errorf("value table %s or its optimizer state differs between the straight and the resumed run", a.path)
				}
			}
			if want := map[lm.Kind]int{lm.KindMemory: 1, lm.KindMemoryPlus: 1, lm.KindPEER: 2}[kind]; len(straight.host.tables) != want {
				t.Errorf("%d host tables, want %d", len(straight.host.tables), want)
			}
		})
	}
}

// TestCrossPathResume: a host-path checkpoint resumes on the graph path with sparse value updates (and
// continues the same run within float32 tolerance), and is refused with a one-line error naming the host
// path when the graph path would update the values densely.
func TestCrossPathResume(t *testing.T) {
	mc := tinyLM(t, lm.KindMemoryPlus)
	hostCfg := lmTrainConfig(8, PathHost, "")
	straight := newLMTrainer(t, mc, hostCfg)
	sumA, err := straight.Run(context.Background(), Options{NoBuiltinEval: true})
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, err = newLMTrainer(t, mc, hostCfg).Run(ctx, Options{CheckpointDir: dir, NoBuiltinEval: true, OnStep: func(s StepInfo) {
		if s.Step == 4 {
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("Run returned %v, want an interruption", err)
	}

	_, err = newLMTrainer(t, mc, lmTrainConfig(8, PathGraph, "")).Run(context.Background(),
		Options{CheckpointDir: dir, Resume: true, NoBuiltinEval: true})
	if err == nil || !strings.Contains(err.Error(), "--memory-path host") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("dense graph resume of a host checkpoint: want a one-line error naming --memory-path host, got %v", err)
	}

	graph := newLMTrainer(t, mc, lmTrainConfig(8, PathGraph, UpdatesSparse))
	sumB, err := graph.Run(context.Background(), Options{CheckpointDir: dir, Resume: true, NoBuiltinEval: true})
	if err != nil {
		t.Fatal(err)
	}
	sumA.Losses = sumA.Losses[4:]
	requireSameRun(t, "host straight vs host then graph", sumA, sumB, parameters(t, straight), parameters(t, graph), 2e-4)
}

// TestHostPathEvaluate: Evaluate restores a host-path checkpoint (value tables and all) and computes the
// final evaluation of the run that saved it, without training.
func TestHostPathEvaluate(t *testing.T) {
	mc := tinyLM(t, lm.KindMemoryPlus)
	cfg := lmTrainConfig(6, PathHost, "")
	facts, err := data.LoadFactsTSV(filepath.Join("..", "data", "testdata", "capitals.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.FactsDataset("capitals", facts, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	split, err := mc.Split()
	if err != nil {
		t.Fatal(err)
	}
	modelFn := func(scope *model.Scope, tokens *Node) (*Node, *Node) { return lm.Forward(scope, mc, tokens) }
	newTrainer := func() *Trainer {
		tr, err := NewSplit(testBackend(t), modelFn, split, cfg, data.ByteTokenizer{}, ds)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	sumA, err := newTrainer().Run(context.Background(), Options{CheckpointDir: dir, EvalQALimit: 4})
	if err != nil {
		t.Fatal(err)
	}
	sumB, err := newTrainer().Evaluate(context.Background(), Options{CheckpointDir: dir, EvalQALimit: 4})
	if err != nil {
		t.Fatal(err)
	}
	if sumB.Step != 6 || len(sumB.Losses) != 0 {
		t.Fatalf("evaluated at step %d after %d training steps, want step 6 and none", sumB.Step, len(sumB.Losses))
	}
	for _, k := range []string{"train_qa_nll", "eval_qa_nll", "train_qa_em"} {
		if _, ok := sumA.Final[k]; !ok {
			t.Fatalf("the run measured no %s", k)
		}
		if math.Float64bits(sumA.Final[k]) != math.Float64bits(sumB.Final[k]) {
			t.Errorf("%s: %v after training, %v when evaluating the checkpoint", k, sumA.Final[k], sumB.Final[k])
		}
	}
	if sumB.ValueParams != sumA.ValueParams || sumB.ValueParams == 0 {
		t.Errorf("value params %d, training counted %d", sumB.ValueParams, sumA.ValueParams)
	}
}
