package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// LMConfig sizes the language-model training benchmark (`memlab bench --parts lm`): every model kind of a
// lab preset trains a few steps on each memory path it has, and each model's tokens per second is compared
// with the dense base's, measured in the same run.
type LMConfig struct {
	Preset string `json:"preset"`
	// Warmup steps are untimed (the first compiles the graphs); Steps are timed.
	Warmup int `json:"warmup"`
	Steps  int `json:"steps"`
	// Rounds repeats every model's measurement, round after round, and keeps each model's fastest round:
	// on a shared machine a burst of other work then slows one round, not one model.
	Rounds int `json:"rounds"`
	// MemoryNKeys are the vanilla memory sizes timed (n_keys² values each); 0 means the preset's.
	MemoryNKeys []int `json:"memory_n_keys"`
	Seed        int64 `json:"seed"`

	// Torch, when set, also trains the same dense, memory and Memory+ models in PyTorch
	// (scripts/torch_lm_bench.py) for a side-by-side ratio.
	Torch *TorchOptions `json:"-"`

	Progress io.Writer `json:"-"`
}

// DefaultLMConfig times the small preset, the vanilla memory at the preset's 64² and at 256².
func DefaultLMConfig() LMConfig {
	return LMConfig{Preset: "small", Warmup: 2, Steps: 8, Rounds: 2, MemoryNKeys: []int{0, 256}, Seed: 1}
}

// QuickLMConfig checks the plumbing on the tiny preset in seconds (CI, new backends), not for numbers.
func QuickLMConfig() LMConfig {
	return LMConfig{Preset: "tiny", Warmup: 1, Steps: 2, Rounds: 1, MemoryNKeys: []int{0}, Seed: 1}
}

