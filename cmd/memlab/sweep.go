package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

func init() {
	register("sweep", "run one of the paper's experiments: "+strings.Join(sweepNames(), ", "), runSweep)
}

// sweepNames are the sweeps of lab.SweepNames and the continual-learning experiment.
func sweepNames() []string { return append(append([]string{}, lab.SweepNames...), "continual") }

func runSweep(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "Usage: memlab sweep <%s> [flags]\n", strings.Join(sweepNames(), "|"))
			return nil
		}
		return usagef("name the sweep: memlab sweep <%s> [flags]", strings.Join(sweepNames(), "|"))
	}
	name := args[0]
	if name == "continual" {
		return runContinualSweep(ctx, args[1:], stdout)
	}
	fs := newFlagSet("sweep "+name, "Run every configuration of the sweep that has no results file yet, print the table, and write\n"+
		"the plots from the results files. Each run checkpoints as it trains: an interrupted sweep, run again,\n"+
		"continues where it stopped, inside a run too. Sweeps started at the same time on one --results\n"+
		"directory share its runs instead of training them twice.", stdout)
	preset := fs.String("preset", "tiny", "scale: "+strings.Join(lab.PresetNames(), ", "))
	seedsFlag := fs.String("seeds", "1,2", "comma-separated seeds (≥2 shows the spread)")
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/plugin.so")
	resultsDir := fs.String("results", "results", "results root directory")
	plotsDir := fs.String("plots", "plots", "plots directory")
	overwrite := fs.Bool("overwrite", false, "rerun configurations that already have results")
	steps := fs.Int("steps", 0, "override every run's steps (quick looks; results are then not comparable to the preset's)")
	quiet := fs.Bool("quiet", false, "no per-step progress lines")
	facts := fs.Int("facts", 0, "memorize only: random facts to store (0: the preset's)")
	exposures := fs.Int("exposures", 0, "memorize only: times each fact is seen in training, >= 100 (0: the preset's)")
	valueLR := fs.Float64("value-lr-factor", 0, "memory models: value learning rate = this × the base rate (0: the preset's; the paper's and the memorize sweep's is 10); write to another --results")
	checkpoints := fs.String("checkpoint-dir", "", "root of the runs' checkpoints, deleted as each run finishes (default: <results>/.checkpoints)")
	only := fs.String("only", "", "train only the runs whose name matches this regular expression, e.g. 'knn|1 head' (the table and plots still show every finished run)")
	memPath := addMemoryPathFlag(fs)
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	path, err := memoryPath(*memPath, *backendFlag)
	if err != nil {
		return err
	}
	seeds, err := parseSeeds(*seedsFlag)
	if err != nil {
		return err
	}
	sw, err := lab.SweepByName(name, *preset, seeds)
	if err != nil {
		return usagef("%v", err)
	}
	if *facts != 0 || *exposures != 0 {
		if sw, err = withData(sw, *facts, *exposures); err != nil {
			return err
		}
	}
	switch {
	case *valueLR < 0:
		return usagef("--value-lr-factor=%g: must be > 0 (or 0 for the preset's)", *valueLR)
	case *valueLR > 0:
		sw = sw.WithValueLR(*valueLR)
	}
	toRun := sw
	if *only != "" {
		if toRun, err = sw.Only(*only); err != nil {
			return usagef("%v", err)
		}
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return usagef("%v", err)
	}
	info := backend.Describe(b)
	fmt.Fprintf(stdout, "%s — %s; %d runs at preset %s on %s (%s)\n", sw.Title, sw.Claim, len(toRun.Runs), *preset,
		info.Description, info.Spec)
	opts := lab.SweepOptions{ResultsDir: *resultsDir, Log: stdout, Overwrite: *overwrite, Steps: *steps, MemoryPath: path,
		CheckpointDir: *checkpoints}
	if !*quiet {
		opts.Progress = stdout
	}
	runs, err := lab.RunSweep(ctx, b, toRun, opts)
	var tooBig *lab.MemoryError
	switch {
	case errors.Is(err, train.ErrInterrupted):
		return interrupted{err}
	case errors.As(err, &tooBig):
		return usagef("%v", err)
	case err != nil:
		return err
	}
	if *only != "" { // the table and charts show the whole sweep
		if runs, err = lab.LoadSweep(*resultsDir, sw); err != nil {
			return err
		}
	}
	fmt.Fprintln(stdout)
	err = tableAndPlots(stdout, sw, runs, *plotsDir)
	if errors.Is(err, lab.ErrTooFewRuns) { // e.g. --only trained runs that the charts cannot show alone
		fmt.Fprintf(stdout, "plots: not drawn yet (%v)\n", err)
		return nil
	}
	return err
}

func parseSeeds(s string) ([]int64, error) {
	var seeds []int64
	for _, part := range strings.Split(s, ",") {
		v, err := strconv.ParseInt(strings.TrimSpace(part), 10, 64)
		if err != nil || v < 1 {
			return nil, usagef("--seeds=%q: must be comma-separated positive integers, e.g. 1,2", s)
		}
		seeds = append(seeds, v)
	}
	return seeds, nil
}

// tableAndPlots prints a sweep's table and writes its charts from runs.
func tableAndPlots(stdout io.Writer, sw lab.Sweep, runs []*results.Run, plotsDir string) error {
	lab.WriteSweepTable(stdout, sw, runs)
	files, err := lab.PlotSweep(sw, runs, plotsDir)
	if err != nil {
		return err
	}
	for _, f := range files {
		fmt.Fprintf(stdout, "plot: %s\n", f)
	}
	return nil
}

// withData applies --facts and --exposures, which only the memorize sweep
// has: its claim is about the capacity regime, so fewer than 100 exposures
// are refused.
func withData(sw lab.Sweep, facts, exposures int) (lab.Sweep, error) {
	switch {
	case sw.Name != "memorize":
		return sw, usagef("--facts and --exposures size the memorize sweep only, not %s", sw.Name)
	case facts < 0:
		return sw, usagef("--facts=%d: must be >= 1 (or 0 for the preset's)", facts)
	case exposures != 0 && exposures < 100:
		return sw, usagef("--exposures=%d: must be >= 100, the capacity regime the sweep measures (or 0 for the preset's)", exposures)
	}
	return sw.WithData(facts, exposures), nil
}
