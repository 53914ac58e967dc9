package data

import (
	"fmt"
	"testing"
)

// TestExposureSteps: training for ExposureSteps steps on a repacking batcher
// shows every fact exactly `exposures` times when windows hold whole facts
// (AlignedSeqLen), the steps equal facts × exposures × tokens per fact /
// tokens per step (rounded up), and no fact is cut from its question.
func TestExposureSteps(t *testing.T) {
	d, err := RandomFacts(RandomFactsConfig{Facts: 97, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	tok := NewWordTokenizer(d.Documents, 0)
	perFact := UniformDocTokens(tok, d.Documents)
	seqLen := AlignedSeqLen(64, perFact)
	if seqLen%perFact != 0 || seqLen > 64 || seqLen+perFact <= 64 {
		t.Fatalf("AlignedSeqLen(64, %d) = %d: want the largest multiple of %d up to 64", perFact, seqLen, perFact)
	}
	const batch, exposures = 4, 7
	tokens := CorpusTokens(tok, d.Documents)
	if tokens != 97*perFact {
		t.Fatalf("CorpusTokens = %d, want %d", tokens, 97*perFact)
	}
	steps, err := ExposureSteps(tokens, seqLen, batch, exposures)
	if err != nil {
		t.Fatal(err)
	}
	perStep := batch * seqLen
	windows := (tokens + seqLen - 1) / seqLen // the last one partly padding
	if want := (exposures*windows + batch - 1) / batch; steps != want {
		t.Errorf("steps = %d, want ⌈exposures·windows / batch⌉ = %d", steps, want)
	}
	if raw := float64(97*exposures*perFact) / float64(perStep); float64(steps) < raw || float64(steps) > raw+float64(exposures)/batch+1 {
		t.Errorf("steps = %d, want facts·exposures·tokens per fact / tokens per step = %.1f, rounded up to whole windows and steps", steps, raw)
	}
	b, err := NewRepackingBatcher(tok, d.Documents, seqLen, batch, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Count how often each fact's answer is a target after its full question.
	seen := map[string]int{}
	for range steps {
		batch := b.Next()
		for _, row := range batch.Inputs {
			if row[0] != BOS {
				t.Fatal("a window does not start at a fact's BOS")
			}
			for start := 0; start < len(row); start += perFact {
				seen[tok.Decode(row[start+1:start+perFact-1])]++
			}
		}
	}
	extra := 0 // the last step may run into the next epoch
	for _, doc := range d.Documents {
		switch n := seen[doc]; {
		case n == exposures:
		case n == exposures+1:
			extra++
		default:
			t.Errorf("fact %q seen %d times, want %d", doc, n, exposures)
		}
	}
	if extra*perFact > perStep {
		t.Errorf("%d facts seen once more than asked: more than one step's worth", extra)
	}
	if e := b.Epochs(); e < exposures || e >= exposures+float64(batch)/float64(b.Windows()) {
		t.Errorf("epochs after %d steps = %v, want %d up to one batch more", steps, e, exposures)
	}
}

func TestExposureStepsErrors(t *testing.T) {
	for _, c := range [][4]int{{1, 10, 2, 100}, {100, 0, 2, 100}, {100, 10, 0, 100}, {100, 10, 2, 0}} {
		if _, err := ExposureSteps(c[0], c[1], c[2], c[3]); err == nil {
			t.Errorf("ExposureSteps%v: no error", c)
		}
	}
}

func ExampleExposureSteps() {
	// 5,000 facts of 15 tokens, seen 100 times, 64 windows of 60 tokens per step.
	steps, _ := ExposureSteps(5000*15, 60, 64, 100)
	fmt.Println(steps, "steps")
	// Output: 1954 steps
}
