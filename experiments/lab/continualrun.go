package lab

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// ContinualRun is one finetuning of the continual experiment.
type ContinualRun struct {
	Base lm.Kind
	Mode string
	LR   float64
	Seed int64
}

// Name is the run's name in results and tables, FinetuneSpec.Label's: "memory/sparse lr=10".
func (r ContinualRun) Name() string { return fmt.Sprintf("%s/%s lr=%g", r.Base, r.Mode, r.LR) }

// ContinualBases are the pretrained models of the experiment, in the order tables show them.
var ContinualBases = []lm.Kind{lm.KindMemory, lm.KindDense}

// ContinualRuns lists the experiment's finetunings at preset: every base, mode and learning rate of its
// scale, once per seed.
func ContinualRuns(preset string, seeds []int64) ([]ContinualRun, error) {
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return nil, err
	}
	var runs []ContinualRun
	for _, seed := range seeds {
		for _, base := range ContinualBases {
			for _, mode := range sc.Modes[base] {
				for _, lr := range sc.LRs[mode] {
					runs = append(runs, ContinualRun{Base: base, Mode: mode, LR: lr, Seed: seed})
				}
			}
		}
	}
	return runs, nil
}

// continualFileName makes a run name a file name: "memory/sparse lr=10" → "memory-sparse-lr10".
var continualFileName = strings.NewReplacer("/", "-", " ", "-", "=", "", "+", "plus")

// ContinualFile is a finetuning's results file, relative to the results root.
func ContinualFile(preset string, r ContinualRun) string {
	return filepath.Join("continual", preset, fmt.Sprintf("%s-seed%d.json", continualFileName.Replace(r.Name()), r.Seed))
}

// PretrainFile is a pretrained model's results file, relative to the results root.
func PretrainFile(preset string, base lm.Kind, seed int64) string {
	return filepath.Join("continual", preset, fmt.Sprintf("pretrain-%s-seed%d.json", continualFileName.Replace(string(base)), seed))
}

// ContinualCheckpointDir is where the experiment keeps a pretrained model, under the checkpoints root.
func ContinualCheckpointDir(root, preset string, base lm.Kind, seed int64) string {
	return filepath.Join(root, "continual", preset, fmt.Sprintf("%s-seed%d", continualFileName.Replace(string(base)), seed))
}

// ContinualOptions control RunContinual.
type ContinualOptions struct {
	ResultsDir     string    // results root (default "results")
	CheckpointsDir string    // where the pretrained models are kept (default "checkpoints")
	Progress       io.Writer // progress of each run (nil: silent)
	Log            io.Writer // one line per run started, finished or kept (nil: silent)
	Overwrite      bool      // rerun finetunings whose results file exists
	// Only keeps the finetunings whose name matches this regular expression ("" all).
	Only string
	// PretrainSteps and FinetuneSteps override the scale's lengths (tests, quick looks); OldQA the
	// questions of A decoded per evaluation.
	PretrainSteps, FinetuneSteps, OldQA int
}

// RunContinual runs the continual experiment at preset: it pretrains (or finds) each base model per seed,
// then runs every finetuning without a results file, writing each as soon as it finishes, so that an
// interrupted experiment continues where it stopped. It returns the finetunings' results.
func RunContinual(ctx context.Context, b compute.Backend, preset string, seeds []int64, opts ContinualOptions) ([]*results.Run, error) {
	if opts.ResultsDir == "" {
		opts.ResultsDir = "results"
	}
	if opts.CheckpointsDir == "" {
		opts.CheckpointsDir = "checkpoints"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return nil, err
	}
	runs, err := ContinualRuns(preset, seeds)
	if err != nil {
		return nil, err
	}
	if opts.Only != "" {
		re, err := regexp.Compile(opts.Only)
		if err != nil {
			return nil, fmt.Errorf("lab: only=%q: not a regular expression: %v", opts.Only, err)
		}
		var kept []ContinualRun
		for _, r := range runs {
			if re.MatchString(r.Name()) {
				kept = append(kept, r)
			}
		}
		if len(kept) == 0 {
			return nil, fmt.Errorf("lab: only=%q matches no run of the continual experiment", opts.Only)
		}
		runs = kept
	}
	// Plan everything that needs no pretrained model before training anything.
	specs := make([]FinetuneSpec, len(runs))
	for i, r := range runs {
		specs[i] = continualSpec(preset, sc, r, opts)
		if s := specs[i]; s.Optimizer == "" {
			specs[i].Optimizer = ContinualOptimizer(s.Mode)
		}
		if err := specs[i].validate(); err != nil {
			return nil, err
		}
	}
	var out []*results.Run
	for i, r := range runs {
		path := filepath.Join(opts.ResultsDir, ContinualFile(preset, r))
		if !opts.Overwrite {
			if run, err := results.Read(path); err == nil {
				if !sameFinetune(finetuneSpecOf(run), specs[i]) {
					return out, fmt.Errorf("continual %s (seed %d): %s was made with other finetuning settings than the experiment's now; "+
						"rerun it with --overwrite, or move the file away", r.Name(), r.Seed, path)
				}
				out = append(out, run)
				fmt.Fprintf(opts.Log, "[%d/%d] %s (seed %d): kept %s\n", i+1, len(runs), r.Name(), r.Seed, path)
				continue
			} else if !errors.Is(err, os.ErrNotExist) {
				return out, err
			}
		}
		if err := pretrainContinual(ctx, b, preset, r.Base, r.Seed, opts); err != nil {
			return out, err
		}
		fp, err := PlanFinetune(specs[i])
		if err != nil {
			return out, fmt.Errorf("continual %s (seed %d): %w", r.Name(), r.Seed, err)
		}
		t0 := time.Now()
		fmt.Fprintf(opts.Log, "[%d/%d] %s (seed %d): finetuning…\n", i+1, len(runs), r.Name(), r.Seed)
		run, err := Finetune(ctx, b, fp, Options{Progress: opts.Progress, Experiment: "continual"})
		if err != nil {
			return out, fmt.Errorf("continual %s (seed %d): %w", r.Name(), r.Seed, err)
		}
		if err := results.Write(path, run, opts.Overwrite); err != nil {
			return out, err
		}
		fmt.Fprintf(opts.Log, "[%d/%d] %s (seed %d): learned %.1f%%, forgot %.1f%% (%s) → %s\n", i+1, len(runs), r.Name(), r.Seed,
			100*run.Final["new_em"], run.Final["forgetting_pct"], time.Since(t0).Round(time.Second), path)
		out = append(out, run)
	}
	return out, nil
}

