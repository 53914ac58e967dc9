package train

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
)

// newText is finetuning data the pretrained model has not seen.
func newText() *data.Dataset {
	return &data.Dataset{Name: "new", Documents: []string{strings.Repeat("a dog ran in the park. ", 12)}}
}

// lmModelFn is the whole model of mc.
func lmModelFn(mc lm.Config) ModelFn {
	return func(scope *model.Scope, tokens *Node) (*Node, *Node) { return lm.Forward(scope, mc, tokens) }
}

// lmTrainerOn is newLMTrainer on the dataset ds (a model without memory layers has no split).
func lmTrainerOn(t *testing.T, mc lm.Config, cfg Config, ds *data.Dataset) *Trainer {
	t.Helper()
	var split *lm.SplitModel
	if mc.Model.IsMemory() {
		var err error
		if split, err = mc.Split(); err != nil {
			t.Fatal(err)
		}
	}
	tr, err := NewSplit(testBackend(t), lmModelFn(mc), split, cfg, data.ByteTokenizer{}, ds)
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

// pretrained trains mc on the repeated text for a few host-path steps into a new checkpoint directory and
// returns it with the model's parameters and its final held-out NLL on val.
func pretrained(t *testing.T, mc lm.Config, val [][]int32) (dir string, params map[string][]float32, valNLL float64) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "pretrained")
	tr := newLMTrainer(t, mc, lmTrainConfig(6, PathHost, ""))
	sum, err := tr.Run(context.Background(), Options{CheckpointDir: dir, ValWindows: val})
	if err != nil {
		t.Fatal(err)
	}
	return dir, parameters(t, tr), sum.Final["val_nll"]
}

// finetuneConfig is a short constant-rate finetuning without weight decay.
func finetuneConfig(mode, optimizer string, steps int) Config {
	cfg := lmTrainConfig(steps, PathHost, "")
	cfg.WarmupSteps, cfg.MinLRFraction, cfg.WeightDecay, cfg.GradClip = 0, 1, 0, 0
	cfg.LR, cfg.ValueLR = 1e-2, 1e-2
	cfg.Finetune, cfg.Optimizer = mode, optimizer
	return cfg
}

// changedRows counts the rows of a [rows, dim] table that differ between a and b.
func changedRows(a, b []float32, dim int) int {
	n := 0
	for r := 0; r*dim < len(a); r++ {
		if !slices.Equal(a[r*dim:(r+1)*dim], b[r*dim:(r+1)*dim]) {
			n++
		}
	}
	return n
}

