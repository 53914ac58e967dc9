package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommittedReportIsUpToDate regenerates results/REPORT.md from the
// committed results files: the committed report must be exactly what
// `memlab report` writes, so the two never drift apart.
func TestCommittedReportIsUpToDate(t *testing.T) {
	const committed = "../../results/REPORT.md"
	want, err := os.ReadFile(committed)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "REPORT.md")
	var stdout, stderr bytes.Buffer
	if status := run(context.Background(), []string{"report", "--results", "../../results", "--out", out}, &stdout, &stderr); status != 0 {
		t.Fatalf("memlab report: status %d: %s", status, stderr.String())
	}
	got, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("results/REPORT.md differs from what `go run ./cmd/memlab report` writes from the results files "+
			"(run it and commit the report); first difference:\n%s", firstDifference(string(want), string(got)))
	}
}

// firstDifference shows the first line where the committed and the generated
// text differ.
func firstDifference(committed, generated string) string {
	c, g := strings.Split(committed, "\n"), strings.Split(generated, "\n")
	for i := 0; i < max(len(c), len(g)); i++ {
		var cl, gl string
		if i < len(c) {
			cl = c[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if cl != gl {
			return fmt.Sprintf("line %d:\n  committed: %s\n  generated: %s", i+1, cl, gl)
		}
	}
	return "(only trailing bytes differ)"
}
