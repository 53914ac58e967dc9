package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/train"
)

// runContinualSweep is `memlab sweep continual`: the continual-learning experiment.
func runContinualSweep(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("sweep continual", "Pretrain a memory and a dense model on facts set A and general text, then teach each the\n"+
		"new facts set B in every finetuning mode (full, lora; memory and sparse for the memory model) at several\n"+
		"learning rates, measuring learning (recall on B) and forgetting (recall on A, held-out text NLL) as\n"+
		"they go. Runs with a results file are kept (an interrupted experiment continues); pretrained models\n"+
		"are kept under --checkpoints. Prints the table and writes the charts.", stdout)
	preset := fs.String("preset", "tiny", "scale: "+strings.Join(continualPresets(), ", "))
	seedsFlag := fs.String("seeds", "1,2", "comma-separated seeds")
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/plugin.so")
	resultsDir := fs.String("results", "results", "results root directory")
	plotsDir := fs.String("plots", "plots", "plots directory")
	ckpts := fs.String("checkpoints", "checkpoints", "where the pretrained models are kept")
	overwrite := fs.Bool("overwrite", false, "rerun finetunings that already have results")
	only := fs.String("only", "", "run only the finetunings whose name matches this regular expression, e.g. 'sparse|memory/full'")
	quiet := fs.Bool("quiet", false, "no per-step progress lines")
	pretrainSteps := fs.Int("pretrain-steps", 0, "override the pretraining steps (quick looks; not the experiment's numbers)")
	steps := fs.Int("steps", 0, "override the finetuning steps (quick looks)")
	oldQA := fs.Int("old-qa", 0, "override the old facts' questions decoded per evaluation (quick looks)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	seeds, err := parseSeeds(*seedsFlag)
	if err != nil {
		return err
	}
	if _, err := lab.ContinualScaleOf(*preset); err != nil {
		return usagef("--preset: %v", err)
	}
	if *pretrainSteps < 0 || *steps < 0 || *oldQA < 0 {
		return usagef("--pretrain-steps, --steps and --old-qa must be >= 0 (0: the preset's)")
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return usagef("%v", err)
	}
	fmt.Fprintf(stdout, "%s\nthe paper: %s\npreset %s, seeds %v, on %s\n", lab.ContinualTitle, lab.ContinualClaim, *preset, seeds,
		backend.Describe(b).Description)
	opts := lab.ContinualOptions{ResultsDir: *resultsDir, CheckpointsDir: *ckpts, Log: stdout, Overwrite: *overwrite,
		Only: *only, PretrainSteps: *pretrainSteps, FinetuneSteps: *steps, OldQA: *oldQA}
	if !*quiet {
		opts.Progress = stdout
	}
	if _, err := lab.RunContinual(ctx, b, *preset, seeds, opts); err != nil {
		if errors.Is(err, train.ErrInterrupted) || errors.Is(err, context.Canceled) {
			return interrupted{err}
		}
		return err
	}
	return continualTableAndPlots(stdout, *preset, *resultsDir, *plotsDir)
}

// continualTableAndPlots prints the experiment's table and verdict and writes its charts, from its
// results files.
func continualTableAndPlots(stdout io.Writer, preset, resultsDir, plotsDir string) error {
	runs, _, err := lab.LoadContinual(resultsDir, preset)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return usagef("no continual results at preset %s under %s; run: memlab sweep continual --preset %s", preset, resultsDir, preset)
	}
	fmt.Fprintln(stdout)
	lab.WriteContinualTable(stdout, runs)
	if lines, level, ok := lab.ContinualVerdict(runs); ok {
		fmt.Fprintf(stdout, "\nat matched learning (%.1f%% exact match on the new facts), the least forgetting of each mode:\n", 100*level)
		for _, l := range lines {
			fmt.Fprintf(stdout, "  %s\n", l)
		}
	}
	if err := os.MkdirAll(plotsDir, 0o755); err != nil {
		return err
	}
	files, err := lab.PlotContinual(preset, runs, plotsDir)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "plot: %s\n", f)
	}
	return nil
}

// continualPresets lists the presets the experiment has a scale for.
func continualPresets() []string {
	var out []string
	for _, p := range lab.PresetNames() {
		if _, err := lab.ContinualScaleOf(p); err == nil {
			out = append(out, p)
		}
	}
	return out
}
