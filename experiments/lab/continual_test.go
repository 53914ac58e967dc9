package lab

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
	"github.com/memlayers/memlayers/internal/testbackend"
)

// TestContinualDataKeepsSetsApart: sets A and B and the general text's people are disjoint, A and B hold
// whole subjects and the sizes asked for, and the same seed gives the same data.
func TestContinualDataKeepsSetsApart(t *testing.T) {
	sc := ContinualScales["tiny"]
	a, b, general, err := continualSources(sc, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(a) < sc.FactsA || len(a) >= sc.FactsA+6 || len(b) < sc.FactsB || len(b) >= sc.FactsB+6 {
		t.Errorf("%d facts in A and %d in B, want %d and %d rounded up to whole subjects", len(a), len(b), sc.FactsA, sc.FactsB)
	}
	inA := map[string]bool{}
	for _, f := range a {
		inA[f.Subject] = true
	}
	for _, f := range b {
		if inA[f.Subject] {
			t.Fatalf("subject %q is in A and B", f.Subject)
		}
	}
	all := append(slices.Clone(a), b...)
	for _, doc := range general {
		for _, f := range all {
			if strings.Contains(doc, f.Subject) {
				t.Fatalf("the general text mentions %q, a subject of the facts", f.Subject)
			}
		}
	}
	if len(general) != sc.GeneralPeople {
		t.Errorf("%d general documents, want %d", len(general), sc.GeneralPeople)
	}
	a2, b2, _, err := continualSources(sc, 3)
	if err != nil || !slices.Equal(a, a2) || !slices.Equal(b, b2) {
		t.Errorf("the same seed gave other facts (%v)", err)
	}
}

// pretrainForTest trains a model of kind on the continual data for one step into a new checkpoint
// directory and returns the directory.
func pretrainForTest(t *testing.T, kind lm.Kind) string {
	t.Helper()
	plan, err := Build(Spec{Preset: "tiny", Model: kind, Dataset: ContinualDataset, Seed: 1, Steps: 1})
	if err != nil {
		t.Fatal(err)
	}
	plan.ValWindows = plan.ValWindows[:2]
	plan.Preset.EvalQALimit = 2
	dir := filepath.Join(t.TempDir(), string(kind))
	if _, err := Run(context.Background(), testbackend.Get(t), plan, Options{CheckpointDir: dir}); err != nil {
		t.Fatal(err)
	}
	return dir
}

// snapshot reads every file of dir.
func snapshot(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// TestPlanFinetuneRefuses: a checkpoint of another kind, size or data, a mode the model cannot do, a t
// larger than the table, new facts about the old facts' subjects, and a directory without checkpoint are
// one-line errors naming the problem, and the checkpoint directory is left as it was.
func TestPlanFinetuneRefuses(t *testing.T) {
	memDir, denseDir := pretrainForTest(t, lm.KindMemory), pretrainForTest(t, lm.KindDense)
	before := snapshot(t, memDir)
	a, err := continualPretraining("tiny", 1)
	if err != nil {
		t.Fatal(err)
	}
	overlap := filepath.Join(t.TempDir(), "overlap.tsv")
	tsv := fmt.Sprintf("%s\tfavourite colour\tgreen\nZork Unknown\tfavourite colour\tblue\n", a.Facts[0].Subject)
	if err := os.WriteFile(overlap, []byte(tsv), 0o644); err != nil {
		t.Fatal(err)
	}
	base := func() FinetuneSpec {
		return FinetuneSpec{Pretrained: Spec{Preset: "tiny", Model: lm.KindMemory, Dataset: ContinualDataset, Seed: 1},
			CheckpointDir: memDir, NewFacts: "generated", Mode: train.FinetuneSparse, LR: 1, Steps: 2, TopSlots: 8}
	}
	if _, err := PlanFinetune(base()); err != nil {
		t.Fatalf("a valid finetuning: %v", err)
	}
	for _, tc := range []struct {
		name, want string
		edit       func(*FinetuneSpec)
	}{
		{"other kind", "holds a memory model", func(s *FinetuneSpec) { s.Pretrained.Model, s.Mode, s.TopSlots = lm.KindDense, train.FinetuneFull, 0 }},
		{"other size", "1024 memory slots); the flags describe a memory model (dim 64, 2 layers, 256 memory slots)", func(s *FinetuneSpec) { s.Pretrained.NKeys = 16 }},
		{"other data", "trained on other data", func(s *FinetuneSpec) { s.Pretrained.Seed = 2 }},
		{"sparse on dense", "has none; use --mode full or lora", func(s *FinetuneSpec) { s.Pretrained.Model, s.CheckpointDir = lm.KindDense, denseDir }},
		{"t larger than the table", "larger than the table's 1024 slots", func(s *FinetuneSpec) { s.TopSlots = 5000 }},
		{"overlapping subjects", "1 of the new facts' 2 subjects", func(s *FinetuneSpec) { s.NewFacts = "tsv:" + overlap }},
		{"no checkpoint", "holds no checkpoint", func(s *FinetuneSpec) { s.CheckpointDir = t.TempDir() }},
		{"unknown mode", `mode="all"`, func(s *FinetuneSpec) { s.Mode, s.TopSlots = "all", 0 }},
		{"t without sparse", "only the sparse mode", func(s *FinetuneSpec) { s.Mode = train.FinetuneMemory }},
		{"generated B for other data", `"generated" is the continual experiment's`, func(s *FinetuneSpec) { s.Pretrained.Dataset = "bios" }},
	} {
		s := base()
		tc.edit(&s)
		_, err := PlanFinetune(s)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v; want one line containing %q", tc.name, err, tc.want)
		}
	}
	s := base()
	s.NewFacts, s.AllowOverlap = "tsv:"+overlap, true
	if fp, err := PlanFinetune(s); err != nil || fp.Overlap != 1 {
		t.Errorf("--allow-overlap: %v, overlap %v; want a plan counting 1 shared subject", err, fp)
	}
	after := snapshot(t, memDir)
	if len(after) != len(before) {
		t.Errorf("planning changed the checkpoint directory: %d files, then %d", len(before), len(after))
	}
	for name, b := range before {
		if !bytes.Equal(after[name], b) {
			t.Errorf("planning changed %s", name)
		}
	}
}

// fakeFinetune is a finetuning's results file with the given final learning and forgetting and a
// two-point curve.
func fakeFinetune(base lm.Kind, mode string, lr float64, seed int64, learned, forgot float64) *results.Run {
	r := &results.Run{Experiment: "continual", Name: ContinualRun{Base: base, Mode: mode, LR: lr}.Name()}
	r.Seed = seed
	_ = r.SetConfig(map[string]any{"finetune": FinetuneSpec{Pretrained: Spec{Model: base}, Mode: mode, LR: lr}})
	final := map[string]float64{"new_em": learned, "forgetting_pct": forgot, "old_em": 0.9 * (1 - forgot/100), "old_em_start": 0.9}
	r.Evals = []results.EvalPoint{{Step: 0, Metrics: map[string]float64{"new_em": 0, "forgetting_pct": 0}}, {Step: 10, Metrics: final}}
	r.Final = final
	return r
}

// TestContinualVerdictComparesAtMatchedLearning: the verdict takes the largest learning every mode reaches
// and, per mode, the least forgetting among its rates that reach it; the charts draw every mode.
func TestContinualVerdictComparesAtMatchedLearning(t *testing.T) {
	var runs []*results.Run
	for _, seed := range []int64{1, 2} {
		runs = append(runs,
			// sparse: reaches 0.6 at the high rate, forgetting 5%.
			fakeFinetune(lm.KindMemory, train.FinetuneSparse, 1, seed, 0.3, 1),
			fakeFinetune(lm.KindMemory, train.FinetuneSparse, 10, seed, 0.6, 5),
			// full: reaches 0.5 at most (the level), forgetting 40% there, 80% at a rate learning more.
			fakeFinetune(lm.KindMemory, train.FinetuneFull, 1e-3, seed, 0.5, 40),
			fakeFinetune(lm.KindMemory, train.FinetuneFull, 1e-4, seed, 0.2, 10),
			fakeFinetune(lm.KindDense, train.FinetuneFull, 1e-3, seed, 0.9, 80))
	}
	lines, level, ok := ContinualVerdict(runs)
	if !ok || level != 0.5 {
		t.Fatalf("level %v (ok %v), want 0.5: the most the memory model's full finetuning learns", level, ok)
	}
	want := []string{"memory model: full (AdamW): forgot 40.0 ± 0.0% of the old facts' exact match at lr 0.001",
		"memory model: sparse (SGD): forgot 5.0 ± 0.0% of the old facts' exact match at lr 10",
		"dense model: full (AdamW): forgot 80.0 ± 0.0% of the old facts' exact match at lr 0.001"}
	if len(lines) != len(want) {
		t.Fatalf("verdict lines %q", lines)
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[i], w) {
			t.Errorf("line %d: %q, want it to start with %q", i, lines[i], w)
		}
	}
	charts, err := ContinualCharts("tiny", runs)
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, c := range charts {
		files = append(files, c.File)
	}
	if !slices.Equal(files, []string{"continual-tiny-pareto", "continual-tiny-learning", "continual-tiny-forgetting"}) {
		t.Errorf("charts %v", files)
	}
}

