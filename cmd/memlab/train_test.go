package main

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
)

// A run on a facts file has no held-out text: its text NLL is not measured and
// must read "n/a", not "0.000", which would look like a perfect score.
func TestPrintFinalSaysNAForUnmeasuredMetrics(t *testing.T) {
	run := &results.Run{Name: "facts-capitals", Final: map[string]float64{
		"eval_qa_em": 0.25, "eval_qa_f1": 0.5, "eval_qa_nll": 1.5, "train_qa_em": 1, "tokens_per_second": 1000}}
	var out bytes.Buffer
	printFinal(&out, run)
	got := out.String()
	if !strings.Contains(got, "text NLL n/a") || strings.Contains(got, "0.000") {
		t.Errorf("without val_nll: %q, want \"text NLL n/a\" and no 0.000", got)
	}
	if !strings.Contains(got, "held-out QA EM 25.0% F1 50.0% answer NLL 1.500 | seen QA EM 100.0%") {
		t.Errorf("measured metrics misprinted: %q", got)
	}
	run.Final["val_nll"] = 4.25
	out.Reset()
	printFinal(&out, run)
	if !strings.Contains(out.String(), "text NLL 4.250") {
		t.Errorf("with val_nll 4.25: %q", out.String())
	}
}

// TestTrainLikeStartsFromTheSweepRun: --like takes every field of the sweep's run at --preset and --seed,
// and the other flags given change only their own field.
func TestTrainLikeStartsFromTheSweepRun(t *testing.T) {
	sweep, err := lab.SweepByName("memorize", "small", []int64{2})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args   []string
		run    string
		change func(*lab.Spec)
	}{
		{[]string{"--like", "memorize/dense-x2", "--preset", "small", "--seed", "2"}, "dense-x2", func(*lab.Spec) {}},
		{[]string{"--like", "memorize/memory+", "--preset", "small", "--seed", "2", "--swilu=false", "--name", "memory+-no-gate"}, "memory+",
			func(s *lab.Spec) { s.SwiLU, s.Name = new(false), "memory+-no-gate" }},
		{[]string{"--preset", "small", "--qk-norm", "false", "--seed", "2", "--like", "memorize/memory+", "--exposures", "100", "--name", "x"}, "memory+",
			func(s *lab.Spec) { s.QKNorm, s.Exposures, s.Name = new(false), 100, "x" }},
	} {
		want, err := sweep.Run(tc.run, 2)
		if err != nil {
			t.Fatal(err)
		}
		tc.change(&want)
		fs, f := trainFlags(io.Discard)
		if err := f.parse(fs, tc.args); err != nil {
			t.Fatalf("%v: %v", tc.args, err)
		}
		if f.spec.Model = lm.Kind(f.model); !reflect.DeepEqual(f.spec, want) {
			t.Errorf("%v:\n got %+v\nwant %+v", tc.args, f.spec, want)
		}
	}
}
