package train

import (
	"context"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/memlayers/memlayers/experiments/data"
)

// oracleMargin is the logit of the oracle's chosen token (all others are 0).
const oracleMargin = 10.0

// oracleLen is the longest sequence the oracle handles.
const oracleLen = 64

// fingerprintWeights are two fixed pseudo-random weight vectors in [1, 1000]: with ids < 259 and at most
// oracleLen positions the weighted sums stay below 2^24, so float32 computes them exactly.
var fingerprintWeights = func() (w [2][oracleLen]float64) {
	x := uint64(12345)
	for i := range w {
		for s := range w[i] {
			x = x*6364136223846793005 + 1442695040888963407
			w[i][s] = float64(1 + (x>>33)%1000)
		}
	}
	return w
}()

// prefixKey is the oracle's fingerprint of ids[0..t]: two weighted sums of the ids.
func prefixKey(ids []int32, t int) [2]float64 {
	var k [2]float64
	for i := range k {
		for s := 0; s <= t; s++ {
			k[i] += float64(ids[s]) * fingerprintWeights[i][s]
		}
	}
	return k
}

// oracleModel is a hand-built causal "model" that has memorised the given token sequences from position
// starts[i] on: at each position it computes the prefix fingerprint in-graph and puts logit oracleMargin
// on the token that followed that prefix in the sequences (no variables; all logits 0 for an unknown
// prefix).
func oracleModel(t *testing.T, seqs [][]int32, starts []int) (ModelFn, map[[2]float64]int32) {
	t.Helper()
	next := map[[2]float64]int32{}
	for j, s := range seqs {
		for i := starts[j]; i+1 < len(s); i++ {
			k := prefixKey(s, i)
			if prev, ok := next[k]; ok && prev != s[i+1] {
				t.Fatalf("oracle: two continuations (or a fingerprint collision) at key %v", k)
			}
			next[k] = s[i+1]
		}
	}
	var keys [2][]float32
	vocab := data.NumBytesAndSpecials
	var oneHot []float32
	for k, id := range next {
		keys[0] = append(keys[0], float32(k[0]))
		keys[1] = append(keys[1], float32(k[1]))
		row := make([]float32, vocab)
		row[id] = oracleMargin
		oneHot = append(oneHot, row...)
	}
	m := len(next)
	fn := func(scope *model.Scope, tokens *Node) (*Node, *Node) {
		g := tokens.Graph()
		B, T := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
		if m == 0 {
			return Zeros(g, shapes.Make(dtypes.Float32, B, T, vocab)), nil
		}
		if T > oracleLen {
			t.Fatalf("oracle: seq_len %d > %d", T, oracleLen)
		}
		var match *Node
		for i := range keys {
			// prefix[b, t] = Σ_{s<=t} tokens[b, s]·w[s], as a product with the triangular matrix w[s]·[s <= t].
			tri := make([][]float32, T)
			for s := range tri {
				tri[s] = make([]float32, T)
				for u := s; u < T; u++ {
					tri[s][u] = float32(fingerprintWeights[i][s])
				}
			}
			prefix := Einsum("bs,st->bt", ConvertDType(tokens, dtypes.Float32), Const(g, tri))
			eq := Equal(InsertAxes(prefix, -1), Reshape(Const(g, keys[i]), 1, 1, m)) // [B, T, M]
			if match == nil {
				match = eq
			} else {
				match = LogicalAnd(match, eq)
			}
		}
		logits := Einsum("btm,mv->btv", ConvertDType(match, dtypes.Float32),
			Reshape(Const(g, oneHot), m, vocab))
		return logits, nil
	}
	return fn, next
}

// expectedAnswerNLL replays the oracle on the gold sequence of q.
func expectedAnswerNLL(tok data.Tokenizer, q data.QA, next map[[2]float64]int32) float64 {
	ids, start := data.QASequence(tok, q)
	return oracleNLL(ids, start-1, next)
}

// oracleNLL is the oracle's summed NLL of ids[from+1:] given the preceding tokens.
func oracleNLL(ids []int32, from int, next map[[2]float64]int32) float64 {
	vocab := float64(data.NumBytesAndSpecials)
	sum := 0.0
	for i := from; i+1 < len(ids); i++ {
		chosen, ok := next[prefixKey(ids, i)]
		switch {
		case !ok:
			sum += math.Log(vocab)
		case chosen == ids[i+1]:
			sum += math.Log(math.Exp(oracleMargin)+vocab-1) - oracleMargin
		default:
			sum += math.Log(math.Exp(oracleMargin) + vocab - 1)
		}
	}
	return sum
}

