package lab

import (
	"context"
	"fmt"
	"io"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// Options are the per-invocation settings of a run.
type Options struct {
	Progress      io.Writer // progress lines (nil: silent)
	CheckpointDir string    // "" disables checkpoints
	Resume        bool
	Experiment    string // recorded in the results file ("train", "scaling", …)
	RepoDir       string // for the git commit in the provenance ("" = current dir)
}

// Run trains and evaluates one spec and returns its filled results record.
// The caller writes it (results.Write). Panics from graph building become
// errors.
func Run(ctx context.Context, b compute.Backend, plan *Plan, opts Options) (run *results.Run, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lab: %s: %v", plan.Spec.Label(), r)
		}
	}()
	cfg := plan.Model
	modelFn := func(scope *model.Scope, tokens *Node) (*Node, *Node) { return lm.Forward(scope, cfg, tokens) }
	tr, err := train.New(b, modelFn, plan.Train, plan.Tokenizer, plan.Dataset)
	if err != nil {
		return nil, err
	}
	experiment := opts.Experiment
	if experiment == "" {
		experiment = "train"
	}
	run = &results.Run{Experiment: experiment, Name: plan.Spec.Label()}
	run.Start(opts.RepoDir)
	acc := lm.Count(cfg)
	if err := run.SetConfig(map[string]any{
		"spec": plan.Spec, "preset": plan.Preset.Name, "model": cfg, "train": plan.Train,
		"tokenizer": plan.Tokenizer.Name(), "dataset": plan.Dataset.Stats(), "accounting": acc,
	}); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		fmt.Fprintf(opts.Progress, "%s: %s model, %s params (%s memory values), %s params read and %s FLOPs per token; %s\n",
			plan.Spec.Label(), cfg.Model, human(acc.TotalParams), human(acc.MemoryValueParams),
			human(acc.ActiveParamsPerToken), human(acc.FLOPsPerToken), plan.Dataset.Stats())
	}
	sum, err := tr.Run(ctx, train.Options{
		Progress: opts.Progress, CheckpointDir: opts.CheckpointDir, Resume: opts.Resume,
		ModelConfig: cfg, Results: run, EvalQALimit: plan.Preset.EvalQALimit, ValWindows: plan.ValWindows,
	})
	if err != nil {
		return run, err
	}
	run.Final["total_params"] = float64(acc.TotalParams)
	run.Final["active_params_per_token"] = float64(acc.ActiveParamsPerToken)
	run.Final["flops_per_token"] = float64(acc.FLOPsPerToken)
	run.Final["memory_value_params"] = float64(acc.MemoryValueParams)
	_ = sum
	run.Finish()
	return run, nil
}

// human formats a count as 1.2k, 3.4M, 5.6G.
func human(n int64) string {
	v := float64(n)
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.2fG", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%d", n)
}