// TestRunContinualWritesAndKeeps runs a few-step version of one finetuning of the experiment: it
// pretrains the memory model, writes results with their provenance, and a second call keeps them.
func TestRunContinualWritesAndKeeps(t *testing.T) {
	dir := t.TempDir()
	opts := ContinualOptions{ResultsDir: filepath.Join(dir, "results"), CheckpointsDir: filepath.Join(dir, "ck"),
		Only: "memory/sparse", PretrainSteps: 2, FinetuneSteps: 2, OldQA: 2}
	b := testbackend.Get(t)
	runs, err := RunContinual(context.Background(), b, "tiny", []int64{1}, opts)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || runs[0].CheckProvenance() != nil || runs[0].Final["value_rows_per_step"] > float64(ContinualScales["tiny"].TopSlots) {
		t.Fatalf("runs %d, provenance %v, final %v", len(runs), runs[0].CheckProvenance(), runs[0].Final)
	}
	if steps := []int{runs[0].Evals[0].Step, runs[0].Evals[len(runs[0].Evals)-1].Step}; steps[0] != 0 || steps[1] != 2 {
		t.Errorf("evaluations from step %d to %d, want 0 to 2", steps[0], steps[1])
	}
	for _, f := range []string{ContinualFile("tiny", ContinualRun{lm.KindMemory, train.FinetuneSparse, ContinualScales["tiny"].LRs[train.FinetuneSparse][0], 1}),
		PretrainFile("tiny", lm.KindMemory, 1)} {
		r, err := results.Read(filepath.Join(opts.ResultsDir, f))
		if err != nil || r.CheckProvenance() != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	var log bytes.Buffer
	opts.Log = &log
	if _, err := RunContinual(context.Background(), b, "tiny", []int64{1}, opts); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(log.String(), "kept") || strings.Contains(log.String(), "finetuning…") || strings.Contains(log.String(), "pretraining") {
		t.Errorf("second call:\n%s\nwant the results kept and nothing trained", log.String())
	}
}
