package lab

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
	"github.com/memlayers/memlayers/internal/testbackend"
)

// cancelAt is a progress writer that cancels a context when a line mentions a step.
type cancelAt struct {
	step   string // e.g. "step 2/4 "
	cancel context.CancelFunc
}

func (c cancelAt) Write(p []byte) (int, error) {
	if strings.Contains(string(p), c.step) {
		c.cancel()
	}
	return len(p), nil
}

// TestSweepResumesMidRun: a sweep interrupted in the middle of a run saves a checkpoint; run again, it
// continues that run from the checkpoint (not from step 0), and the results equal those of an
// uninterrupted sweep. Once the results file is written the checkpoints are gone.
func TestSweepResumesMidRun(t *testing.T) {
	b := testbackend.Get(t)
	sw := Sweep{Name: "resume", Runs: []Spec{{Name: "dense", Model: lm.KindDense, Preset: "tiny", Seed: 1}}}
	opts := SweepOptions{Steps: 4, EvalQA: 2}

	opts.ResultsDir = filepath.Join(t.TempDir(), "straight")
	straight, err := RunSweep(context.Background(), b, sw, opts)
	if err != nil {
		t.Fatal(err)
	}

	opts.ResultsDir = filepath.Join(t.TempDir(), "results")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	interrupted := opts
	interrupted.Progress = cancelAt{"step 2/4 ", cancel}
	_, err = RunSweep(ctx, b, sw, interrupted)
	ckpt := filepath.Join(opts.ResultsDir, ".checkpoints", "resume", "tiny", "dense-seed1")
	if !errors.Is(err, train.ErrInterrupted) || !strings.Contains(err.Error(), "interrupted at step 2, checkpoint saved to "+ckpt+"; run the same sweep again") {
		t.Fatalf("interrupted sweep: %v", err)
	}

	var log, progress strings.Builder
	opts.Log, opts.Progress = &log, &progress
	resumed, err := RunSweep(context.Background(), b, sw, opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "resuming from "+ckpt) || !strings.Contains(progress.String(), "at step 2/4") {
		t.Errorf("the second sweep did not resume at step 2; log:\n%s\nprogress:\n%s", log.String(), progress.String())
	}
	for k, want := range straight[0].Final {
		if strings.Contains(k, "second") { // wall-clock timings
			continue
		}
		if got := resumed[0].Final[k]; math.Float64bits(got) != math.Float64bits(want) {
			t.Errorf("%s: resumed %v, uninterrupted %v", k, got, want)
		}
	}
	if _, err := os.Stat(filepath.Join(opts.ResultsDir, ".checkpoints")); !os.IsNotExist(err) {
		t.Errorf("checkpoints left after the results were written: %v", err)
	}
}

// TestConcurrentSweepsShareRuns: two sweeps started together on one results directory train each run
// once between them, and both return every run.
func TestConcurrentSweepsShareRuns(t *testing.T) {
	b := testbackend.Get(t)
	defer func(d time.Duration) { lockPollInterval = d }(lockPollInterval)
	lockPollInterval = 20 * time.Millisecond
	sw := Sweep{Name: "shared", Runs: []Spec{
		{Name: "dense", Model: lm.KindDense, Preset: "tiny", Seed: 1},
		{Name: "fewer people", Model: lm.KindDense, Preset: "tiny", Seed: 1, People: 60},
		{Name: "memory", Model: lm.KindMemory, Preset: "tiny", Seed: 1},
	}}
	dir := t.TempDir()
	var wg sync.WaitGroup
	logs := make([]strings.Builder, 2)
	got := make([][]*results.Run, 2)
	errs := make([]error, 2)
	for k := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[k], errs[k] = RunSweep(context.Background(), b, sw, SweepOptions{ResultsDir: dir, Smoke: true, Log: &logs[k]})
		}()
	}
	wg.Wait()
	trained := 0
	for k := range 2 {
		if errs[k] != nil || len(got[k]) != len(sw.Runs) {
			t.Fatalf("sweep %d: %d runs, err %v; log:\n%s", k, len(got[k]), errs[k], logs[k].String())
		}
		trained += strings.Count(logs[k].String(), ": training…")
	}
	if trained != len(sw.Runs) {
		t.Errorf("%d trainings for %d runs; logs:\n%s\n---\n%s", trained, len(sw.Runs), logs[0].String(), logs[1].String())
	}
	for i := range sw.Runs {
		if got[0][i].StartedAt != got[1][i].StartedAt {
			t.Errorf("run %d: the two sweeps return different results", i)
		}
	}
	locks, _ := filepath.Glob(filepath.Join(dir, "shared", "tiny", ".*.lock"))
	if len(locks) > 0 {
		t.Errorf("lock files left: %v", locks)
	}
}

// TestRunLock: a held lock is refused to a second taker with the holder's description, and free again
// once released.
func TestRunLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sweep", "tiny", "run-seed1.json")
	first, holder, err := tryLockRun(path)
	if err != nil || first == nil || holder != "" {
		t.Fatalf("first lock: %v %q %v", first, holder, err)
	}
	second, holder, err := tryLockRun(path)
	if err != nil || second != nil || !strings.Contains(holder, "pid ") {
		t.Fatalf("second lock while held: %v %q %v", second, holder, err)
	}
	// Between taking the lock and writing its description, the holder is still reported as busy.
	if err := os.WriteFile(lockPath(path), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if second, holder, err := tryLockRun(path); err != nil || second != nil || holder != "another process" {
		t.Fatalf("lock held with no description yet: %v %q %v", second, holder, err)
	}
	first.release()
	if _, err := os.Stat(lockPath(path)); !os.IsNotExist(err) {
		t.Errorf("lock file left after release: %v", err)
	}
	third, _, err := tryLockRun(path)
	if err != nil || third == nil {
		t.Fatalf("lock after release: %v %v", third, err)
	}
	third.release()
}
