package lab

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gomlx/compute"

	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// SweepOptions control RunSweep.
type SweepOptions struct {
	ResultsDir string    // results root (default "results")
	Progress   io.Writer // progress of each run (nil: silent)
	Log        io.Writer // one line per run started/finished/skipped (nil: silent)
	Overwrite  bool      // rerun runs whose results file exists (default: keep them; a file whose config differs from the run's is an error)
	Steps      int       // override every run's steps (tests, quick looks)
	EvalQA     int       // override the questions decoded per evaluation (tests)
	// Smoke shrinks every run to check the plumbing only (tests): one step,
	// two questions decoded for two tokens, two windows of held-out text.
	Smoke bool
	Limit int // run at most this many new runs (0: all)
	// MemoryPath sets every run's memory path (train.PathGraph or train.PathHost; the latter only for
	// models that have one). Empty: each spec's own, else lab's default for its model.
	MemoryPath string
	// CheckpointDir is the root of the runs' checkpoint directories (default ResultsDir/.checkpoints):
	// run r of sweep s at preset p checkpoints in CheckpointDir/s/p/r-seedN until its results file is
	// written, so that an interrupted run continues where it stopped when the sweep is run again.
	CheckpointDir string
}

// lockPollInterval is how often a sweep looks again at the runs that other sweeps are training.
var lockPollInterval = 5 * time.Second