// Validate checks the sizes.
func (c LMConfig) Validate() error {
	var errs []string
	if _, err := lab.PresetByName(c.Preset); err != nil {
		errs = append(errs, err.Error())
	}
	if c.Warmup < 1 {
		errs = append(errs, fmt.Sprintf("bench: lm warmup=%d: must be >= 1 (the first step compiles)", c.Warmup))
	}
	if c.Steps < 1 || c.Rounds < 1 {
		errs = append(errs, fmt.Sprintf("bench: lm steps=%d, rounds=%d: must be >= 1", c.Steps, c.Rounds))
	}
	for _, n := range c.MemoryNKeys {
		if n < 0 {
			errs = append(errs, fmt.Sprintf("bench: lm memory n_keys=%d: must be >= 0 (0: the preset's)", n))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// LMPoint is one model on one path.
type LMPoint struct {
	Kind string `json:"kind"`
	Path string `json:"path"`
	// NKeys is the memory size (0 for models without product-key memory).
	NKeys           int     `json:"n_keys"`
	TokensPerSecond float64 `json:"tokens_per_second"`
	// RatioToDense is TokensPerSecond over the dense base's, measured in the same run.
	RatioToDense float64 `json:"ratio_to_dense"`
	// Step is the time of one training step: the fastest round's mean, and the median round's.
	Step Timing `json:"step"`
	// CPUSecondsPerStep is the process's CPU time (user and system, all threads) per step in the fastest
	// round, and CPURatioToDense the dense base's over it: less sensitive than wall time to other work on a
	// shared machine, but blind to how well a step keeps the cores busy.
	CPUSecondsPerStep float64 `json:"cpu_seconds_per_step"`
	CPURatioToDense   float64 `json:"cpu_ratio_to_dense"`
	Params            int64   `json:"params"`
	FLOPsPerToken     int64   `json:"flops_per_token"`
}

// LMReport is what `memlab bench --parts lm` writes to results/bench/lm-train-<name>.json.
type LMReport struct {
	Name string `json:"name"`
	// Provenance's dataset is the preset's synthetic biographies ("bios"), its seed Config.Seed.
	results.Provenance
	GoDebug          string    `json:"godebug"`
	LoadAverageStart float64   `json:"load_average_start,omitempty"`
	LoadAverageEnd   float64   `json:"load_average_end,omitempty"`
	StartedAt        time.Time `json:"started_at"`
	FinishedAt       time.Time `json:"finished_at"`
	WallSeconds      float64   `json:"wall_seconds"`
	Config           LMConfig  `json:"config"`
	// TokensPerStep is batch × sequence length of the preset.
	TokensPerStep int       `json:"tokens_per_step"`
	Models        []LMPoint `json:"models"`
	// Torch is the PyTorch run of the same models (with LMConfig.Torch); TorchSkipped says why there is
	// none when it was asked for.
	Torch        *TorchLMResult `json:"torch,omitempty"`
	TorchSkipped string         `json:"torch_skipped,omitempty"`
}

// lmCase is one model to time.
type lmCase struct {
	kind  lm.Kind
	path  string
	nKeys int // 0: the preset's (or none)
}

// lmCases lists the models of c: dense and MoE (graph path only), then the memory sizes, Memory+ and PEER
// on both paths.
func lmCases(c LMConfig) []lmCase {
	cases := []lmCase{{kind: lm.KindDense, path: train.PathGraph}, {kind: lm.KindMoE, path: train.PathGraph}}
	for _, path := range []string{train.PathGraph, train.PathHost} {
		for _, n := range c.MemoryNKeys {
			cases = append(cases, lmCase{kind: lm.KindMemory, path: path, nKeys: n})
		}
		cases = append(cases, lmCase{kind: lm.KindMemoryPlus, path: path}, lmCase{kind: lm.KindPEER, path: path})
	}
	return cases
}

// MeasureLMTrain times a training step of every model of lmCases(c) on backend b.
func MeasureLMTrain(ctx context.Context, b compute.Backend, name string, c LMConfig, repoDir, godebug string) (*LMReport, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	r := &LMReport{Name: name, Provenance: results.Provenance{Seed: c.Seed, Dataset: "bios", Backend: backend.Describe(b),
		Machine: results.CurrentMachine(), Git: results.CurrentGit(repoDir), Build: results.BuildGit()},
		GoDebug: godebug, StartedAt: time.Now().UTC(), Config: c, LoadAverageStart: loadAverage()}
	cases := lmCases(c)
	rounds := make([][]float64, len(cases)) // seconds per step, per round
	cpu := make([]float64, len(cases))      // CPU seconds per step of the fastest round
	for round := range c.Rounds {
		for i, lc := range cases {
			plan, err := lab.Build(lab.Spec{Preset: c.Preset, Model: lc.kind, NKeys: lc.nKeys, MemoryPath: lc.path,
				Steps: c.Warmup + c.Steps, Seed: c.Seed})
			if err != nil {
				return nil, err
			}
			perStep, cpuPerStep, err := timeTraining(ctx, b, plan, c.Warmup)
			if err != nil {
				return nil, fmt.Errorf("bench: lm %s (%s path): %w", lc.kind, lc.path, err)
			}
			if len(rounds[i]) == 0 || perStep < slices.Min(rounds[i]) {
				cpu[i] = cpuPerStep
			}
			rounds[i] = append(rounds[i], perStep)
			if round == 0 {
				acc := lm.Count(plan.Model)
				r.TokensPerStep = plan.Train.BatchSize * plan.Train.SeqLen
				r.Models = append(r.Models, LMPoint{Kind: string(lc.kind), Path: lc.path, Params: acc.TotalParams,
					FLOPsPerToken: acc.FLOPsPerToken})
				if lc.kind.IsMemory() {
					r.Models[i].NKeys = plan.Model.Memory.NKeys
				}
			}
			c.progressf("  round %d  %-8s %-5s n_keys %-4d %8.0f ms/step  %7.0f tokens/s", round+1, lc.kind, lc.path,
				r.Models[i].NKeys, 1e3*perStep, float64(r.TokensPerStep)/perStep)
		}
	}
	for i := range r.Models {
		r.Models[i].Step = fastestAndMedian(rounds[i])
		r.Models[i].TokensPerSecond = ratio(float64(r.TokensPerStep), r.Models[i].Step.Seconds)
	}
	for i := range r.Models {
		r.Models[i].RatioToDense = ratio(r.Models[i].TokensPerSecond, r.Models[0].TokensPerSecond)
		r.Models[i].CPUSecondsPerStep = cpu[i]
		r.Models[i].CPURatioToDense = ratio(cpu[0], cpu[i])
	}
	if c.Torch != nil {
		if err := measureTorchLM(ctx, c, r); err != nil {
			return nil, err
		}
	}
	r.FinishedAt = time.Now().UTC()
	r.WallSeconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
	r.LoadAverageEnd = loadAverage()
	return r, nil
}

// measureTorchLM trains the preset's dense, memory (each size, sparse and dense value gradients) and
// Memory+ models in PyTorch; a missing or failing PyTorch is recorded as a skip, a reference-BLAS torch is
// an error.
func measureTorchLM(ctx context.Context, c LMConfig, r *LMReport) error {
	if err := TorchAvailable(ctx, c.Torch.Python); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		r.TorchSkipped = err.Error()
		return nil
	}
	plan, err := lab.Build(lab.Spec{Preset: c.Preset, Model: lm.KindMemory, Seed: c.Seed})
	if err != nil {
		return err
	}
	tc := TorchLMConfigFrom(plan.Model, plan.Train)
	tc.Models = []TorchLMModel{{Kind: "dense"}}
	for _, n := range c.MemoryNKeys {
		for _, values := range []string{"sparse", "dense"} {
			tc.Models = append(tc.Models, TorchLMModel{Kind: "memory", NKeys: n, Values: values})
		}
	}
	tc.Models = append(tc.Models, TorchLMModel{Kind: "memory+", Values: "sparse"}, TorchLMModel{Kind: "memory+", Values: "dense"})
	tc.Warmup, tc.Steps, tc.Threads = c.Warmup+1, 4*c.Steps, 2
	c.progressf("  PyTorch (%s): %d models, %d timed steps each", c.Torch.Script, len(tc.Models), tc.Steps)
	res, err := RunTorchLM(ctx, *c.Torch, tc)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, ErrReferenceBLAS):
		return err
	case err != nil:
		r.TorchSkipped = "the PyTorch run failed: " + err.Error()
	default:
		r.Torch = res
	}
	return nil
}