func TestEvaluateQA(t *testing.T) {
	tok := data.ByteTokenizer{}
	gold := []data.QA{
		{Question: "What is the capital of France?", Answer: "Paris"},
		{Question: "What is the capital of Japan?", Answer: "Tokyo"},
		{Question: "Who wrote Hamlet?", Answer: "William Shakespeare"},
	}
	// The oracle learnt a wrong answer for the third question.
	taught := append([]data.QA(nil), gold...)
	taught[2].Answer = "William Blake"
	var seqs [][]int32
	var starts []int
	for _, q := range taught {
		ids, start := data.QASequence(tok, q)
		seqs = append(seqs, ids)
		starts = append(starts, start-1) // the answer is memorised, the questions share prefixes.
	}
	oracle, next := oracleModel(t, seqs, starts)
	ev, err := NewEvaluator(testBackend(t), model.NewStore(), oracle, tok, 48, 2, 24)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	preds, err := ev.PredictQA(ctx, gold)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"Paris", "Tokyo", "William Blake"} {
		if preds[i].Predicted != want || preds[i].Generated != " "+want+"\n" {
			t.Errorf("QA %d: generated %q, predicted %q, want %q", i, preds[i].Generated, preds[i].Predicted, want)
		}
		b, err := data.QABatch(tok, gold[i:i+1], 48)
		if err != nil {
			t.Fatal(err)
		}
		if n := b.MaskedTokens(); preds[i].AnswerTokens != n {
			t.Errorf("QA %d: %d answer tokens scored, data.QABatch masks %d", i, preds[i].AnswerTokens, n)
		}
		if want := expectedAnswerNLL(tok, gold[i], next); math.Abs(preds[i].AnswerNLL-want) > 1e-3*max(1, want) {
			t.Errorf("QA %d: answer NLL %v, want %v", i, preds[i].AnswerNLL, want)
		}
	}

	scores, err := ev.EvaluateQA(ctx, gold[:2])
	if err != nil {
		t.Fatal(err)
	}
	if scores.N != 2 || scores.EM != 1 || scores.F1 != 1 || scores.NLLCount != 2 {
		t.Errorf("memorised questions: %+v, want EM 1 and F1 1 on 2", scores)
	}
	scores, err = ev.EvaluateQA(ctx, gold)
	if err != nil {
		t.Fatal(err)
	}
	// "William Blake" vs "William Shakespeare": precision = recall = 1/2.
	if scores.N != 3 || math.Abs(scores.EM-2.0/3) > 1e-12 || math.Abs(scores.F1-2.5/3) > 1e-12 {
		t.Errorf("all questions: %+v, want EM 2/3 and F1 2.5/3", scores)
	}
	wantNLL := 0.0
	for _, q := range gold {
		wantNLL += expectedAnswerNLL(tok, q, next) / 3
	}
	if math.Abs(scores.AnswerNLL-wantNLL) > 1e-3*wantNLL {
		t.Errorf("mean answer NLL %v, want %v", scores.AnswerNLL, wantNLL)
	}

	// Held-out text: the taught sequences (three rows, so one padded batch row), with a PAD inside the
	// last one that must not be scored.
	windows := [][]int32{seqs[0], seqs[1], append(append([]int32(nil), seqs[2]...), data.PAD, data.PAD)}
	nll, err := ev.EvaluateText(ctx, windows)
	if err != nil {
		t.Fatal(err)
	}
	want, count := 0.0, 0
	for _, s := range seqs {
		want += oracleNLL(s, 0, next)
		count += len(s) - 1
	}
	if want /= float64(count); math.Abs(nll-want) > 1e-4*want {
		t.Errorf("EvaluateText = %v, want %v", nll, want)
	}
}

func TestContextWindow(t *testing.T) {
	s := []int32{1, 2, 3, 4, 5}
	if got := contextWindow(s, 3); len(got) != 3 || got[0] != 3 || got[2] != 5 {
		t.Errorf("contextWindow(5 tokens, 3) = %v, want [3 4 5]", got)
	}
	if got := contextWindow(s, 8); len(got) != 5 {
		t.Errorf("contextWindow(5 tokens, 8) = %v, want all", got)
	}
}

