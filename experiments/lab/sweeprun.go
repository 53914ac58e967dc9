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
}

// RunSweep runs every run of the sweep that has no results file yet, writing
// each one as soon as it finishes, so an interrupted sweep continues where it
// stopped when run again. A run identical to one already finished in another
// sweep at the same preset (same model, training, data and evaluation) is
// copied from it instead of retrained (unless Overwrite). It returns the
// results of all runs of the sweep.
func RunSweep(ctx context.Context, b compute.Backend, s Sweep, opts SweepOptions) ([]*results.Run, error) {
	if opts.ResultsDir == "" {
		opts.ResultsDir = "results"
	}
	if opts.Log == nil {
		opts.Log = io.Discard
	}
	// Validate every run before training any of them.
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
	var out []*results.Run
	started := 0
	for i, plan := range plans {
		path := filepath.Join(opts.ResultsDir, s.FileName(s.Runs[i]))
		if !opts.Overwrite {
			if r, err := results.Read(path); err == nil {
				stale, err := staleKeys(r.Config, plan)
				if err != nil {
					return out, fmt.Errorf("sweep %s, run %q: %s: %w", s.Name, plan.Spec.Name, path, err)
				}
				if len(stale) > 0 {
					if was := recordedMemoryPath(r); was != plan.Train.MemoryPath && len(stale) == 1 && stale[0] == identityLabels["train"] {
						return out, fmt.Errorf("sweep %s, run %q: %s was trained on the %s path; pass --memory-path %s to keep it "+
							"(the sweep's other runs then train on that path too), or --overwrite to retrain it on the %s path",
							s.Name, plan.Spec.Name, path, pathName(was), pathName(was), pathName(plan.Train.MemoryPath))
					}
					return out, fmt.Errorf("sweep %s, run %q: %s was made with a different %s from the one the preset now gives; "+
						"retrain it with --overwrite, or move the file away", s.Name, plan.Spec.Name, path, strings.Join(stale, ", "))
				}
				fmt.Fprintf(opts.Log, "[%d/%d] %s: kept %s\n", i+1, len(plans), plan.Spec.Name, path)
				out = append(out, r)
				continue
			} else if !errors.Is(err, os.ErrNotExist) {
				return out, err
			}
		}
		if !opts.Overwrite {
			orig, origPath, err := findIdentical(opts.ResultsDir, plan, path)
			if err != nil {
				return out, err
			}
			if orig != nil {
				cp, err := reuse(orig, origPath, s, plan)
				if err == nil {
					err = results.Write(path, cp, false)
				}
				if err != nil {
					return out, fmt.Errorf("sweep %s, run %q: %w", s.Name, plan.Spec.Name, err)
				}
				fmt.Fprintf(opts.Log, "[%d/%d] %s: copied %s (identical run) → %s\n", i+1, len(plans), plan.Spec.Name, origPath, path)
				out = append(out, cp)
				continue
			}
		}
		if opts.Limit > 0 && started >= opts.Limit {
			continue
		}
		started++
		t0 := time.Now()
		fmt.Fprintf(opts.Log, "[%d/%d] %s (seed %d): training…\n", i+1, len(plans), plan.Spec.Name, plan.Spec.Seed)
		run, err := Run(ctx, b, plan, Options{Progress: opts.Progress, Experiment: s.Name})
		if err != nil {
			return out, fmt.Errorf("sweep %s, run %q: %w", s.Name, plan.Spec.Name, err)
		}
		if err := results.Write(path, run, opts.Overwrite); err != nil {
			return out, err
		}
		fmt.Fprintf(opts.Log, "[%d/%d] %s: held-out EM %.1f%%, seen EM %.1f%%, answer NLL %.2f (%s) → %s\n",
			i+1, len(plans), plan.Spec.Name, 100*run.Final["eval_qa_em"], 100*run.Final["train_qa_em"],
			run.Final["eval_qa_nll"], time.Since(t0).Round(time.Second), path)
		out = append(out, run)
	}
	return out, nil
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