// dirFiles lists a directory's files with their contents' lengths and bytes, to see that nothing in
// it changed.
func dirFiles(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// TestFinetuneModesMoveOnlyWhatTheyTrain starts each mode from one pretrained memory model and checks
// what moved: memory mode only value rows (some), sparse mode at most TopSlots rows per step, LoRA only
// the adapters (and a LoRA model at step 0 is the pretrained model: same held-out NLL), full mode the
// rest too. The pretrained checkpoint's files are left as they were, a background-reads cache aside.
func TestFinetuneModesMoveOnlyWhatTheyTrain(t *testing.T) {
	mc := tinyLM(t, lm.KindMemory)
	val := data.PackDocuments(data.ByteTokenizer{}, repeatedText().Documents, 16)[:2]
	dir, before, preNLL := pretrained(t, mc, val)
	files := dirFiles(t, dir)
	background := data.PackDocuments(data.ByteTokenizer{}, repeatedText().Documents, 16)
	const table = "/layer_02/memory/values"
	dim := mc.Dim
	const steps, top = 4, 2

	for _, tc := range []struct {
		mode, optimizer string
	}{{FinetuneMemory, OptimizerSGD}, {FinetuneSparse, OptimizerSGD}, {FinetuneSparse, OptimizerAdamW},
		{FinetuneLoRA, OptimizerAdamW}, {FinetuneFull, OptimizerAdamW}} {
		t.Run(tc.mode+"-"+tc.optimizer, func(t *testing.T) {
			cfg := finetuneConfig(tc.mode, tc.optimizer, steps)
			model := mc
			if tc.mode == FinetuneLoRA {
				model.LoRA = lm.LoRAConfig{Rank: 2}
			}
			if tc.mode == FinetuneSparse {
				cfg.TopSlots = top
			}
			var out bytes.Buffer
			tr := lmTrainerOn(t, model, cfg, newText())
			sum, err := tr.Run(context.Background(), Options{InitFrom: dir, BackgroundWindows: background,
				ValWindows: val, EvalAtStart: true, Progress: &out})
			if err != nil {
				t.Fatal(err)
			}
			if len(tr.evals) < 2 || tr.evals[0].Step != 0 {
				t.Fatalf("evaluations at steps %v, want one at step 0 first", tr.evals)
			}
			// The model at step 0 is the pretrained one, LoRA's adapters (B = 0) included.
			if start := tr.evals[0].Metrics["val_nll"]; math.Abs(start-preNLL) > 1e-6*preNLL {
				t.Errorf("held-out NLL at step 0 %.7g, the pretrained model's %.7g", start, preNLL)
			}
			after := parameters(t, tr)
			moved := map[string]bool{}
			for path, w := range after {
				if !slices.Equal(w, before[path]) {
					moved[path] = true
				}
			}
			rows := changedRows(before[table], after[table], dim)
			switch tc.mode {
			case FinetuneMemory, FinetuneSparse:
				if len(moved) != 1 || !moved[table] {
					t.Errorf("moved %v, want only %s", moved, table)
				}
				if rows == 0 {
					t.Error("no value row moved")
				}
				if tc.mode == FinetuneSparse && (rows > steps*top || sum.Final["value_rows_per_step"] > top) {
					t.Errorf("%d rows moved in %d steps (%.1f per step), at most %d per step", rows, steps, sum.Final["value_rows_per_step"], top)
				}
				if tc.mode == FinetuneMemory && sum.Final["value_rows_per_step"] <= top {
					t.Errorf("memory mode updated %.1f rows per step; a batch reads more", sum.Final["value_rows_per_step"])
				}
			case FinetuneLoRA:
				for path := range moved {
					if !lm.IsLoRAVariable(path) {
						t.Errorf("%s moved in a LoRA finetuning", path)
					}
				}
				if len(moved) == 0 {
					t.Error("no adapter moved")
				}
			case FinetuneFull:
				if !moved["/layer_00/attn/wq"] || !moved[table] {
					t.Errorf("full finetuning moved %v", moved)
				}
			}
		})
	}
	after := dirFiles(t, dir)
	for name, b := range files {
		if !bytes.Equal(after[name], b) {
			t.Errorf("finetuning changed %s in the pretrained checkpoint's directory", name)
		}
	}
	var cached []string
	for name := range after {
		if files[name] == nil {
			cached = append(cached, name)
		}
	}
	if len(cached) != 1 || !strings.HasPrefix(cached[0], "background-") {
		t.Errorf("new files next to the checkpoint: %v, want one background-reads cache", cached)
	}
}

// TestValueOnlyBackwardMatchesFull: with nothing but value rows training, the host path skips the VJP of
// the piece before the first memory layer and that layer's query/key gradients. One SGD step of memory
// mode must move the value tables exactly as a full finetuning whose other parameters have rate 0,
// for one memory layer and for Memory+'s three layers sharing a table.
func TestValueOnlyBackwardMatchesFull(t *testing.T) {
	for _, kind := range []lm.Kind{lm.KindMemory, lm.KindMemoryPlus} {
		t.Run(string(kind), func(t *testing.T) {
			mc := tinyLM(t, kind)
			dir, _, _ := pretrained(t, mc, nil)
			run := func(mode string, lr float64) map[string][]float32 {
				cfg := finetuneConfig(mode, OptimizerSGD, 1)
				cfg.LR = lr
				tr := lmTrainerOn(t, mc, cfg, newText())
				if _, err := tr.Run(context.Background(), Options{InitFrom: dir, NoBuiltinEval: true}); err != nil {
					t.Fatal(err)
				}
				if mode == FinetuneMemory && tr.host.graphTrains {
					t.Fatal("memory mode trains graph variables")
				}
				return parameters(t, tr)
			}
			values, full := run(FinetuneMemory, 1e-2), run(FinetuneFull, 0)
			for path, w := range full {
				if !slices.Equal(values[path], w) {
					t.Errorf("%s: memory mode and full mode at rate 0 differ by %.3g", path, maxAbsDiff(values[path], w))
				}
			}
		})
	}
}

// TestSGDSamePathsAgree: SGD on the graph path and on the host path gives the same run.
func TestSGDSamePathsAgree(t *testing.T) {
	mc := tinyLM(t, lm.KindMemory)
	cfg := func(path, updates string) Config {
		c := lmTrainConfig(3, path, updates)
		c.Optimizer, c.WeightDecay = OptimizerSGD, 0
		return c
	}
	host := newLMTrainer(t, mc, cfg(PathHost, ""))
	sumHost, err := host.Run(context.Background(), Options{NoBuiltinEval: true})
	if err != nil {
		t.Fatal(err)
	}
	graph := newLMTrainer(t, mc, cfg(PathGraph, UpdatesSparse))
	sumGraph, err := graph.Run(context.Background(), Options{NoBuiltinEval: true})
	if err != nil {
		t.Fatal(err)
	}
	requireSameRun(t, "sgd", sumHost, sumGraph, parameters(t, host), parameters(t, graph), 2e-4)
	if graph.Store().GetVariable(OptimizerScope+"/layer_00/attn/wq/m") != nil {
		t.Error("SGD created Adam moments")
	}
}

// TestFinetuneRefuses: settings that cannot finetune are one-line errors before any step.
func TestFinetuneRefuses(t *testing.T) {
	bad := func(edit func(*Config)) error {
		c := finetuneConfig(FinetuneSparse, OptimizerSGD, 2)
		c.TopSlots = 3
		edit(&c)
		return c.Validate()
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*Config)
	}{
		{"sparse on the graph path", `memory_path="host"`, func(c *Config) { c.MemoryPath = PathGraph }},
		{"sparse without t", "top_slots=0", func(c *Config) { c.TopSlots = 0 }},
		{"t without sparse", "only used with", func(c *Config) { c.Finetune = FinetuneMemory }},
		{"memory with weight decay", "frozen ones", func(c *Config) {
			c.Finetune, c.TopSlots, c.Optimizer, c.WeightDecay = FinetuneMemory, 0, OptimizerAdamW, 0.1
		}},
		{"sgd with weight decay", `optimizer="sgd"`, func(c *Config) { c.Finetune, c.TopSlots, c.WeightDecay = FinetuneFull, 0, 0.1 }},
		{"unknown mode", `finetune="everything"`, func(c *Config) { c.Finetune = "everything" }},
		{"unknown optimizer", `optimizer="adam"`, func(c *Config) { c.Optimizer = "adam" }},
	} {
		err := bad(tc.edit)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want one line containing %q", tc.name, err, tc.want)
		}
	}

	mc := tinyLM(t, lm.KindMemory)
	cfg := finetuneConfig(FinetuneMemory, OptimizerSGD, 2)
	if _, err := lmTrainerOn(t, mc, cfg, newText()).Run(context.Background(), Options{NoBuiltinEval: true}); err == nil || !strings.Contains(err.Error(), "InitFrom") {
		t.Errorf("memory mode without a model to start from: %v", err)
	}
	empty := t.TempDir()
	if _, err := lmTrainerOn(t, mc, cfg, newText()).Run(context.Background(), Options{InitFrom: empty, NoBuiltinEval: true}); err == nil || !strings.Contains(err.Error(), "holds no checkpoint") {
		t.Errorf("init from an empty directory: %v", err)
	}
	dir, _, _ := pretrained(t, mc, nil)
	lora := finetuneConfig(FinetuneLoRA, OptimizerAdamW, 2)
	if _, err := lmTrainerOn(t, mc, lora, newText()).Run(context.Background(), Options{InitFrom: dir, NoBuiltinEval: true}); err == nil || !strings.Contains(err.Error(), "nothing would train") {
		t.Errorf("LoRA finetuning of a model without adapters: %v", err)
	}
	sparse := finetuneConfig(FinetuneSparse, OptimizerSGD, 2)
	sparse.TopSlots = 2
	if _, err := lmTrainerOn(t, mc, sparse, newText()).Run(context.Background(), Options{InitFrom: dir, NoBuiltinEval: true}); err == nil || !strings.Contains(err.Error(), "background windows") {
		t.Errorf("sparse finetuning without background data: %v", err)
	}
}

