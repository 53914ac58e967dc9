package eval

import (
	"fmt"
	"math"
)

// Scores are the means over a set of questions, as written to results files. EM and F1 are in [0, 1];
// AnswerNLL is the mean negative log-likelihood (nats) of the gold answer given the question, over the
// NLLCount answers whose NLL was provided.
type Scores struct {
	N         int     `json:"n"`
	EM        float64 `json:"em"`
	F1        float64 `json:"f1"`
	AnswerNLL float64 `json:"answer_nll"`
	NLLCount  int     `json:"nll_count"`
}

// Accumulator sums per-question scores; its zero value is ready to use. It keeps sums rather than running
// means so that results do not depend on the order questions are added in beyond float rounding, and EM
// is an exact count.
type Accumulator struct {
	n, nllCount int
	exact       int
	f1, nll     float64
}

// Add scores one prediction against its gold answer. nll is the model's negative log-likelihood of the
// gold answer; pass math.NaN() when it was not computed, and it is left out of AnswerNLL.
func (a *Accumulator) Add(pred, gold string, nll float64) {
	a.AddAnswers(pred, []string{gold}, nll)
}

// AddAnswers scores one prediction against a question's accepted answers, as TriviaQA does: exact match
// if it matches any of them, F1 against the closest one (see BestF1). nll is as for Add.
func (a *Accumulator) AddAnswers(pred string, golds []string, nll float64) {
	a.n++
	if MatchesAny(pred, golds) {
		a.exact++
	}
	a.f1 += BestF1(pred, golds)
	if !math.IsNaN(nll) {
		a.nll += nll
		a.nllCount++
	}
}

// Merge adds the questions of another accumulator, e.g. one per worker.
func (a *Accumulator) Merge(b *Accumulator) {
	a.n += b.n
	a.nllCount += b.nllCount
	a.exact += b.exact
	a.f1 += b.f1
	a.nll += b.nll
}

// Scores returns the means so far; all zero when nothing was added (never NaN, so results always encode
// as JSON).
func (a *Accumulator) Scores() Scores {
	s := Scores{N: a.n, NLLCount: a.nllCount}
	if a.n > 0 {
		s.EM = float64(a.exact) / float64(a.n)
		s.F1 = a.f1 / float64(a.n)
	}
	if a.nllCount > 0 {
		s.AnswerNLL = a.nll / float64(a.nllCount)
	}
	return s
}

// String formats the scores for logs, e.g. "n=100 EM=42.0% F1=55.3% answer NLL=1.234".
func (s Scores) String() string {
	out := fmt.Sprintf("n=%d EM=%.1f%% F1=%.1f%%", s.N, 100*s.EM, 100*s.F1)
	if s.NLLCount > 0 {
		out += fmt.Sprintf(" answer NLL=%.3f", s.AnswerNLL)
	}
	return out
}
