package results

import (
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/memlayers/memlayers/experiments/backend"
)

func sampleRun() *Run {
	r := &Run{
		Experiment: "memory-scaling",
		Name:       "memory n_keys=128",
		Provenance: Provenance{Seed: 42, Dataset: "tsv:experiments/data/testdata/capitals.tsv",
			Backend: backend.Info{Spec: "go:ops_sequential", Name: "Go Backend", Description: "d", NumDevices: 1},
			Machine: Machine{CPUModel: "cpu", Cores: 2, OS: "linux", Arch: "amd64", GoVersion: "go1.26"},
			Git:     Git{Commit: "abc", Dirty: true}},
		StartedAt:  time.Date(2026, 11, 29, 10, 0, 0, 123456789, time.UTC),
		FinishedAt: time.Date(2026, 11, 29, 11, 0, 0, 0, time.UTC),
		Final:      map[string]float64{"val_nll": 3.25, "diverged": math.NaN(), "ppl": math.Inf(1)},
		Notes:      "note",
	}
	r.WallSeconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
	if err := r.SetConfig(map[string]any{"n_keys": 128, "knn": 32}); err != nil {
		panic(err)
	}
	r.AddEval(100, 204800, map[string]float64{"loss": 4.5, "grad_norm": math.Inf(-1)})
	r.AddEval(200, 409600, map[string]float64{"loss": 4.0})
	return r
}

// equalRuns compares runs treating NaN as equal to NaN.
func equalRuns(t *testing.T, got, want *Run) {
	t.Helper()
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		t.Errorf("round trip changed the run:\n got %s\nwant %s", g, w)
	}
	if !math.IsNaN(got.Final["diverged"]) || !math.IsInf(got.Final["ppl"], 1) || !math.IsInf(got.Evals[0].Metrics["grad_norm"], -1) {
		t.Errorf("non-finite metrics lost: %v %v", got.Final, got.Evals[0].Metrics)
	}
	if !got.StartedAt.Equal(want.StartedAt) {
		t.Errorf("StartedAt %v, want %v", got.StartedAt, want.StartedAt)
	}
	if got.Final["val_nll"] != 3.25 || got.Evals[1].Step != 200 || got.Evals[1].Tokens != 409600 {
		t.Errorf("values changed: %+v", got)
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "a", "b", "run.json") // Missing directories are created.
	want := sampleRun()
	if err := Write(path, want, false); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	equalRuns(t, got, want)
	data, _ := os.ReadFile(path)
	for _, s := range []string{`"started_at": "2026-11-29T10:00:00.123456789Z"`, `"diverged": "NaN"`, `"n_keys": 128`} {
		if !strings.Contains(string(data), s) {
			t.Errorf("file lacks %s:\n%s", s, data)
		}
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
}

// entries lists the directory, to catch leftover temporary files.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestWriteRefusesOverwriteAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "run.json")
	if err := os.WriteFile(path, []byte("precious"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Write(path, sampleRun(), false)
	want := "results: " + path + " already exists; pass --overwrite or choose another --out"
	if err == nil || err.Error() != want || !errors.Is(err, ErrExists) {
		t.Fatalf("got %v, want %q matching ErrExists", err, want)
	}
	if data, _ := os.ReadFile(path); string(data) != "precious" {
		t.Errorf("existing file changed on refusal: %q", data)
	}
	// A value that cannot be encoded leaves the existing file alone, even with overwrite.
	if err := WriteJSON(path, map[string]any{"c": make(chan int)}, true); err == nil {
		t.Error("want an encoding error")
	}
	bad := sampleRun()
	bad.Config = json.RawMessage("{not json")
	if err := Write(path, bad, true); err == nil {
		t.Error("want an encoding error for an invalid Config")
	}
	if data, _ := os.ReadFile(path); string(data) != "precious" {
		t.Errorf("existing file changed on encoding error: %q", data)
	}
	if err := Write(path, sampleRun(), true); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if _, err := Read(path); err != nil {
		t.Fatal(err)
	}
	if names := entries(t, dir); !reflect.DeepEqual(names, []string{"run.json"}) {
		t.Errorf("directory holds %v, want only run.json", names)
	}
}

func TestWriteNewFileLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"x.json", "y.json"} {
		if err := WriteJSON(filepath.Join(dir, name), []int{1, 2}, false); err != nil {
			t.Fatal(err)
		}
	}
	if names := entries(t, dir); !reflect.DeepEqual(names, []string{"x.json", "y.json"}) {
		t.Errorf("directory holds %v", names)
	}
}

