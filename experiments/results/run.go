// Package results writes and reads the machine-readable record of each experiment run.
//
// Plots, results/REPORT.md and the README's numbers are regenerated from these files, never from in-memory
// state, so each file carries everything needed to trust and reproduce its numbers: config, provenance
// (seed, dataset, backend, machine, git commit; see [Provenance]), metrics per evaluation step and final
// metrics. [Write] refuses a run whose provenance is incomplete.
package results

import (
	"encoding/json"
	"time"
)

// Run is the JSON document for one run of one experiment configuration.
type Run struct {
	// Experiment groups runs that are compared with each other, e.g. "memory-scaling".
	Experiment string `json:"experiment"`
	// Name tells this run apart within the experiment, e.g. "memory n_keys=512".
	Name string `json:"name"`
	// Config is the full configuration used, as the experiment serialises it.
	Config json.RawMessage `json:"config,omitempty"`
	// Provenance: seed, dataset, backend, machine, git.
	Provenance

	// StartedAt and FinishedAt (RFC 3339, with fractional seconds) bound the last session of a run;
	// WallSeconds covers all of its sessions: a resumed run adds EarlierWallSeconds, the wall time of its
	// earlier sessions up to their last checkpoint (work redone after an interruption counts once).
	StartedAt          time.Time `json:"started_at"`
	FinishedAt         time.Time `json:"finished_at"`
	WallSeconds        float64   `json:"wall_seconds"`
	EarlierWallSeconds float64   `json:"earlier_wall_seconds,omitempty"`

	// Evals are the periodic evaluations, in step order.
	Evals []EvalPoint `json:"evals,omitempty"`
	// Final holds the metrics at the end of the run (e.g. "val_nll", "params", "flops_per_token").
	Final map[string]float64 `json:"final,omitempty"`
	Notes string             `json:"notes,omitempty"`
	// CopiedFrom names the results file this run was copied from when an
	// identical run (same config and seed) had already been trained for
	// another experiment; everything else in the file is the original's.
	CopiedFrom string `json:"copied_from,omitempty"`
}

// EvalPoint is one evaluation during training.
type EvalPoint struct {
	Step    int                `json:"step"`
	Tokens  int64              `json:"tokens"`
	Metrics map[string]float64 `json:"metrics"`
}

// SetConfig stores cfg as the run's Config, so callers don't marshal by hand.
func (r *Run) SetConfig(cfg any) error {
	data, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	r.Config = data
	return nil
}

// Start fills the provenance fields known at the beginning of a run: machine, git state of repoDir
// (use "." for the working directory) and StartedAt.
func (r *Run) Start(repoDir string) {
	r.Machine = CurrentMachine()
	r.Git = CurrentGit(repoDir)
	r.Build = BuildGit()
	r.StartedAt = time.Now().UTC()
}

// Finish stamps FinishedAt and WallSeconds (this session's plus EarlierWallSeconds).
func (r *Run) Finish() {
	r.FinishedAt = time.Now().UTC()
	r.WallSeconds = r.EarlierWallSeconds + r.FinishedAt.Sub(r.StartedAt).Seconds()
}

// AddEval appends an evaluation point.
func (r *Run) AddEval(step int, tokens int64, metrics map[string]float64) {
	r.Evals = append(r.Evals, EvalPoint{Step: step, Tokens: tokens, Metrics: metrics})
}
