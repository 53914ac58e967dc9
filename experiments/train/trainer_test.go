package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/memlayer"
)

// TestLearnsRepeatedText trains the tiny model on a repeated sentence: the loss must at least halve, the
// progress lines must have the documented format, and the results run must be filled.
func TestLearnsRepeatedText(t *testing.T) {
	cfg := tinyConfig()
	cfg.EvalEvery = 30
	tr, err := New(testBackend(t), tinyModel(16, 0), cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	var progress bytes.Buffer
	run := &results.Run{Experiment: "train-test", Name: "tiny"}
	sum, err := tr.Run(context.Background(), Options{
		Progress: &progress, ProgressEvery: 20, Results: run,
		ValWindows: tr.Windows()[:2], ModelConfig: map[string]int{"dim": 16},
	})
	if err != nil {
		t.Fatal(err)
	}
	if sum.Step != cfg.Steps || len(sum.Losses) != cfg.Steps {
		t.Fatalf("summary step=%d losses=%d, want %d", sum.Step, len(sum.Losses), cfg.Steps)
	}
	first := (sum.Losses[0] + sum.Losses[1] + sum.Losses[2]) / 3
	last := (sum.Losses[cfg.Steps-1] + sum.Losses[cfg.Steps-2] + sum.Losses[cfg.Steps-3]) / 3
	t.Logf("loss %.3f → %.3f", first, last)
	if last > first/2 {
		t.Errorf("loss went from %.3f to %.3f: want a drop of at least 50%%", first, last)
	}

	lineRE := regexp.MustCompile(`^step \d+/60  loss \d+\.\d{3}  [\d,]+ tok/s  ETA \S+$`)
	var steps int
	for _, line := range strings.Split(strings.TrimSpace(progress.String()), "\n") {
		if strings.HasPrefix(line, "step ") {
			steps++
			if !lineRE.MatchString(line) {
				t.Errorf("progress line %q does not match %s", line, lineRE)
			}
		}
	}
	if steps < 3 {
		t.Errorf("got %d progress lines, want >= 3:\n%s", steps, progress.String())
	}
	t.Logf("progress:\n%s", progress.String())
	if !strings.Contains(progress.String(), "eval step 30") {
		t.Errorf("no evaluation line at step 30:\n%s", progress.String())
	}

	if len(run.Evals) != 2 || run.Evals[0].Step != 30 || run.Evals[1].Step != 60 {
		t.Fatalf("run.Evals = %+v, want evaluations at steps 30 and 60", run.Evals)
	}
	if run.Evals[1].Tokens != int64(60*cfg.BatchSize*cfg.SeqLen) {
		t.Errorf("eval tokens = %d, want %d", run.Evals[1].Tokens, 60*cfg.BatchSize*cfg.SeqLen)
	}
	v0, v1 := run.Evals[0].Metrics["val_nll"], run.Evals[1].Metrics["val_nll"]
	if !(v1 > 0 && v1 < v0) {
		t.Errorf("val_nll %v → %v: want positive and decreasing", v0, v1)
	}
	for _, k := range []string{"train_loss", "val_nll", "steps", "tokens", "params", "value_params", "tokens_per_second"} {
		if _, ok := run.Final[k]; !ok {
			t.Errorf("run.Final has no %q: %v", k, run.Final)
		}
	}
	vocab := data.NumBytesAndSpecials
	if want := float64(3*vocab*16 + vocab); run.Final["params"] != want || run.Final["value_params"] != float64(vocab*16) {
		t.Errorf("params=%v value_params=%v, want %v and %v", run.Final["params"], run.Final["value_params"], want, vocab*16)
	}
	if run.Backend.Name == "" || run.Backend.NumDevices != 1 || len(run.Config) == 0 || run.Seed != cfg.Seed || run.WallSeconds <= 0 {
		t.Errorf("run not filled: backend=%+v config=%s seed=%d wall=%v", run.Backend, run.Config, run.Seed, run.WallSeconds)
	}
}

// TestValueLR checks that the value table moves by ValueLR and the other variables by LR: after one Adam
// step with a constant schedule, every touched element moves by almost exactly the learning rate.
func TestValueLR(t *testing.T) {
	base := tinyConfig()
	base.Steps, base.WarmupSteps, base.MinLRFraction = 1, 0, 1 // factor 1 at step 1
	base.WeightDecay, base.GradClip = 0, 0

	// Initial values: a trainer with the same seed, whose variables are initialised by an evaluation.
	ref, err := New(testBackend(t), tinyModel(16, 0), base, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Evaluator().EvaluateText(context.Background(), ref.Windows()[:1]); err != nil {
		t.Fatal(err)
	}
	initial := map[string][]float32{}
	for _, p := range []string{"/tiny/embed", "/tiny/values", "/tiny/w", "/tiny/b"} {
		initial[p] = variableFloats(t, ref.Store(), p)
	}

	for _, tc := range []struct{ lr, valueLR float64 }{{0, 1e-2}, {1e-2, 1e-3}} {
		cfg := base
		cfg.LR, cfg.ValueLR = tc.lr, tc.valueLR
		tr, err := New(testBackend(t), tinyModel(16, 0), cfg, data.ByteTokenizer{}, repeatedText())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Run(context.Background(), Options{}); err != nil {
			t.Fatal(err)
		}
		for path, want := range map[string]float64{"/tiny/embed": tc.lr, "/tiny/w": tc.lr, "/tiny/b": tc.lr, "/tiny/values": tc.valueLR} {
			moved := maxAbsDiff(initial[path], variableFloats(t, tr.Store(), path))
			if want == 0 && moved != 0 {
				t.Errorf("lr=%g value_lr=%g: %s moved by %g, want exactly 0", tc.lr, tc.valueLR, path, moved)
			}
			if want > 0 && math.Abs(moved-want) > 0.01*want {
				t.Errorf("lr=%g value_lr=%g: %s moved by at most %g, want %g", tc.lr, tc.valueLR, path, moved, want)
			}
		}
		// Rows of the value table that the batch never read keep their values exactly.
		after := variableFloats(t, tr.Store(), "/tiny/values")
		row := int('Z') * 16 // 'Z' does not occur in the text.
		if d := maxAbsDiff(initial["/tiny/values"][row:row+16], after[row:row+16]); d != 0 {
			t.Errorf("untouched value row moved by %g", d)
		}
	}
}

// TestResumeIsExact runs 2N steps straight and N steps, interruption, resume, N steps: the final loss,
// the evaluations and every variable (model, AdamW moments, global step, RNG state) must be bitwise equal.
func TestResumeIsExact(t *testing.T) {
	cfg := tinyConfig()
	cfg.Steps, cfg.WarmupSteps, cfg.Schedule = 12, 3, ScheduleCosine
	cfg.GradClip, cfg.LR, cfg.ValueLR, cfg.CheckpointEvery = 0.5, 1e-2, 3e-3, 4
	modelFn := tinyModel(16, 0.2) // dropout: the RNG state must be restored too
	newTrainer := func() *Trainer { return newTextTrainer(t, modelFn, cfg) }

	straight := newTrainer()
	sumA, err := straight.Run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}

	dir := filepath.Join(t.TempDir(), "ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	first := newTrainer()
	_, err = first.Run(ctx, Options{CheckpointDir: dir, OnStep: func(s StepInfo) {
		if s.Step == 6 {
			cancel()
		}
	}})
	var interrupted *InterruptedError
	if !errors.As(err, &interrupted) || !errors.Is(err, ErrInterrupted) || interrupted.Step != 6 {
		t.Fatalf("Run returned %v, want an interruption at step 6", err)
	}
	if want := "train: interrupted at step 6, checkpoint saved to " + dir + "; rerun with --resume"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	var log bytes.Buffer
	resumed := newTrainer()
	sumC, err := resumed.Run(context.Background(), Options{CheckpointDir: dir, Resume: true, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resumed from") || sumC.StartStep != 6 || sumC.Step != 12 || len(sumC.Losses) != 6 {
		t.Fatalf("resume: start=%d step=%d losses=%d log:\n%s", sumC.StartStep, sumC.Step, len(sumC.Losses), log.String())
	}
	if math.Float64bits(sumA.Loss) != math.Float64bits(sumC.Loss) {
		t.Errorf("final loss straight %v, resumed %v", sumA.Loss, sumC.Loss)
	}
	for i, l := range sumA.Losses[6:] {
		if math.Float64bits(l) != math.Float64bits(sumC.Losses[i]) {
			t.Errorf("step %d loss straight %v, resumed %v", 7+i, l, sumC.Losses[i])
		}
	}
	if a, c := sumA.Final["train_loss"], sumC.Final["train_loss"]; math.Float64bits(a) != math.Float64bits(c) {
		t.Errorf("final train_loss straight %v, resumed %v", a, c)
	}
	if sumA.Tokens != sumC.Tokens {
		t.Errorf("tokens straight %d, resumed %d", sumA.Tokens, sumC.Tokens)
	}

	want := variableBytes(t, straight.Store())
	got := variableBytes(t, resumed.Store())
	for _, p := range []string{"/tiny/values", "/optimizer/tiny/values/m", "/optimizer/tiny/w/v", "/global_step", "/" + model.RNGStateVariableName} {
		if _, ok := want[p]; !ok {
			t.Errorf("straight run has no variable %s", p)
		}
	}
	for path, w := range want {
		if g, ok := got[path]; !ok {
			t.Errorf("resumed run has no variable %s", path)
		} else if !bytes.Equal(w, g) {
			t.Errorf("variable %s differs between the straight and the resumed run", path)
		}
	}

	// Resuming a finished run trains no more and keeps the results.
	again := newTrainer()
	sumD, err := again.Run(context.Background(), Options{CheckpointDir: dir, Resume: true})
	if err != nil || sumD.Step != 12 || len(sumD.Losses) != 0 {
		t.Fatalf("resuming a finished run: step=%v losses=%d err=%v", sumD.Step, len(sumD.Losses), err)
	}
	if sumD.Params != sumA.Params || sumD.Final["train_loss"] != sumA.Final["train_loss"] {
		t.Errorf("resuming a finished run: params %d train_loss %v, want %d and %v",
			sumD.Params, sumD.Final["train_loss"], sumA.Params, sumA.Final["train_loss"])
	}
}

// nanAtStep wraps the tiny model with an aux loss that becomes NaN at step n (a counter variable counts
// the calls).
func nanAtStep(n int) ModelFn {
	inner := tinyModel(8, 0)
	return func(scope *model.Scope, tokens *Node) (*Node, *Node) {
		logits, _ := inner(scope, tokens)
		g := tokens.Graph()
		counter := scope.In("nan").WithInitializer(initializer.Zero).
			VariableWithShape("counter", shapes.Make(dtypes.Float32)).SetTrainable(false)
		c := AddScalar(counter.NodeValue(g), 1)
		counter.SetNodeValue(c)
		aux := MulScalar(Sqrt(Sub(Scalar(g, dtypes.Float32, float64(n-1)), c)), 0) // sqrt(-1) at c == n
		return logits, aux
	}
}

func TestNaNNamesTheStep(t *testing.T) {
	cfg := tinyConfig()
	cfg.Steps, cfg.GradClip = 10, 0
	tr, err := New(testBackend(t), nanAtStep(4), cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "ckpt")
	sum, err := tr.Run(context.Background(), Options{CheckpointDir: dir})
	if !errors.Is(err, ErrNonFiniteLoss) {
		t.Fatalf("Run returned %v, want a non-finite loss error", err)
	}
	want := fmt.Sprintf("train: loss became NaN at step 4 with learning rate %g; lower Config.LR or set Config.GradClip (clipping is off)", cfg.LR)
	if err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	if sum == nil || sum.Step != 4 {
		t.Errorf("summary %+v, want step 4", sum)
	}
	if names, _ := listCheckpoints(dir); len(names) != 0 {
		t.Errorf("a checkpoint was saved after the loss became NaN: %v", names)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Fatalf("DefaultConfig: %v", err)
	}
	for _, tc := range []struct {
		edit func(*Config)
		want string
	}{
		{func(c *Config) { c.Steps = 0 }, "train: steps=0: must be >= 1"},
		{func(c *Config) { c.BatchSize = -1 }, "train: batch_size=-1: must be >= 1"},
		{func(c *Config) { c.SeqLen = 0 }, "train: seq_len=0: must be >= 1"},
		{func(c *Config) { c.LR = -1 }, "train: lr=-1: must be a finite number >= 0"},
		{func(c *Config) { c.LR, c.ValueLR = 0, 0 }, "train: lr=0: must be > 0 when value_lr is 0 too"},
		{func(c *Config) { c.LR = math.NaN() }, "train: lr=NaN"},
		{func(c *Config) { c.MinLRFraction = 1.5 }, "train: min_lr_fraction=1.5: must be in [0, 1]"},
		{func(c *Config) { c.WarmupSteps = 601 }, "train: warmup_steps=601: must be <= steps (600)"},
		{func(c *Config) { c.Schedule = "step" }, `train: schedule="step": must be "linear" or "cosine"`},
		{func(c *Config) { c.WeightDecay = -0.1 }, "train: weight_decay=-0.1"},
		{func(c *Config) { c.Beta1 = 1 }, "train: beta1=1: must be in [0, 1)"},
		{func(c *Config) { c.Beta2 = -0.5 }, "train: beta2=-0.5: must be in [0, 1)"},
		{func(c *Config) { c.Eps = 0 }, "train: eps=0: must be a finite number > 0"},
		{func(c *Config) { c.ValueLR = -1e-3 }, "train: value_lr=-0.001"},
		{func(c *Config) { c.GradClip = -1 }, "train: grad_clip=-1"},
		{func(c *Config) { c.EvalEvery = -1 }, "train: eval_every=-1"},
		{func(c *Config) { c.CheckpointEvery = -5 }, "train: checkpoint_every=-5"},
		{func(c *Config) { c.MaxAnswerTokens = 0 }, "train: max_answer_tokens=0: must be >= 1"},
	} {
		cfg := DefaultConfig()
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Validate() = %v, want it to contain %q", err, tc.want)
		}
	}
	cfg := DefaultConfig()
	cfg.Steps, cfg.Eps = 0, -1
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "\n") ||
		!strings.Contains(err.Error(), "steps=0") || !strings.Contains(err.Error(), "eps=-1") {
		t.Errorf("two bad fields: %v, want both named on one line", err)
	}
	if _, err := New(testBackend(t), tinyModel(8, 0), cfg, data.ByteTokenizer{}, repeatedText()); err == nil {
		t.Error("New accepted steps=0")
	}
	if _, err := New(testBackend(t), tinyModel(8, 0), DefaultConfig(), data.ByteTokenizer{}, &data.Dataset{Name: "empty"}); err == nil ||
		!strings.Contains(err.Error(), `dataset "empty" has no training text`) {
		t.Errorf("New on an empty dataset: %v", err)
	}
}

func TestLRSchedule(t *testing.T) {
	cfg := Config{Steps: 110, WarmupSteps: 10, MinLRFraction: 0.1}
	for _, tc := range []struct {
		schedule string
		step     int
		want     float64
	}{
		{ScheduleLinear, 1, 0.1}, {ScheduleLinear, 10, 1}, {ScheduleLinear, 60, 0.55}, {ScheduleLinear, 110, 0.1},
		{ScheduleCosine, 5, 0.5}, {ScheduleCosine, 10, 1}, {ScheduleCosine, 60, 0.55}, {ScheduleCosine, 110, 0.1},
		{"", 35, 1 - 0.25*0.9},
	} {
		cfg.Schedule = tc.schedule
		if got := cfg.LRFactor(tc.step); math.Abs(got-tc.want) > 1e-12 {
			t.Errorf("%q LRFactor(%d) = %v, want %v", tc.schedule, tc.step, got, tc.want)
		}
	}
}

// TestCheckpointErrors checks the one-line errors for corrupt, mismatched and foreign checkpoints, and
// that a directory holding another run's checkpoints is never written to.
func TestCheckpointErrors(t *testing.T) {
	cfg := tinyConfig()
	cfg.Steps, cfg.WarmupSteps = 3, 1
	modelCfg := map[string]int{"dim": 16}
	root := t.TempDir()
	base := filepath.Join(root, "base")
	tr, err := New(testBackend(t), tinyModel(16, 0), cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tr.Run(context.Background(), Options{CheckpointDir: base, ModelConfig: modelCfg}); err != nil {
		t.Fatal(err)
	}
	names, err := listCheckpoints(base)
	if err != nil || len(names) != 1 || !strings.HasSuffix(names[0], "-step-00000003") {
		t.Fatalf("checkpoints %v (%v), want one at step 3", names, err)
	}
	copyDir := func(name string) string {
		dst := filepath.Join(root, name)
		if err := os.MkdirAll(dst, 0o755); err != nil {
			t.Fatal(err)
		}
		entries, _ := os.ReadDir(base)
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(base, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dst, e.Name()), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dst
	}
	snapshot := func(dir string) map[string]string {
		out := map[string]string{}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
			out[e.Name()] = string(b)
		}
		return out
	}
	resume := func(dir string, cfg Config, modelCfg any, resume bool) error {
		tr, err := New(testBackend(t), tinyModel(16, 0), cfg, data.ByteTokenizer{}, repeatedText())
		if err != nil {
			t.Fatal(err)
		}
		before := snapshot(dir)
		_, err = tr.Run(context.Background(), Options{CheckpointDir: dir, Resume: resume, ModelConfig: modelCfg})
		if err != nil {
			if after := snapshot(dir); len(after) != len(before) {
				t.Errorf("failed run changed %s: %d files before, %d after", dir, len(before), len(after))
			} else {
				for k, v := range before {
					if after[k] != v {
						t.Errorf("failed run changed %s/%s", dir, k)
					}
				}
			}
		}
		return err
	}
	oneLineErr := func(name string, err error, wants ...string) {
		t.Helper()
		if err == nil {
			t.Errorf("%s: no error", name)
			return
		}
		t.Logf("%s: %v", name, err)
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error is not one line: %q", name, err)
		}
		for _, w := range wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q does not contain %q", name, err, w)
			}
		}
	}

	// Truncated data file.
	dir := copyDir("truncated")
	bin := filepath.Join(dir, names[0]+".bin")
	b, _ := os.ReadFile(bin)
	_ = os.WriteFile(bin, b[:len(b)/2], 0o644)
	oneLineErr("truncated bin", resume(dir, cfg, modelCfg, true),
		"train: checkpoint file "+bin+" is corrupt (data file has ", "); it is the only checkpoint there: use a new --checkpoint-dir")

	// Garbage metadata file.
	dir = copyDir("garbage")
	_ = os.WriteFile(filepath.Join(dir, names[0]+".json"), []byte("{not json"), 0o644)
	oneLineErr("garbage json", resume(dir, cfg, modelCfg, true),
		"train: checkpoint file "+filepath.Join(dir, names[0]+".json")+" is corrupt (metadata: invalid character", "--checkpoint-dir")

	// Different model config, different training config.
	dir = copyDir("mismatch")
	oneLineErr("model mismatch", resume(dir, cfg, map[string]int{"dim": 8}, true),
		"train: checkpoint "+dir+" was made with a different model config (dim 16 in the checkpoint vs 8 now); use a new --checkpoint-dir or the same config")
	other := cfg
	other.LR = 0.02
	oneLineErr("train mismatch", resume(dir, other, modelCfg, true), "different training config (lr 0.01 in the checkpoint vs 0.02 now)")

	// An existing checkpoint is never reused or overwritten without --resume.
	oneLineErr("no resume", resume(dir, cfg, modelCfg, false), "already holds a checkpoint", "--resume")

	// A longer run may continue the same checkpoint.
	longer := cfg
	longer.Steps = 5
	if err := resume(dir, longer, modelCfg, true); err != nil {
		t.Errorf("resuming with more steps: %v", err)
	}
}

