package train

import (
	"bytes"
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// failingFS is the real file system until its budget of operations (creates, writes, syncs, closes,
// renames, removes) is spent; then every operation fails, and a write that fails writes half its bytes
// first, as a crash in the middle of a write would.
type failingFS struct {
	budget int
	used   int
}

var errInjected = errors.New("injected failure")

func (f *failingFS) spend() error {
	if f.used >= f.budget {
		return errInjected
	}
	f.used++
	return nil
}

func (f *failingFS) Create(path string) (ckptFile, error) {
	if err := f.spend(); err != nil {
		return nil, err
	}
	file, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	return &failingFile{fs: f, f: file}, nil
}
func (f *failingFS) Rename(from, to string) error {
	if err := f.spend(); err != nil {
		return err
	}
	return os.Rename(from, to)
}
func (f *failingFS) Remove(path string) error {
	if err := f.spend(); err != nil {
		return err
	}
	return os.Remove(path)
}
func (f *failingFS) SyncDir(dir string) error {
	if err := f.spend(); err != nil {
		return err
	}
	return osFS{}.SyncDir(dir)
}

type failingFile struct {
	fs *failingFS
	f  *os.File
}

func (w *failingFile) Write(p []byte) (int, error) {
	if err := w.fs.spend(); err != nil {
		n, _ := w.f.Write(p[:len(p)/2])
		return n, err
	}
	return w.f.Write(p)
}
func (w *failingFile) Sync() error {
	if err := w.fs.spend(); err != nil {
		return err
	}
	return w.f.Sync()
}
func (w *failingFile) Close() error {
	if err := w.fs.spend(); err != nil {
		_ = w.f.Close()
		return err
	}
	return w.f.Close()
}

// checkpointBytes loads the newest checkpoint of dir with GoMLX's loader: variable path → raw bytes.
func checkpointBytes(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	h, err := checkpoint.Build(model.NewStore()).Dir(dir).Done()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for key, value := range h.LoadedVariables() {
		if err := value.ConstBytes(func(b []byte) { out[strings.TrimPrefix(key, "var:")] = bytes.Clone(b) }); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// TestSaveInterruptedAtEveryBoundary: a run resumed at step 4 whose save at step 8 fails at each of its
// file operations in turn leaves a directory from which a third run resumes — from step 4 when the new
// checkpoint was not complete, from step 8 when it was — and ends with the straight run's losses and
// variables, bit for bit; no temporary file survives the resume.
func TestSaveInterruptedAtEveryBoundary(t *testing.T) {
	cfg := tinyConfig()
	cfg.Steps, cfg.WarmupSteps, cfg.CheckpointEvery = 8, 2, 0
	newTrainer := func() *Trainer { return newTextTrainer(t, tinyModel(16, 0.2), cfg) }
	straight := newTrainer()
	sumA, err := straight.Run(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := variableBytes(t, straight.Store())

	sawBoth := map[int]bool{} // the steps resumed from, over all budgets
	for budget := 0; ; budget++ {
		dir := filepath.Join(t.TempDir(), "ckpt")
		ctx, cancel := context.WithCancel(context.Background())
		_, err := newTrainer().Run(ctx, Options{CheckpointDir: dir, OnStep: func(s StepInfo) {
			if s.Step == 4 {
				cancel()
			}
		}})
		cancel()
		if !errors.Is(err, ErrInterrupted) {
			t.Fatalf("budget %d: first run: %v", budget, err)
		}

		second := newTrainer()
		fs := &failingFS{budget: budget}
		second.ckptFS = fs
		_, err = second.Run(context.Background(), Options{CheckpointDir: dir, Resume: true})
		completed := err == nil
		if !completed && (!strings.Contains(err.Error(), "the previous checkpoints are untouched") || strings.Contains(err.Error(), "\n")) {
			t.Fatalf("budget %d: second run: want a one-line error saying the previous checkpoints are untouched, got %v", budget, err)
		}

		var log bytes.Buffer
		third := newTrainer()
		sumC, err := third.Run(context.Background(), Options{CheckpointDir: dir, Resume: true, Progress: &log})
		if err != nil {
			t.Fatalf("budget %d: resuming after the failed save: %v\n%s", budget, err, log.String())
		}
		sawBoth[sumC.StartStep] = true
		if sumC.StartStep != 4 && sumC.StartStep != 8 {
			t.Fatalf("budget %d: resumed from step %d, want 4 or 8", budget, sumC.StartStep)
		}
		if math.Float64bits(sumC.Final["train_loss"]) != math.Float64bits(sumA.Final["train_loss"]) {
			t.Errorf("budget %d: final train_loss %v, straight run %v", budget, sumC.Final["train_loss"], sumA.Final["train_loss"])
		}
		got := variableBytes(t, third.Store())
		if sumC.StartStep == 8 { // a finished run builds no graph: read what its checkpoint holds
			got = checkpointBytes(t, dir)
		}
		for path, w := range want {
			if !bytes.Equal(w, got[path]) {
				t.Errorf("budget %d: variable %s differs from the straight run", budget, path)
			}
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.HasPrefix(e.Name(), tmpPrefix) || e.Name() == "broken" {
				t.Errorf("budget %d: %s left in the checkpoint dir", budget, e.Name())
			}
		}
		if completed {
			if budget < 5 {
				t.Fatalf("the save completed within %d file operations: the failing file system is not used", budget)
			}
			break
		}
	}
	if !sawBoth[4] || !sawBoth[8] {
		t.Errorf("resumed from steps %v: want failures both before and after the checkpoint was committed", sawBoth)
	}
}