func TestReadDir(t *testing.T) {
	dir := t.TempDir()
	r1, r2 := sampleRun(), sampleRun()
	r1.Name, r2.Name = "first", "second"
	must(t, Write(filepath.Join(dir, "b.json"), r2, false))
	must(t, Write(filepath.Join(dir, "a.json"), r1, false))
	must(t, WriteJSON(filepath.Join(dir, "bench.json"), map[string]float64{"ratio": 2}, false))
	must(t, WriteJSON(filepath.Join(dir, "list.json"), []int{1}, false))
	must(t, os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("{"), 0o644))
	must(t, os.Mkdir(filepath.Join(dir, "sub.json"), 0o755))
	runs, err := ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 2 || runs[0].Name != "first" || runs[1].Name != "second" {
		t.Fatalf("got %d runs: %+v", len(runs), runs)
	}
	corrupt := filepath.Join(dir, "c.json")
	must(t, os.WriteFile(corrupt, []byte(`{"experiment": "x", "seed": `), 0o644))
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("corrupt file: got %v, want an error naming %s", err, corrupt)
	}
	if _, err := Read(corrupt); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("Read corrupt file: got %v", err)
	}
	must(t, os.WriteFile(corrupt, []byte(`{"experiment": "x", "final": {"loss": "lots"}}`), 0o644))
	if _, err := ReadDir(dir); err == nil || !strings.Contains(err.Error(), corrupt) {
		t.Errorf("bad metric: got %v, want an error naming %s", err, corrupt)
	}
}

func TestProvenance(t *testing.T) {
	r := &Run{}
	r.Start(".")
	time.Sleep(5 * time.Millisecond)
	r.Finish()
	if r.WallSeconds <= 0 || r.FinishedAt.Before(r.StartedAt) {
		t.Errorf("times: %+v", r)
	}
	if r.Machine.Cores != runtime.NumCPU() || r.Machine.CPUModel == "" || r.Machine.GoVersion != runtime.Version() {
		t.Errorf("machine: %+v", r.Machine)
	}
	if r.Git.Commit == "" {
		t.Error("empty git commit: want a hash or \"unknown\"")
	}
	if g := CurrentGit(t.TempDir()); g.Commit != Unknown || g.Dirty {
		t.Errorf("outside a repository: %+v", g)
	}
	t.Setenv("PATH", "") // no git at all
	if g := CurrentGit("."); g.Commit != Unknown {
		t.Errorf("without git: %+v", g)
	}
}

func TestCPUModel(t *testing.T) {
	f := filepath.Join(t.TempDir(), "cpuinfo")
	must(t, os.WriteFile(f, []byte("processor\t: 0\nmodel name\t: Test CPU @ 3GHz\nflags\t: x\n"), 0o644))
	if got := cpuModel(f); got != "Test CPU @ 3GHz" {
		t.Errorf("got %q", got)
	}
	if got := cpuModel(filepath.Join(t.TempDir(), "none")); got != runtime.GOARCH {
		t.Errorf("fallback: got %q", got)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestBuildGit: the commit a binary was built from is read from Go's VCS stamp, with its modified flag;
// without a revision (go run, tests) there is none rather than an empty commit.
func TestBuildGit(t *testing.T) {
	got := buildGit([]debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "162ca30c"}, {Key: "vcs.modified", Value: "true"}})
	if got == nil || got.Commit != "162ca30c" || !got.Dirty {
		t.Errorf("stamped build: %+v, want commit 162ca30c, dirty", got)
	}
	if got := buildGit([]debug.BuildSetting{{Key: "vcs.revision", Value: "abc"}, {Key: "vcs.modified", Value: "false"}}); got == nil || got.Dirty {
		t.Errorf("clean build: %+v, want not dirty", got)
	}
	if got := buildGit([]debug.BuildSetting{{Key: "GOARCH", Value: "amd64"}}); got != nil {
		t.Errorf("unstamped build: %+v, want nil", got)
	}
}
