package lab

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/internal/testbackend"
)

// TestResultsNameTheirDataRelativeToTheRepository: a facts file given by its
// absolute path is recorded relative to the repository root, in the results
// file's provenance and in its config, so that the file means the same on
// every machine; the file is complete enough for results.Write.
func TestResultsNameTheirDataRelativeToTheRepository(t *testing.T) {
	abs, err := filepath.Abs("../data/testdata/capitals.tsv")
	if err != nil {
		t.Fatal(err)
	}
	const want = "tsv:experiments/data/testdata/capitals.tsv"
	dir := t.TempDir()
	sw := Sweep{Name: "facts", Runs: []Spec{{Name: "memory", Model: lm.KindMemory, Preset: "tiny", Seed: 1, Dataset: "tsv:" + abs}}}
	if _, err := RunSweep(context.Background(), testbackend.Get(t), sw, SweepOptions{ResultsDir: dir, Smoke: true}); err != nil {
		t.Fatal(err)
	}
	r, err := results.Read(filepath.Join(dir, sw.FileName(sw.Runs[0])))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		Spec        Spec   `json:"spec"`
		DatasetName string `json:"dataset_name"`
	}
	if err := json.Unmarshal(r.Config, &cfg); err != nil {
		t.Fatal(err)
	}
	if r.Dataset != want || cfg.Spec.Dataset != want || cfg.DatasetName != want {
		t.Errorf("recorded dataset %q, config spec %q, dataset_name %q; want %q everywhere", r.Dataset, cfg.Spec.Dataset, cfg.DatasetName, want)
	}
	if err := r.CheckProvenance(); err != nil || r.Seed != 1 || r.Backend.Spec == "" {
		t.Errorf("provenance %+v: %v", r.Provenance, err)
	}
}