// TestLoRAOnTheGraphPath: a dense model (graph path) finetuned with adapters starts where its pretraining
// ended and moves only the adapters.
func TestLoRAOnTheGraphPath(t *testing.T) {
	mc := tinyLM(t, lm.KindDense)
	val := data.PackDocuments(data.ByteTokenizer{}, repeatedText().Documents, 16)[:2]
	dir := filepath.Join(t.TempDir(), "dense")
	pre := lmTrainerOn(t, mc, lmTrainConfig(4, PathGraph, ""), repeatedText())
	sum, err := pre.Run(context.Background(), Options{CheckpointDir: dir, ValWindows: val})
	if err != nil {
		t.Fatal(err)
	}
	before := parameters(t, pre)
	cfg := finetuneConfig(FinetuneLoRA, OptimizerAdamW, 3)
	cfg.MemoryPath = PathGraph
	adapted := mc
	adapted.LoRA = lm.LoRAConfig{Rank: 2}
	tr := lmTrainerOn(t, adapted, cfg, newText())
	if _, err := tr.Run(context.Background(), Options{InitFrom: dir, ValWindows: val, EvalAtStart: true}); err != nil {
		t.Fatal(err)
	}
	if start, want := tr.evals[0].Metrics["val_nll"], sum.Final["val_nll"]; math.Abs(start-want) > 1e-6*want {
		t.Errorf("held-out NLL at step 0 %.7g, the pretrained model's %.7g", start, want)
	}
	moved := 0
	for path, w := range parameters(t, tr) {
		old, existed := before[path]
		switch {
		case !existed && !lm.IsLoRAVariable(path):
			t.Errorf("new variable %s", path)
		case existed && !slices.Equal(old, w):
			t.Errorf("%s moved in a LoRA finetuning", path)
		case !existed:
			moved++
		}
	}
	if moved == 0 {
		t.Error("no adapters")
	}
}
