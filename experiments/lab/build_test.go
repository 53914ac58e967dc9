package lab

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
)

// TestBuildKNN: an explicit knn above n_keys is an error; the preset's knn lowered to a smaller
// explicit n_keys is a warning, and the model gets the lowered value.
func TestBuildKNN(t *testing.T) {
	if _, err := Build(Spec{Model: lm.KindMemory, KNN: 100, NKeys: 8}); err == nil || !strings.Contains(err.Error(), "knn=100: must be <= n_keys=8") {
		t.Errorf("knn 100, n_keys 8: %v", err)
	}
	preset := Presets()["tiny"].Memory.KNN
	plan, err := Build(Spec{Model: lm.KindMemory, NKeys: preset / 2})
	if err != nil {
		t.Fatal(err)
	}
	if plan.Model.Memory.KNN != preset/2 || len(plan.Warnings) != 1 || !strings.Contains(plan.Warnings[0], "knn lowered from the preset's") {
		t.Errorf("knn %d, warnings %q", plan.Model.Memory.KNN, plan.Warnings)
	}
	plan, err = Build(Spec{Model: lm.KindDense, NKeys: preset / 2})
	if err != nil || len(plan.Warnings) != 0 {
		t.Errorf("dense: %v, warnings %q (a dense model has no memory to warn about)", err, plan.Warnings)
	}
}

// TestBuildLenientFacts: a lenient facts file trains on its good lines and the plan warns about the rest;
// without lenient the first bad line is the error.
func TestBuildLenientFacts(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f.tsv")
	if err := os.WriteFile(path, []byte("France\tcapital\tParis\nJapan\tcapital\t\nItaly\tcapital\tRome\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Build(Spec{Dataset: "tsv:" + path}); err == nil || !strings.Contains(err.Error(), path+":2: field 3 (answer) is empty") {
		t.Errorf("strict: %v", err)
	}
	plan, err := Build(Spec{Dataset: "tsv:" + path, LenientTSV: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(plan.Dataset.Facts) != 2 || len(plan.Warnings) != 1 || plan.Warnings[0] != path+": skipped 1 bad line: 1 with an empty field (line 2)" {
		t.Errorf("facts %d, warnings %q", len(plan.Dataset.Facts), plan.Warnings)
	}
}

// TestExposures: the steps for n exposures give n exposures (up to rounding one step up), and the
// estimate is steps × batch over the windows of one epoch.
func TestExposures(t *testing.T) {
	plan, err := Build(Spec{Dataset: "tsv:../data/testdata/capitals.tsv"})
	if err != nil {
		t.Fatal(err)
	}
	windows := plan.epochWindows()
	if got, want := plan.Exposures(), float64(plan.Train.Steps*plan.Train.BatchSize)/float64(windows); got != want || windows < 1 {
		t.Errorf("exposures %v, want %v (%d windows)", got, want, windows)
	}
	steps := plan.StepsForExposures(30)
	plan2, err := Build(Spec{Dataset: "tsv:../data/testdata/capitals.tsv", Steps: steps})
	if err != nil {
		t.Fatal(err)
	}
	if e := plan2.Exposures(); e < 30 || e >= 30+float64(plan.Train.BatchSize)/float64(windows) {
		t.Errorf("%d steps give %v exposures, want 30 (rounded up by at most one step)", steps, e)
	}
}

// TestBuildMemoryPlusAblationKeepsPlacement: switching off Memory+'s gate or qk-norm changes only that
// switch; the layers the spec places the memory in (the memorize sweep's one layer) stay where they were.
func TestBuildMemoryPlusAblationKeepsPlacement(t *testing.T) {
	for _, layers := range [][]int{nil, {1}} {
		full, err := Build(Spec{Model: lm.KindMemoryPlus, Layers: 4, MemLayers: layers})
		if err != nil {
			t.Fatal(err)
		}
		noGate, err := Build(Spec{Model: lm.KindMemoryPlus, Layers: 4, MemLayers: layers, SwiLU: boolPtr(false)})
		if err != nil {
			t.Fatal(err)
		}
		want, got := full.Model.Placement(), noGate.Model.Placement()
		if !slices.Equal(got, want) {
			t.Errorf("memory_layers %v: without the gate the memory is in layers %v, with it in %v", layers, got, want)
		}
		if noGate.Model.Memory.SwiLU || !noGate.Model.Memory.QKNorm { // full Memory+ implies both (lm.KindMemoryPlus)
			t.Errorf("memory_layers %v: gate %v, qk-norm %v; want only the gate switched off", layers,
				noGate.Model.Memory.SwiLU, noGate.Model.Memory.QKNorm)
		}
	}
}
