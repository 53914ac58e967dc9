package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/memlayers/memlayers/experiments/lab"
)

func init() {
	register("plot", "redraw a sweep's table and charts from its results files", runPlot)
}

func runPlot(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintf(stdout, "Usage: memlab plot <%s> [--preset tiny] [--seeds 1,2] [--results results] [--plots plots]\n",
				strings.Join(sweepNames(), "|"))
			return nil
		}
		return usagef("name the sweep: memlab plot <%s>", strings.Join(sweepNames(), "|"))
	}
	if args[0] == "continual" {
		fs := newFlagSet("plot continual", "Read the continual experiment's results files, print its table and write its charts.", stdout)
		preset := fs.String("preset", "tiny", "preset of the results to plot")
		resultsDir := fs.String("results", "results", "results root directory")
		plotsDir := fs.String("plots", "plots", "plots directory")
		if err := parseFlags(fs, args[1:]); err != nil {
			return err
		}
		return continualTableAndPlots(stdout, *preset, *resultsDir, *plotsDir)
	}
	fs := newFlagSet("plot "+args[0], "Read the sweep's results files, print its table and write its charts (PNG and SVG).", stdout)
	preset := fs.String("preset", "tiny", "preset of the results to plot")
	seedsFlag := fs.String("seeds", "1,2", "seeds to include")
	resultsDir := fs.String("results", "results", "results root directory")
	plotsDir := fs.String("plots", "plots", "plots directory")
	if err := parseFlags(fs, args[1:]); err != nil {
		return err
	}
	seeds, err := parseSeeds(*seedsFlag)
	if err != nil {
		return err
	}
	sw, err := lab.SweepByName(args[0], *preset, seeds)
	if err != nil {
		return usagef("%v", err)
	}
	runs, err := lab.LoadSweep(*resultsDir, sw)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		return usagef("no results for sweep %s at preset %s under %s; run: memlab sweep %s --preset %s",
			sw.Name, *preset, *resultsDir, sw.Name, *preset)
	}
	return tableAndPlots(stdout, sw, runs, *plotsDir)
}
