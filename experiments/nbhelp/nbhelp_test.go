package nbhelp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/plot"
	"github.com/memlayers/memlayers/experiments/recall"
	"github.com/memlayers/memlayers/memlayer"
)

func TestRerun(t *testing.T) {
	for _, tc := range []struct {
		env       string
		def, want bool
	}{{"", true, true}, {"", false, false}, {"true", false, true}, {"1", false, true}, {"false", true, false}, {"maybe", true, true}} {
		t.Setenv(RerunEnv, tc.env)
		if got := Rerun(tc.def); got != tc.want {
			t.Errorf("RERUN=%q, Rerun(%v) = %v, want %v", tc.env, tc.def, got, tc.want)
		}
	}
}

func TestNeedsRun(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "a.json")
	if err := os.WriteFile(present, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	if NeedsRun(false, present) || !NeedsRun(true, present) || !NeedsRun(false, present, filepath.Join(dir, "missing.json")) {
		t.Fatal("NeedsRun must be true exactly when rerun is set or a file is missing")
	}
}

func TestRepoRootAndOut(t *testing.T) {
	t.Setenv("GONB_DIR", "../../notebooks") // Where GoNB runs the notebooks' cells.
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "memlayer")); err != nil {
		t.Fatalf("RepoRoot() = %s, not the repository: %v", root, err)
	}
	t.Setenv(OutputEnv, "")
	if p, _ := Out("plots", "x"); p != filepath.Join(root, "plots", "x") {
		t.Fatalf("Out without %s = %s", OutputEnv, p)
	}
	tmp := t.TempDir()
	t.Setenv(OutputEnv, tmp)
	if p, _ := Out("plots", "x"); p != filepath.Join(tmp, "plots", "x") {
		t.Fatalf("Out with %s = %s", OutputEnv, p)
	}
	t.Setenv("GONB_DIR", tmp)
	if _, err := RepoRoot(); err == nil {
		t.Fatal("RepoRoot found a repository above a temporary folder")
	}
}

func TestRecallRunAndSavePlot(t *testing.T) {
	t.Setenv("GONB_DIR", ".")
	t.Setenv(OutputEnv, t.TempDir())
	b, err := backend.New("go")
	if err != nil {
		t.Fatal(err)
	}
	c := recall.Config{Pairs: 64, Classes: 4, Dim: 8, Steps: 4, Batch: 32, LR: 1e-2, EvalEvery: 2, Seed: 1,
		Memory: memlayer.Config{Heads: 1, KNN: 2, NKeys: 4, KDim: 8}}
	res, err := recall.Run(t.Context(), b, c, nil)
	if err != nil {
		t.Fatal(err)
	}
	run, err := RecallRun("nb", "memory", b, res)
	if err != nil {
		t.Fatal(err)
	}
	path := Must(Out("results", "nb", "memory.json"))
	if err := WriteJSON(path, run); err != nil {
		t.Fatal(err)
	}
	back, err := ReadJSON[map[string]any](path)
	if err != nil {
		t.Fatal(err)
	}
	evals, _ := back["evals"].([]any)
	if back["experiment"] != "nb" || len(evals) != 2 || run.Final["accuracy"] != res.Final || run.Backend.Spec != "go" {
		t.Fatalf("unexpected results file: %v", back)
	}
	p, err := plot.Line(plot.LineSpec{Title: "t", Series: []plot.Series{{Name: "a", X: []float64{1, 2}, Y: []float64{1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	png, err := SavePlot(p, "nb-test", 3, 2)
	if err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("SavePlot: %v (%d bytes)", err, len(png))
	}
	if _, err := os.Stat(Must(Out("plots", "nb-test.svg"))); err != nil {
		t.Fatal(err)
	}
}
