package lab

import (
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"

	"github.com/memlayers/memlayers/internal/testbackend"
)

// TestIdenticalRunsAreCopied: a run whose model, training, data and
// evaluation equal a finished run of another sweep is copied from it (and
// says so), a different run is trained, and Overwrite retrains.
func TestIdenticalRunsAreCopied(t *testing.T) {
	b := testbackend.Get(t)
	dir := t.TempDir()
	first := Sweep{Name: "first", Runs: []Spec{{Name: "dense", Model: lm.KindDense, Preset: "tiny", Seed: 1}}}
	// Same computation under another name (the preset's people spelled out),
	// and one that differs only in its dataset.
	people := Presets()["tiny"].People
	second := Sweep{Name: "second", Runs: []Spec{
		{Name: "baseline", Model: lm.KindDense, Preset: "tiny", Seed: 1, People: people},
		{Name: "fewer people", Model: lm.KindDense, Preset: "tiny", Seed: 1, People: people / 2},
	}}
	opts := SweepOptions{ResultsDir: dir, Smoke: true}
	orig, err := RunSweep(context.Background(), b, first, opts)
	if err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	opts.Log = &log
	got, err := RunSweep(context.Background(), b, second, opts)
	if err != nil {
		t.Fatal(err)
	}
	origPath := filepath.ToSlash(filepath.Join(dir, first.FileName(first.Runs[0])))
	if got[0].CopiedFrom != origPath || got[0].Name != "baseline" || got[0].Experiment != "second" {
		t.Errorf("baseline: copied_from %q name %q experiment %q, want a copy of %s", got[0].CopiedFrom, got[0].Name, got[0].Experiment, origPath)
	}
	if !reflect.DeepEqual(got[0].Final, orig[0].Final) {
		t.Errorf("copy's metrics differ from the original's")
	}
	if got[1].CopiedFrom != "" || !strings.Contains(log.String(), "fewer people (seed 1): training") {
		t.Errorf("a run on other data must be trained; log:\n%s", log.String())
	}
	// The copy on disk reads back as a copy.
	onDisk, err := results.Read(filepath.Join(dir, second.FileName(second.Runs[0])))
	if err != nil || onDisk.CopiedFrom != origPath {
		t.Fatalf("copy on disk: %v, copied_from %q", err, onDisk.CopiedFrom)
	}
	opts.Overwrite = true
	log.Reset()
	again, err := RunSweep(context.Background(), b, second, opts)
	if err != nil {
		t.Fatal(err)
	}
	if again[0].CopiedFrom != "" || strings.Count(log.String(), "training") != 2 {
		t.Errorf("Overwrite must retrain both runs; log:\n%s", log.String())
	}
}

// TestIdentityNeedsEveryKey: results written before the identity existed
// (no "eval" settings) are never taken for a match.
func TestIdentityNeedsEveryKey(t *testing.T) {
	plan, err := Build(Spec{Preset: "tiny", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	rec := plan.configRecord()
	full, _ := json.Marshal(rec)
	if _, ok := identity(full); !ok {
		t.Fatalf("a fresh config must have an identity: %s", full)
	}
	delete(rec, "eval")
	old, _ := json.Marshal(rec)
	if id, ok := identity(old); ok {
		t.Errorf("config without eval settings got identity %q", id)
	}
	// The seed is part of the identity.
	other, err := Build(Spec{Preset: "tiny", Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	a, _ := plan.planIdentity()
	c, _ := other.planIdentity()
	if a == c {
		t.Error("seeds 3 and 4 have the same identity")
	}
}

// TestStaleResultsAreRefused: a results file whose recorded config differs
// from what the sweep's run would now be (here: another number of people) is
// not silently kept; the error names what differs and the fix.
func TestStaleResultsAreRefused(t *testing.T) {
	b := testbackend.Get(t)
	dir := t.TempDir()
	sw := Sweep{Name: "stale", Runs: []Spec{{Name: "dense", Model: lm.KindDense, Preset: "tiny", Seed: 1}}}
	opts := SweepOptions{ResultsDir: dir, Smoke: true}
	if _, err := RunSweep(context.Background(), b, sw, opts); err != nil {
		t.Fatal(err)
	}
	if _, err := RunSweep(context.Background(), b, sw, opts); err != nil {
		t.Fatalf("an unchanged run must be kept: %v", err)
	}
	sw.Runs[0].People = 60
	_, err := RunSweep(context.Background(), b, sw, opts)
	if err == nil || !strings.Contains(err.Error(), "dataset size") || !strings.Contains(err.Error(), "--overwrite") {
		t.Fatalf("changed dataset: err = %v, want it named with the fix", err)
	}
}
