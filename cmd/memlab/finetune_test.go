package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/results"
)

// TestFinetuneCommand trains the continual experiment's tiny memory model for one step, then: every bad
// input of memlab finetune is one line on stderr with exit status 2 and leaves the checkpoint directory
// as it was; a short sparse finetuning writes its results file.
func TestFinetuneCommand(t *testing.T) {
	dir := t.TempDir()
	ckpt := filepath.Join(dir, "ckpt")
	ctx := context.Background()
	var stdout, stderr bytes.Buffer
	if status := run(ctx, []string{"train", "--dataset", "continual", "--model", "memory", "--steps", "1",
		"--checkpoint-dir", ckpt, "--out", filepath.Join(dir, "pretrain.json")}, &stdout, &stderr); status != 0 {
		t.Fatalf("memlab train: status %d: %s", status, stderr.String())
	}
	snapshot := func() map[string]string {
		out := map[string]string{}
		entries, err := os.ReadDir(ckpt)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(ckpt, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(b)
		}
		return out
	}
	before := snapshot()
	pre, err := lab.Build(mustSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	overlap := filepath.Join(dir, "overlap.tsv")
	if err := os.WriteFile(overlap, []byte(pre.Dataset.Facts[0].Subject+"\tcode\tzuzu\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	common := []string{"finetune", "--checkpoint-dir", ckpt, "--steps", "1", "--old-qa", "2"}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--mode", "bogus"}, `mode="bogus"`},
		{[]string{"--top-slots", "100000"}, "larger than the table's 16384 slots"},
		{[]string{"--model", "dense", "--mode", "full"}, "holds a memory model"},
		{[]string{"--n-keys", "16"}, "the flags describe a memory model (dim 64, 2 layers, 256 memory slots)"},
		{[]string{"--seed", "2"}, "trained on other data"},
		{[]string{"--facts", "tsv:" + overlap}, "1 of the new facts' 1 subjects"},
		{[]string{"--facts", "tsv:/no/such.tsv"}, "such.tsv"},
		{[]string{"--checkpoint-dir", t.TempDir()}, "holds no checkpoint"},
		{[]string{"--lr", "-1"}, "lr=-1"},
		{[]string{"--mode", "full", "--top-slots", "5"}, "only the sparse mode"},
	} {
		stdout.Reset()
		stderr.Reset()
		args := append(append([]string{}, common...), tc.args...)
		status := run(ctx, args, &stdout, &stderr)
		msg := stderr.String()
		if status != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) || strings.Contains(msg, "goroutine") {
			t.Errorf("memlab %v: status %d, stderr %q; want status 2 and one line containing %q", tc.args, status, msg, tc.want)
		}
	}
	after := snapshot()
	if len(after) != len(before) {
		t.Errorf("the checkpoint directory had %d files, now %d", len(before), len(after))
	}
	for name, b := range before {
		if after[name] != b {
			t.Errorf("%s changed", name)
		}
	}

	out := filepath.Join(dir, "sparse.json")
	stdout.Reset()
	stderr.Reset()
	if status := run(ctx, append(common, "--mode", "sparse", "--steps", "2", "--out", out), &stdout, &stderr); status != 0 {
		t.Fatalf("memlab finetune --mode sparse: status %d: %s", status, stderr.String())
	}
	r, err := results.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if r.Final["steps"] != 2 || r.Final["value_rows_per_step"] > 500 || r.CheckProvenance() != nil {
		t.Errorf("results: final %v, provenance %v", r.Final, r.CheckProvenance())
	}
	if !strings.Contains(stdout.String(), "finetune step 2/2: learned") {
		t.Errorf("no progress line with learning and forgetting in:\n%s", stdout.String())
	}
}

// mustSpec is the continual experiment's tiny memory model, as the tests' memlab train made it.
func mustSpec(t *testing.T) lab.Spec {
	t.Helper()
	s, err := lab.ContinualBaseSpec("tiny", "memory", 1)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