// RunSweep runs every run of the sweep that has no results file yet, writing each one as soon as it
// finishes. Each run checkpoints as it trains (SweepOptions.CheckpointDir) and resumes from its
// checkpoint, so an interrupted sweep continues where it stopped, mid-run included, when run again; a
// run's checkpoints are deleted once its results file is written. Several sweeps on one results
// directory share the work: a run being trained by another process (runlock.go) is left to it, and its
// results are picked up when it finishes. A run identical to one already finished in another sweep at
// the same preset (same model, training, data and evaluation) is copied from it instead of retrained
// (unless Overwrite). It returns the results of all runs of the sweep, in its order.
func RunSweep(ctx context.Context, b compute.Backend, s Sweep, opts SweepOptions) ([]*results.Run, error) {
	if opts.ResultsDir == "" {
		opts.ResultsDir = "results"
	}
	if opts.CheckpointDir == "" {
		opts.CheckpointDir = filepath.Join(opts.ResultsDir, ".checkpoints")
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	plans, err := planSweep(s, opts)
	if err != nil {
		return nil, err
	}
	r := &sweepRunner{ctx: ctx, b: b, s: s, opts: opts, plans: plans}
	done := make([]*results.Run, len(plans))
	byOthers := make([]bool, len(plans)) // runs seen in training by another sweep
	for {
		waiting := 0
		for i := range plans {
			if done[i] != nil {
				continue
			}
			run, holder, err := r.runOne(i, byOthers[i])
			if err != nil {
				return compact(done), err
			}
			if holder != "" {
				if !byOthers[i] {
					fmt.Fprintf(opts.Log, "[%d/%d] %s: being trained by another sweep (%s); its results will be picked up\n",
						i+1, len(plans), plans[i].Spec.Name, holder)
				}
				byOthers[i] = true
				waiting++
			}
			done[i] = run
		}
		if waiting == 0 {
			return compact(done), nil
		}
		select {
		case <-ctx.Done():
			return compact(done), fmt.Errorf("sweep %s: interrupted while waiting for %d runs of other sweeps: %w", s.Name, waiting, ctx.Err())
		case <-time.After(lockPollInterval):
		}
	}
}

// planSweep validates every run before training any of them.
func planSweep(s Sweep, opts SweepOptions) ([]*Plan, error) {
	plans := make([]*Plan, len(s.Runs))
	for i, spec := range s.Runs {
		if opts.Steps > 0 {
			spec.Steps = opts.Steps
		}
		if opts.Smoke {
			spec.Steps = 1
		}
		if opts.MemoryPath != "" && (opts.MemoryPath != train.PathHost || HasHostPath(spec.Model)) {
			spec.MemoryPath = opts.MemoryPath
		}
		plan, err := Build(spec)
		if err != nil {
			return nil, fmt.Errorf("sweep %s, run %q: %w", s.Name, spec.Name, err)
		}
		if opts.EvalQA > 0 {
			plan.Preset.EvalQALimit = opts.EvalQA
		}
		if opts.Smoke {
			plan.Preset.EvalQALimit = 2
			plan.Train.MaxAnswerTokens = 2
			plan.ValWindows = plan.ValWindows[:min(2, len(plan.ValWindows))]
		}
		plans[i] = plan
	}
	return plans, nil
}

func compact(runs []*results.Run) []*results.Run {
	var out []*results.Run
	for _, r := range runs {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// sweepRunner holds what every run of one RunSweep call shares.
type sweepRunner struct {
	ctx     context.Context
	b       compute.Backend
	s       Sweep
	opts    SweepOptions
	plans   []*Plan
	started int // runs trained (for Limit)
}

// runOne settles run i: it keeps its results file, copies an identical run, or trains it, under the
// run's lock. holder is set (and run nil) when another process holds the lock; run is nil also for a
// run left out by Limit. A run that another sweep trained (byOthers) is kept even with Overwrite.
func (r *sweepRunner) runOne(i int, byOthers bool) (run *results.Run, holder string, err error) {
	path := filepath.Join(r.opts.ResultsDir, r.s.FileName(r.s.Runs[i]))
	keep := !r.opts.Overwrite || byOthers
	if keep {
		if run, err := r.keep(i, path); run != nil || err != nil {
			return run, "", err
		}
	}
	lock, holder, err := tryLockRun(path)
	if lock == nil || err != nil {
		return nil, holder, err
	}
	defer lock.release()
	if keep { // another sweep may have written it since the first look
		if run, err := r.keep(i, path); run != nil || err != nil {
			return run, "", err
		}
	}
	if !r.opts.Overwrite {
		if run, err := r.copyIdentical(i, path); run != nil || err != nil {
			return run, "", err
		}
	}
	if r.opts.Limit > 0 && r.started >= r.opts.Limit {
		return nil, "", nil
	}
	r.started++
	run, err = r.train(i, path)
	return run, "", err
}

// keep returns run i's existing results file, or nil when there is none; a file made with another
// config than the run's is an error.
func (r *sweepRunner) keep(i int, path string) (*results.Run, error) {
	plan := r.plans[i]
	run, err := results.Read(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	stale, err := staleKeys(run.Config, plan)
	if err != nil {
		return nil, fmt.Errorf("sweep %s, run %q: %s: %w", r.s.Name, plan.Spec.Name, path, err)
	}
	if len(stale) > 0 {
		if was := recordedMemoryPath(run); was != plan.Train.MemoryPath && len(stale) == 1 && stale[0] == identityLabels["train"] {
			return nil, fmt.Errorf("sweep %s, run %q: %s was trained on the %s path; pass --memory-path %s to keep it "+
				"(the sweep's other runs then train on that path too), or --overwrite to retrain it on the %s path",
				r.s.Name, plan.Spec.Name, path, pathName(was), pathName(was), pathName(plan.Train.MemoryPath))
		}
		return nil, fmt.Errorf("sweep %s, run %q: %s was made with a different %s from the one the preset now gives; "+
			"retrain it with --overwrite, or move the file away", r.s.Name, plan.Spec.Name, path, strings.Join(stale, ", "))
	}
	fmt.Fprintf(r.opts.Log, "[%d/%d] %s: kept %s\n", i+1, len(r.plans), plan.Spec.Name, path)
	return run, nil
}

// recordedMemoryPath is the memory path a results file's training config records ("" for the graph
// path, as Build records it).
func recordedMemoryPath(r *results.Run) string {
	var cfg struct {
		Train train.Config `json:"train"`
	}
	if err := json.Unmarshal(r.Config, &cfg); err != nil || cfg.Train.MemoryPath == train.PathGraph {
		return ""
	}
	return cfg.Train.MemoryPath
}

// pathName names a recorded memory path ("" is the graph path).
func pathName(path string) string {
	if path == "" {
		return train.PathGraph
	}
	return path
}

// copyIdentical copies a finished identical run of another sweep to path, or returns nil.
func (r *sweepRunner) copyIdentical(i int, path string) (*results.Run, error) {
	plan := r.plans[i]
	orig, origPath, err := findIdentical(r.opts.ResultsDir, plan, path)
	if err != nil || orig == nil {
		return nil, err
	}
	cp, err := reuse(orig, origPath, r.s, plan)
	if err == nil {
		err = results.Write(path, cp, false)
	}
	if err != nil {
		return nil, fmt.Errorf("sweep %s, run %q: %w", r.s.Name, plan.Spec.Name, err)
	}
	fmt.Fprintf(r.opts.Log, "[%d/%d] %s: copied %s (identical run) → %s\n", i+1, len(r.plans), plan.Spec.Name, origPath, path)
	return cp, nil
}

// train trains run i from its checkpoint (if any), writes its results file and deletes its checkpoints.
func (r *sweepRunner) train(i int, path string) (*results.Run, error) {
	plan, s, opts := r.plans[i], r.s, r.opts
	where := fmt.Sprintf("sweep %s, run %q", s.Name, plan.Spec.Name)
	if err := CheckMemory(plan, r.b); err != nil {
		var me *MemoryError
		if errors.As(err, &me) {
			me.Fix = "use a smaller --preset, or leave this run out with --only"
		}
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	ckpt := filepath.Join(opts.CheckpointDir, strings.TrimSuffix(s.FileName(s.Runs[i]), ".json"))
	_, noCheckpoint := train.LatestCheckpoint(ckpt)
	verb := "training…"
	if noCheckpoint == nil {
		verb = "resuming from " + ckpt + "…"
	}
	t0 := time.Now()
	fmt.Fprintf(opts.Log, "[%d/%d] %s (seed %d): %s\n", i+1, len(r.plans), plan.Spec.Name, plan.Spec.Seed, verb)
	run, err := Run(r.ctx, r.b, plan, Options{Progress: opts.Progress, Experiment: s.Name, CheckpointDir: ckpt, Resume: true})
	var stopped *train.InterruptedError
	switch {
	case errors.As(err, &stopped) && stopped.Dir != "":
		return nil, &sweepInterrupted{fmt.Sprintf("%s: interrupted at step %d, checkpoint saved to %s; run the same sweep again to continue",
			where, stopped.Step, stopped.Dir), err}
	case err != nil && noCheckpoint == nil:
		return nil, fmt.Errorf("%s: %w (it resumed from %s: delete that directory to train the run from step 0)", where, err, ckpt)
	case err != nil:
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := results.Write(path, run, opts.Overwrite); err != nil {
		if errors.Is(err, results.ErrExists) {
			return nil, fmt.Errorf("%s: %s appeared while this run trained (written by another program); it was kept: "+
				"run the sweep again to use it, or with --overwrite to replace it (the trained model is in %s)", where, path, ckpt)
		}
		return nil, err
	}
	removeCheckpoints(ckpt, opts.CheckpointDir)
	fmt.Fprintf(opts.Log, "[%d/%d] %s: %s (%s) → %s\n", i+1, len(r.plans), plan.Spec.Name, runSummary(run),
		time.Since(t0).Round(time.Second), path)
	return run, nil
}

// removeCheckpoints deletes a finished run's checkpoint directory and the directories above it, up to
// root included, that it leaves empty.
func removeCheckpoints(dir, root string) {
	_ = os.RemoveAll(dir)
	root = filepath.Clean(root)
	for d := filepath.Dir(dir); ; d = filepath.Dir(d) {
		if os.Remove(d) != nil || d == root || d == filepath.Dir(d) {
			return // not empty, or the root reached
		}
	}
}

// sweepInterrupted is a sweep stopped by a signal during a run: its message tells how to continue, and it
// matches train.ErrInterrupted.
type sweepInterrupted struct {
	msg string
	err error
}

func (e *sweepInterrupted) Error() string { return e.msg }
func (e *sweepInterrupted) Unwrap() error { return e.err }

// LoadSweep reads the results of a sweep that exist under resultsDir.
func LoadSweep(resultsDir string, s Sweep) ([]*results.Run, error) {
	var out []*results.Run
	for _, spec := range s.Runs {
		r, err := results.Read(filepath.Join(resultsDir, s.FileName(spec)))
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// runSummary is the log line's account of a finished run: recall and stored
// bits for random facts, exact match and answer NLL for questions with
// held-out ones.
func runSummary(run *results.Run) string {
	f := run.Final
	if _, ok := f["eval_qa_nll"]; !ok {
		return fmt.Sprintf("seen recall %.1f%%, %.0f bits stored", 100*f["train_qa_em"], f["stored_bits"])
	}
	return fmt.Sprintf("held-out EM %.1f%%, seen EM %.1f%%, answer NLL %.2f", 100*f["eval_qa_em"], 100*f["train_qa_em"], f["eval_qa_nll"])
}