// TestLongQuestionIsCut checks that a question longer than seq_len is scored and answered with its left
// context cut, instead of failing.
func TestLongQuestionIsCut(t *testing.T) {
	tok := data.ByteTokenizer{}
	q := data.QA{Question: strings.Repeat("very ", 20) + "long?", Answer: "yes"}
	oracle, _ := oracleModel(t, nil, nil)
	ev, err := NewEvaluator(testBackend(t), model.NewStore(), oracle, tok, 16, 2, 3)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := ev.PredictQA(context.Background(), []data.QA{q})
	if err != nil {
		t.Fatal(err)
	}
	if preds[0].AnswerTokens != len(" yes\n") {
		t.Errorf("answer tokens %d, want %d", preds[0].AnswerTokens, len(" yes\n"))
	}
	if want := 5 * math.Log(float64(data.NumBytesAndSpecials)); math.Abs(preds[0].AnswerNLL-want) > 1e-3 {
		t.Errorf("answer NLL %v, want %v (uniform logits)", preds[0].AnswerNLL, want)
	}
	if _, err := ev.PredictQA(context.Background(), []data.QA{{Question: "?", Answer: strings.Repeat("x", 40)}}); err == nil ||
		!strings.Contains(err.Error(), "too long for seq_len=16") {
		t.Errorf("answer longer than seq_len: %v", err)
	}
}

// TestEvaluationMustNotUpdateVariables rejects a model that changes a variable outside training.
func TestEvaluationMustNotUpdateVariables(t *testing.T) {
	inner := tinyModel(4, 0)
	fn := func(scope *model.Scope, tokens *Node) (*Node, *Node) {
		logits, _ := inner(scope, tokens)
		v := scope.In("count").WithInitializer(initializer.Zero).
			VariableWithShape("n", shapes.Make(dtypes.Float32)).SetTrainable(false)
		v.SetNodeValue(AddScalar(v.NodeValue(tokens.Graph()), 1))
		return logits, nil
	}
	ev, err := NewEvaluator(testBackend(t), model.NewStore(), fn, data.ByteTokenizer{}, 8, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ev.EvaluateText(context.Background(), [][]int32{{data.BOS, 'a', 'b'}})
	if err == nil || !strings.Contains(err.Error(), "changes variable /count/n when not training") || strings.Contains(err.Error(), "\n") {
		t.Errorf("EvaluateText with a variable-changing model: %v", err)
	}
}

// TestEvaluateQASeveralAnswers: a prediction is right when it matches any accepted answer, and the answer
// NLL is that of producing any of them, −log Σ exp(−NLL of each).
func TestEvaluateQASeveralAnswers(t *testing.T) {
	tok := data.ByteTokenizer{}
	q := data.QA{Question: "What is the abbreviation of United States?", Answer: "US", Answers: []string{"US", "USA"}}
	// The oracle learnt the second accepted answer only.
	ids, start := data.QASequence(tok, q.WithAnswer("USA"))
	oracle, next := oracleModel(t, [][]int32{ids}, []int{start - 1})
	ev, err := NewEvaluator(testBackend(t), model.NewStore(), oracle, tok, 64, 2, 8)
	if err != nil {
		t.Fatal(err)
	}
	preds, err := ev.PredictQA(context.Background(), []data.QA{q})
	if err != nil {
		t.Fatal(err)
	}
	a, b := expectedAnswerNLL(tok, q.WithAnswer("US"), next), expectedAnswerNLL(tok, q.WithAnswer("USA"), next)
	want := -math.Log(math.Exp(-a) + math.Exp(-b))
	if preds[0].Predicted != "USA" || math.Abs(preds[0].AnswerNLL-want) > 1e-3 || preds[0].AnswerNLL > min(a, b) {
		t.Errorf("predicted %q NLL %v, want USA and %v (below both answers' %v, %v)", preds[0].Predicted, preds[0].AnswerNLL, want, a, b)
	}
	scores, err := ev.EvaluateQA(context.Background(), []data.QA{q, q.WithAnswer("US")})
	if err != nil {
		t.Fatal(err)
	}
	// Right for the question accepting both answers, wrong (F1 0: "usa" vs "us") for the one accepting US only.
	if scores.EM != 0.5 || scores.F1 != 0.5 {
		t.Errorf("scores %+v, want EM 0.5 and F1 0.5", scores)
	}
}