// timeTraining trains plan's model for its steps and returns the mean wall and CPU seconds per step after
// the first warmup steps, from the trainer's own step callbacks (no evaluation is timed).
func timeTraining(ctx context.Context, b compute.Backend, plan *lab.Plan, warmup int) (wall, cpu float64, err error) {
	plan.Train.EvalEvery, plan.Train.CheckpointEvery = 0, 0
	tr, err := lab.NewTrainer(b, plan)
	if err != nil {
		return 0, 0, err
	}
	var start, end time.Time
	var cpuStart, cpuEnd float64
	_, err = tr.Run(ctx, train.Options{NoBuiltinEval: true, OnStep: func(s train.StepInfo) {
		switch s.Step {
		case warmup:
			start, cpuStart = time.Now(), processCPUSeconds()
		case plan.Train.Steps:
			end, cpuEnd = time.Now(), processCPUSeconds()
		}
	}})
	if err != nil {
		return 0, 0, err
	}
	steps := float64(plan.Train.Steps - warmup)
	return end.Sub(start).Seconds() / steps, (cpuEnd - cpuStart) / steps, nil
}

// fastestAndMedian summarises repeated measurements.
func fastestAndMedian(xs []float64) Timing {
	t := Timing{Seconds: math.Inf(1), Repeats: len(xs)}
	for _, x := range xs {
		t.Seconds = math.Min(t.Seconds, x)
	}
	sorted := append([]float64(nil), xs...)
	sort.Float64s(sorted)
	t.MedianSeconds = sorted[len(sorted)/2]
	return t
}

func (c LMConfig) progressf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}

// Print writes the report as a table.
func (r *LMReport) Print(w io.Writer) {
	fmt.Fprintf(w, "\nLanguage-model training, preset %s (%d tokens per step), backend %s, load average %.1f → %.1f\n",
		r.Config.Preset, r.TokensPerStep, r.Backend.Spec, r.LoadAverageStart, r.LoadAverageEnd)
	fmt.Fprintf(w, "  %-8s %-6s %7s %10s %12s %10s %8s %12s %10s\n", "model", "path", "n_keys", "params", "FLOPs/token",
		"tokens/s", "÷dense", "CPU s/step", "CPU÷dense")
	for _, m := range r.Models {
		fmt.Fprintf(w, "  %-8s %-6s %7d %10d %12d %10.0f %8.2f %12.3f %10.2f\n", m.Kind, m.Path, m.NKeys, m.Params, m.FLOPsPerToken,
			m.TokensPerSecond, m.RatioToDense, m.CPUSecondsPerStep, m.CPURatioToDense)
	}
	if r.TorchSkipped != "" {
		fmt.Fprintf(w, "PyTorch: skipped (%s)\n", r.TorchSkipped)
	}
	if t := r.Torch; t != nil {
		fmt.Fprintf(w, "PyTorch %s, %d threads, %s (load average %.1f → %.1f)\n", t.TorchVersion, t.Threads, t.Device,
			t.LoadAverageStart, t.LoadAverageEnd)
		fmt.Fprintf(w, "  %-8s %-7s %7s %10s %10s %12s\n", "model", "values", "n_keys", "params", "tokens/s", "÷dense")
		for _, m := range t.Models {
			fmt.Fprintf(w, "  %-8s %-7s %7d %10d %10.0f %12.2f\n", m.Kind, m.Values, m.NKeys, m.Params, m.TokensPerSecond, m.RatioToDense)
		}
	}
}