// TestMemoryLayerValueLR trains a model with a real memlayer.Layer for one step: its value table moves by
// ValueLR, the rest by LR, and value rows no token selected do not move at all.
func TestMemoryLayerValueLR(t *testing.T) {
	memCfg := memlayer.Config{Heads: 1, KNN: 2, NKeys: 4, KDim: 8}
	if err := memCfg.Validate(); err != nil {
		t.Fatal(err)
	}
	inner := tinyModel(16, 0)
	modelFn := func(scope *model.Scope, tokens *Node) (*Node, *Node) {
		g := tokens.Graph()
		s := scope.In("mem_model")
		embed := s.WithInitializer(initializer.RandomNormalFn(s, 0.5)).
			VariableWithShape("embed", shapes.Make(dtypes.Float32, data.NumBytesAndSpecials, 16)).NodeValue(g)
		h := Gather(embed, InsertAxes(tokens, -1))
		h = Add(h, memlayer.Layer(s.In("memory"), h, memCfg))
		logits, _ := inner(scope, tokens)
		return Add(logits, Einsum("btd,vd->btv", h, embed)), nil
	}
	cfg := tinyConfig()
	cfg.Steps, cfg.WarmupSteps, cfg.MinLRFraction = 1, 0, 1
	cfg.WeightDecay, cfg.GradClip, cfg.LR, cfg.ValueLR = 0, 0, 1e-2, 1e-3

	ref, err := New(testBackend(t), modelFn, cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ref.Evaluator().EvaluateText(context.Background(), ref.Windows()[:1]); err != nil {
		t.Fatal(err)
	}
	tr, err := New(testBackend(t), modelFn, cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	sum, err := tr.Run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if sum.ValueParams != 16*16+16*data.NumBytesAndSpecials { // memory values + the tiny model's "values"
		t.Errorf("value params %d, want %d", sum.ValueParams, 16*16+16*data.NumBytesAndSpecials)
	}
	for path, want := range map[string]float64{"/mem_model/memory/values": 1e-3, "/mem_model/memory/query": 1e-2, "/mem_model/embed": 1e-2} {
		before, after := variableFloats(t, ref.Store(), path), variableFloats(t, tr.Store(), path)
		if moved := maxAbsDiff(before, after); math.Abs(moved-want) > 0.01*want {
			t.Errorf("%s moved by at most %g, want %g", path, moved, want)
		}
	}
	before, after := variableFloats(t, ref.Store(), "/mem_model/memory/values"), variableFloats(t, tr.Store(), "/mem_model/memory/values")
	unchanged := 0
	for r := range 16 {
		if maxAbsDiff(before[r*16:(r+1)*16], after[r*16:(r+1)*16]) == 0 {
			unchanged++
		}
	}
	t.Logf("%d of 16 value rows were not selected by the batch", unchanged)
}

func TestInterruptedBeforeFirstStep(t *testing.T) {
	tr, err := New(testBackend(t), tinyModel(8, 0), tinyConfig(), data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := filepath.Join(t.TempDir(), "ckpt")
	sum, err := tr.Run(ctx, Options{CheckpointDir: dir})
	if want := "train: interrupted at step 0; no checkpoint was saved"; err == nil || err.Error() != want || !sum.Interrupted {
		t.Fatalf("Run = %v, want %q", err, want)
	}
	if names, _ := listCheckpoints(dir); len(names) != 0 {
		t.Errorf("checkpoints saved: %v", names)
	}
}

// TestResumedWallTimeCountsEarlierSessions: a resumed run's results record adds the earlier session's wall
// time up to its checkpoint, so wall_seconds covers the whole run and not only its last session.
func TestResumedWallTimeCountsEarlierSessions(t *testing.T) {
	cfg := tinyConfig()
	cfg.Steps, cfg.CheckpointEvery = 8, 4
	modelFn := tinyModel(16, 0)
	dir := filepath.Join(t.TempDir(), "ckpt")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const pause = 40 * time.Millisecond // per step of the first session, so its wall time is known to exceed 4·pause
	first := &results.Run{}
	_, err := newTextTrainer(t, modelFn, cfg).Run(ctx, Options{CheckpointDir: dir, Results: first, OnStep: func(s StepInfo) {
		time.Sleep(pause)
		if s.Step == 4 {
			cancel()
		}
	}})
	if !errors.Is(err, ErrInterrupted) {
		t.Fatalf("first session returned %v, want an interruption", err)
	}
	if first.EarlierWallSeconds != 0 {
		t.Errorf("a run's first session has earlier_wall_seconds %v, want 0", first.EarlierWallSeconds)
	}

	second := &results.Run{}
	if _, err := newTextTrainer(t, modelFn, cfg).Run(context.Background(), Options{CheckpointDir: dir, Resume: true, Results: second}); err != nil {
		t.Fatal(err)
	}
	if least := 4 * pause.Seconds(); second.EarlierWallSeconds < least || second.EarlierWallSeconds > first.WallSeconds {
		t.Errorf("earlier_wall_seconds %v, want between the first session's %v steps of pause and its wall time %v",
			second.EarlierWallSeconds, least, first.WallSeconds)
	}
	session := second.FinishedAt.Sub(second.StartedAt).Seconds()
	if got, want := second.WallSeconds, second.EarlierWallSeconds+session; math.Abs(got-want) > 1e-9 {
		t.Errorf("wall_seconds %v, want earlier %v + this session's %v", got, second.EarlierWallSeconds, session)
	}
}
