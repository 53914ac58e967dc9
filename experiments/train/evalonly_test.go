package train

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/results"
)

// TestEvaluateNeverTrains: Evaluate restores the newest checkpoint and evaluates it at its step, even
// when the config asks for more steps; the numbers equal the training run's last evaluation, the
// variables are the checkpoint's and the checkpoint directory is left as it was. Without a checkpoint
// it fails instead of training from scratch.
func TestEvaluateNeverTrains(t *testing.T) {
	cfg := tinyConfig()
	cfg.Steps, cfg.WarmupSteps = 4, 2
	modelFn := tinyModel(8, 0)
	val := data.PackDocuments(data.ByteTokenizer{}, repeatedText().Documents, cfg.SeqLen)[:2]
	newTrainer := func(cfg Config) *Trainer { return newTextTrainer(t, modelFn, cfg) }
	dir := filepath.Join(t.TempDir(), "ckpt")
	trained := newTrainer(cfg)
	sumA, err := trained.Run(context.Background(), Options{CheckpointDir: dir, ValWindows: val})
	if err != nil {
		t.Fatal(err)
	}
	before := dirSnapshot(t, dir)

	longer := cfg
	longer.Steps = 10 // a checkpoint before the end of training is evaluated as it is
	ev := newTrainer(longer)
	run := &results.Run{}
	var log bytes.Buffer
	sumB, err := ev.Evaluate(context.Background(), Options{CheckpointDir: dir, ValWindows: val, Results: run, Progress: &log})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "at step 4/10, without training") {
		t.Errorf("log:\n%s", log.String())
	}
	if sumB.Step != 4 || sumB.Final["steps"] != 4 || len(sumB.Losses) != 0 {
		t.Fatalf("evaluated at step %d (final steps %v, %d losses), want step 4 and no training", sumB.Step, sumB.Final["steps"], len(sumB.Losses))
	}
	if a, b := sumA.Final["val_nll"], sumB.Final["val_nll"]; math.Float64bits(a) != math.Float64bits(b) || a == 0 {
		t.Errorf("val_nll after training %v, evaluated %v", a, b)
	}
	if a, b := sumA.Final["train_loss"], sumB.Final["train_loss"]; a != b {
		t.Errorf("train_loss after training %v, evaluated %v (kept from the checkpoint)", a, b)
	}
	if len(run.Evals) != 1 || run.Evals[0].Step != 4 || run.Final["val_nll"] != sumB.Final["val_nll"] {
		t.Errorf("results: evals %+v, final %v", run.Evals, run.Final)
	}
	want, got := variableBytes(t, trained.Store()), variableBytes(t, ev.Store())
	if !bytes.Equal(want["/tiny/w"], got["/tiny/w"]) || len(got["/tiny/w"]) == 0 {
		t.Error("the evaluated weights are not the checkpoint's")
	}
	if after := dirSnapshot(t, dir); after != before {
		t.Errorf("Evaluate changed the checkpoint directory:\n%s\nbecame\n%s", before, after)
	}

	empty := filepath.Join(t.TempDir(), "none")
	_, err = newTrainer(cfg).Evaluate(context.Background(), Options{CheckpointDir: empty})
	if !errors.Is(err, ErrNoCheckpoint) || !strings.Contains(err.Error(), "no checkpoint in "+empty) {
		t.Errorf("no checkpoint: %v", err)
	}
	if _, statErr := os.Stat(empty); !os.IsNotExist(statErr) {
		t.Errorf("Evaluate created %s", empty)
	}
}

// dirSnapshot lists a directory's files with their sizes and modification times.
func dirSnapshot(t *testing.T, dir string) string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var sb strings.Builder
	for _, e := range entries {
		info, err := e.Info()
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&sb, "%s %d %s\n", e.Name(), info.Size(), info.ModTime())
	}
	return sb.String()
}
