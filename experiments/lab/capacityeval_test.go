package lab

import (
	"context"
	"math"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/internal/testbackend"
)

func TestRecallBits(t *testing.T) {
	const n, b = 1000, 8.0
	if got := RecallBits(n, 1, b); math.Abs(got-n*b) > 1e-9 {
		t.Errorf("all recalled: %v bits, want n·b = %v", got, n*b)
	}
	if got := RecallBits(n, math.Exp2(-b), b); got > 1e-9 {
		t.Errorf("at chance (a = 2^-b): %v bits, want 0", got)
	}
	if got := RecallBits(n, 0.5, 1); got != 0 {
		t.Errorf("a coin's answers right half the time carry %v bits, want 0", got)
	}
	prev := 0.0
	for a := 0.01; a <= 1; a += 0.01 {
		got := RecallBits(n, a, b)
		if got < prev-1e-9 || got > n*b+1e-9 {
			t.Fatalf("RecallBits(a=%.2f) = %v: must grow with a and stay within [0, n·b]", a, got)
		}
		prev = got
	}
}

func TestNLLBits(t *testing.T) {
	const n, b = 500, 32.0
	if got := NLLBits(n, b, 0); got != n*b {
		t.Errorf("certain answers: %v bits, want n·b = %v", got, n*b)
	}
	if got := NLLBits(n, b, n*b*math.Ln2); math.Abs(got) > 1e-6 {
		t.Errorf("uniform guessing (NLL = b·ln 2 per fact): %v bits, want 0", got)
	}
	if got := NLLBits(n, b, 2*n*b*math.Ln2); got != 0 {
		t.Errorf("confidently wrong: %v bits, want 0 (never negative)", got)
	}
	// Half the answers certain, half guessed: half the bits.
	if got := NLLBits(n, b, n/2*b*math.Ln2); math.Abs(got-n*b/2) > 1e-6 {
		t.Errorf("half known: %v bits, want %v", got, n*b/2)
	}
}

func TestWordsRight(t *testing.T) {
	for _, c := range []struct {
		pred, gold   string
		words, right int
	}{
		{"kelo bami", "kelo bami", 2, 2},
		{"kelo tufa", "kelo bami", 2, 1},
		{"bami kelo", "kelo bami", 2, 0},
		{"kelo", "kelo bami", 2, 1},
		{"", "kelo", 1, 0},
	} {
		if w, r := wordsRight(c.pred, c.gold); w != c.words || r != c.right {
			t.Errorf("wordsRight(%q, %q) = %d, %d; want %d, %d", c.pred, c.gold, w, r, c.words, c.right)
		}
	}
}

// TestCapacityRunCountsEveryFact trains a small model on random facts in the
// capacity regime and checks what its results record: the last evaluation
// decoded every fact, the stored bits are within [0, the facts' bits], the
// bits per parameter use the model's accounting, and the steps amount to the
// exposures asked for.
func TestCapacityRunCountsEveryFact(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a model")
	}
	spec := Spec{Preset: "tiny", Model: lm.KindDense, Dataset: RandomFactsDataset, Facts: 80, ValueWords: 2,
		Exposures: 100, Dim: 32, Layers: 2, BatchSize: 16, Seed: 1}
	plan, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Train.SeqLen%13 != 0 || plan.Model.SeqLen != plan.Train.SeqLen {
		t.Errorf("window %d (model context %d): want a multiple of the 13 tokens of a fact, used as the model's context",
			plan.Train.SeqLen, plan.Model.SeqLen)
	}
	run, err := Run(context.Background(), testbackend.Get(t), plan, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := run.Final
	if f["train_qa_n"] != 80 {
		t.Fatalf("last evaluation decoded %v facts, want all 80", f["train_qa_n"])
	}
	if f["bits_per_fact"] != 16 || f["data_bits"] != 80*16 {
		t.Errorf("bits per fact %v, data bits %v; want 16 and 1280", f["bits_per_fact"], f["data_bits"])
	}
	for _, k := range []string{"stored_bits", "recall_bits"} {
		if f[k] < 0 || f[k] > f["data_bits"] {
			t.Errorf("%s = %v, outside [0, %v]", k, f[k], f["data_bits"])
		}
	}
	want := NLLBits(80, 16, f["train_qa_nll_sum"])
	if f["stored_bits"] != want {
		t.Errorf("stored_bits = %v, want the NLL bound of the summed answer NLL, %v", f["stored_bits"], want)
	}
	acc := lm.Count(plan.Model)
	if got := f["bits_per_param"] * float64(acc.TotalParams); math.Abs(got-f["stored_bits"]) > 1e-6 {
		t.Errorf("bits_per_param × params = %v, want stored_bits %v", got, f["stored_bits"])
	}
	if got := f["bits_per_param_no_emb"] * float64(acc.TotalParams-acc.EmbeddingParams); math.Abs(got-f["stored_bits"]) > 1e-6 {
		t.Errorf("bits_per_param_no_emb × non-embedding params = %v, want %v", got, f["stored_bits"])
	}
	if e := f["exposures"]; e < 100 || e > 101 {
		t.Errorf("exposures = %v, want 100 (up to one step more)", e)
	}
	if len(run.Evals) < 2 {
		t.Errorf("%d evaluations: want a learning curve", len(run.Evals))
	}
	if n := run.Evals[0].Metrics["train_qa_n"]; n != min(80, curveQuestions) {
		t.Errorf("first evaluation decoded %v facts, want %d", n, min(80, curveQuestions))
	}
}

// TestWithData: --facts changes the random facts runs only, --exposures
// every run of the sweep.
func TestWithData(t *testing.T) {
	sw, err := SweepByName("memorize", "tiny", []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	got := sw.WithData(1234, 250)
	for i, r := range got.Runs {
		if r.Exposures != 250 {
			t.Errorf("%s: exposures %d, want 250", r.Name, r.Exposures)
		}
		wantFacts := sw.Runs[i].Facts
		if r.Dataset == RandomFactsDataset {
			wantFacts = 1234
		}
		if r.Facts != wantFacts || r.Name != sw.Runs[i].Name {
			t.Errorf("%s: facts %d, want %d", r.Name, r.Facts, wantFacts)
		}
	}
	if sw.Runs[0].Facts == 1234 {
		t.Error("WithData changed the original sweep")
	}
}

func TestLossDropLastTenth(t *testing.T) {
	evals := func(losses ...float64) []results.EvalPoint {
		var out []results.EvalPoint
		for i, l := range losses {
			out = append(out, results.EvalPoint{Step: 100 * (i + 1), Metrics: map[string]float64{"train_loss": l}})
		}
		return out
	}
	run := &results.Run{Final: map[string]float64{"steps": 1000, "train_loss": 1.5},
		Evals: evals(3, 2.5, 2.2, 2, 1.9, 1.8, 1.7, 1.65, 1.6, 1.5)}
	// The last evaluation at or before step 900 is step 900's (1.6): (1.6-1.5)/1.6.
	if got, ok := lossDropLastTenth(run); !ok || math.Abs(got-0.0625) > 1e-12 {
		t.Errorf("lossDropLastTenth = %v, %v; want 0.0625, true", got, ok)
	}
	if _, ok := lossDropLastTenth(&results.Run{Final: map[string]float64{"steps": 1000, "train_loss": 1}}); ok {
		t.Error("lossDropLastTenth without evaluations: ok")
	}
}
