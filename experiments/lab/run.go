package lab

import (
	"context"
	"fmt"
	"io"
	"math"

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
	// EvalOnly evaluates the newest checkpoint in CheckpointDir without training (train.Trainer.Evaluate).
	EvalOnly   bool
	Experiment string // recorded in the results file ("train", "scaling", …)
	RepoDir    string // for the git commit in the provenance ("" = current dir)
}

// recordedDataset names the plan's data as results files record it: "bios"
// (the default), a real-facts name, or "tsv:PATH" with PATH relative to the
// repository root, never a path of the machine that made the file.
func (p *Plan) recordedDataset() string {
	if p.Spec.Dataset == "" {
		return "bios"
	}
	return results.RecordedDataset(".", p.Spec.Dataset)
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
	tr, err := NewTrainer(b, plan)
	if err != nil {
		return nil, err
	}
	experiment := opts.Experiment
	if experiment == "" {
		experiment = "train"
	}
	run = &results.Run{Experiment: experiment, Name: plan.Spec.Label()}
	run.Start(opts.RepoDir)
	run.Dataset = plan.recordedDataset()
	acc := lm.Count(cfg)
	record := plan.configRecord()
	record["accounting"] = acc
	if err := run.SetConfig(record); err != nil {
		return nil, err
	}
	if opts.Progress != nil {
		where := ""
		if plan.Train.MemoryPath != "" {
			where = fmt.Sprintf(", memory layers on the %s path", plan.Train.MemoryPath)
		}
		fmt.Fprintf(opts.Progress, "%s: %s model%s, %s params (%s memory values), %s params read and %s FLOPs per token; %s\n",
			plan.Spec.Label(), cfg.Model, where, human(acc.TotalParams), human(acc.MemoryValueParams),
			human(acc.ActiveParamsPerToken), human(acc.FLOPsPerToken), plan.Dataset.Stats())
	}
	topts := train.Options{
		Progress: opts.Progress, CheckpointDir: opts.CheckpointDir, Resume: opts.Resume,
		ModelConfig: cfg, Results: run, EvalQALimit: plan.Preset.EvalQALimit, ValWindows: plan.ValWindows,
	}
	if plan.Spec.Exposures > 0 {
		topts.NoBuiltinEval, topts.EvalFn = true, capacityEval(plan)
	}
	if opts.EvalOnly {
		_, err = tr.Evaluate(ctx, topts)
	} else {
		_, err = tr.Run(ctx, topts)
	}
	if err != nil {
		return run, err
	}
	run.Final["total_params"] = float64(acc.TotalParams)
	run.Final["active_params_per_token"] = float64(acc.ActiveParamsPerToken)
	run.Final["flops_per_token"] = float64(acc.FLOPsPerToken)
	run.Final["memory_value_params"] = float64(acc.MemoryValueParams)
	if plan.Spec.Exposures > 0 {
		capacityMetrics(plan, acc, run.Final)
		if drop, ok := lossDropLastTenth(run); ok {
			run.Final["loss_drop_last_tenth"] = drop
		}
	} else if bits, ok := storedBits(plan, run.Final); ok {
		run.Final["stored_bits"] = bits
		run.Final["bits_per_param"] = bits / float64(acc.TotalParams)
	}
	run.Finish()
	return run, nil
}

// NewTrainer prepares the plan's model for training on its memory path (nothing is compiled yet).
func NewTrainer(b compute.Backend, plan *Plan) (*train.Trainer, error) {
	cfg := plan.Model
	modelFn := func(scope *model.Scope, tokens *Node) (*Node, *Node) { return lm.Forward(scope, cfg, tokens) }
	var split *lm.SplitModel
	if plan.Train.MemoryPath == train.PathHost {
		var err error
		if split, err = cfg.Split(); err != nil {
			return nil, err
		}
	}
	return train.NewSplit(b, modelFn, split, plan.Train, plan.Tokenizer, plan.Dataset)
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

// storedBits estimates the bits of biography facts a model holds (after
// Allen-Zhu & Li): each fact carries b = log2(#possible answers) bits on
// average (the dataset's bits per person over its facts per person); a model
// whose answer NLL is ℓ nats holds max(0, b − ℓ/ln 2) bits of it. Seen-QA and
// held-out people's facts are both in the training text; each group uses its
// own measured mean NLL (an approximation: the NLL is averaged before the
// max, and per relation bits are averaged).
func storedBits(plan *Plan, final map[string]float64) (float64, bool) {
	ds := plan.Dataset
	perPerson, ok := ds.Meta["bits_per_person"].(float64)
	if !ok || len(ds.Facts) == 0 {
		return 0, false
	}
	people := plan.Spec.People
	if people == 0 {
		people = plan.Preset.People
	}
	final["people"] = float64(people)
	perFact := perPerson * float64(people) / float64(len(ds.Facts))
	held := func(n int, nll float64) float64 {
		return float64(n) * math.Max(0, perFact-nll/math.Ln2)
	}
	return held(len(ds.TrainQA), final["train_qa_nll"]) + held(len(ds.EvalQA), final["eval_qa_nll"]), true
}
