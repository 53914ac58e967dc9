package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/memlayers/memlayers/experiments/lab"
)

func init() {
	register("report", "print the 'what reproduces' table (Markdown) from the sweeps' results files", runReport)
}

func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("report", "Check each claim of the paper against the results files of the four sweeps and print a\n"+
		"Markdown table (the README's \"What reproduces at small scale\" section).", stdout)
	preset := fs.String("preset", "tiny", "preset of the results")
	seedsFlag := fs.String("seeds", "1,2", "seeds to include")
	resultsDir := fs.String("results", "results", "results root directory")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	seeds, err := parseSeeds(*seedsFlag)
	if err != nil {
		return err
	}
	claims, err := lab.Claims(*resultsDir, *preset, seeds)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Results: %s/{%s}/%s (seeds %s)\n\n", *resultsDir, strings.Join(lab.SweepNames, ","), *preset, *seedsFlag)
	lab.WriteClaims(stdout, claims)
	fmt.Fprintln(stdout)
	return lab.WriteMemorizeReport(stdout, *resultsDir, *preset, seeds)
}