// continualSpec is the finetuning of run r at preset.
func continualSpec(preset string, sc ContinualScale, r ContinualRun, opts ContinualOptions) FinetuneSpec {
	s := FinetuneSpec{
		Pretrained:    continualBase(sc, preset, r.Base, r.Seed),
		CheckpointDir: ContinualCheckpointDir(opts.CheckpointsDir, preset, r.Base, r.Seed),
		NewFacts:      "generated", Mode: r.Mode, LR: r.LR,
		Steps: sc.FinetuneSteps, EvalEvery: sc.EvalEvery, OldQA: sc.OldQA,
	}
	if opts.FinetuneSteps > 0 {
		s.Steps, s.EvalEvery = opts.FinetuneSteps, min(s.EvalEvery, opts.FinetuneSteps)
	}
	if opts.OldQA > 0 {
		s.OldQA = opts.OldQA
	}
	switch r.Mode {
	case train.FinetuneSparse:
		s.TopSlots, s.BackgroundBatch = sc.TopSlots, sc.BackgroundBatch
	case train.FinetuneLoRA:
		s.LoRARank = sc.LoRARank
	}
	return s
}

// pretrainContinual makes sure the pretrained model of base and seed exists: a finished checkpoint, and a
// results file. A missing or unfinished checkpoint is trained (resuming what there is); an existing
// results file is kept as it is (the run is deterministic).
func pretrainContinual(ctx context.Context, b compute.Backend, preset string, base lm.Kind, seed int64, opts ContinualOptions) error {
	spec, err := ContinualPretrainSpec(preset, base, seed)
	if err != nil {
		return err
	}
	if opts.PretrainSteps > 0 {
		spec.Steps = opts.PretrainSteps
	}
	plan, err := Build(spec)
	if err != nil {
		return err
	}
	dir := ContinualCheckpointDir(opts.CheckpointsDir, preset, base, seed)
	path := filepath.Join(opts.ResultsDir, PretrainFile(preset, base, seed))
	_, statErr := os.Stat(path)
	if info, err := train.ReadCheckpoint(dir); err == nil && info.Step == plan.Train.Steps && statErr == nil {
		return nil
	}
	fmt.Fprintf(opts.Log, "pretraining %s (seed %d), %d steps, into %s…\n", base, seed, plan.Train.Steps, dir)
	t0 := time.Now()
	run, err := Run(ctx, b, plan, Options{Progress: opts.Progress, CheckpointDir: dir, Resume: true, Experiment: "continual"})
	if err != nil {
		return fmt.Errorf("continual: pretraining %s (seed %d): %w", base, seed, err)
	}
	if statErr == nil {
		if kept, err := results.Read(path); err == nil && sameRecordedConfig(kept.Config, run.Config) {
			fmt.Fprintf(opts.Log, "pretrained %s (seed %d) again for its checkpoint; kept %s\n", base, seed, path)
			return nil
		}
		return fmt.Errorf("continual: %s was made with another configuration than the experiment's now; move it away or delete it", path)
	}
	if err := results.Write(path, run, false); err != nil {
		return err
	}
	fmt.Fprintf(opts.Log, "pretrained %s (seed %d): recall of A %.1f%%, text NLL %.3f (%s) → %s\n", base, seed,
		100*run.Final["train_qa_em"], run.Final["val_nll"], time.Since(t0).Round(time.Second), path)
	return nil
}

// sameFinetune reports whether a recorded finetuning was made with spec's settings (its set B is recorded
// by name, so it is left out).
func sameFinetune(recorded, spec FinetuneSpec) bool {
	recorded.NewFacts, spec.NewFacts = "", ""
	a, errA := json.Marshal(recorded)
	b, errB := json.Marshal(spec)
	return errA == nil && errB == nil && sameRecordedConfig(a, b)
}

// sameRecordedConfig reports whether two recorded configs are equal, whatever their key order.
func sameRecordedConfig(a, b json.RawMessage) bool {
	ca, errA := canonicalJSON(a)
	cb, errB := canonicalJSON(b)
	return errA == nil && errB == nil && bytes.Equal([]byte(ca), []byte(cb))
}

// LoadContinual reads the experiment's results at preset under resultsDir: the finetunings (any seed) and
// the pretrained models, each sorted by name and seed.
func LoadContinual(resultsDir, preset string) (finetunes, pretrains []*results.Run, err error) {
	paths, err := filepath.Glob(filepath.Join(resultsDir, "continual", preset, "*.json"))
	if err != nil {
		return nil, nil, err
	}
	sort.Strings(paths)
	for _, p := range paths {
		r, err := results.Read(p)
		if err != nil {
			return nil, nil, err
		}
		if strings.HasPrefix(filepath.Base(p), "pretrain-") {
			pretrains = append(pretrains, r)
		} else {
			finetunes = append(finetunes, r)
		}
	}
	return finetunes, pretrains, nil
}
