package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/results"
)

func init() {
	register("report", "write results/REPORT.md: the paper's claims and every sweep's table, from the results files", runReport)
}

func runReport(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("report", "Check each claim of the paper against the results files and write the report: for every\n"+
		"preset with results, the claims table and one table per sweep (Markdown).", stdout)
	resultsDir := fs.String("results", "results", "results root directory")
	out := fs.String("out", "", "report file, replaced if it exists (default RESULTS/REPORT.md; - prints it)")
	presetsFlag := fs.String("preset", "", "comma-separated presets to include (default: every preset with results)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var presets []string
	if *presetsFlag != "" {
		for _, p := range strings.Split(*presetsFlag, ",") {
			if _, err := lab.PresetByName(strings.TrimSpace(p)); err != nil {
				return usagef("--preset: %v", err)
			}
			presets = append(presets, strings.TrimSpace(p))
		}
	}
	var report bytes.Buffer
	if err := lab.WriteReport(&report, *resultsDir, presets); errors.Is(err, lab.ErrNoResults) {
		return usagef("%v", err)
	} else if err != nil {
		return err
	}
	if *out == "-" {
		_, err := stdout.Write(report.Bytes())
		return err
	}
	if *out == "" {
		*out = filepath.Join(*resultsDir, "REPORT.md")
	}
	if err := results.WriteFile(*out, report.Bytes(), true); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "report written to %s\n", *out)
	return nil
}
