package train

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/eval"
)

// Evaluator scores a model without changing it: greedy answers to questions (EM, F1), the likelihood of
// gold answers, and the likelihood of held-out text. Every forward pass has the same [BatchSize, SeqLen]
// shape, so one graph is compiled whatever the number of items; partial batches are padded with PAD rows
// that are ignored.
//
// The model must be causal (the logits at position t depend only on tokens 0..t): rows are right-padded
// and greedy decoding reads the logits at the last real position.
type Evaluator struct {
	tok             data.Tokenizer
	seqLen          int
	batchSize       int
	maxAnswerTokens int
	// run computes, for tokens and targets [B, T], each target's NLL and the greedy next token.
	run func(tokens, targets *tensors.Tensor) (nll, next *tensors.Tensor, err error)
}

// NewEvaluator returns an Evaluator of modelFn whose variables live in store. Variables that the store does
// not hold yet are initialised on first use, as in training.
func NewEvaluator(backend compute.Backend, store *model.Store, modelFn ModelFn, tok data.Tokenizer,
	seqLen, batchSize, maxAnswerTokens int) (*Evaluator, error) {
	switch {
	case backend == nil:
		return nil, fmt.Errorf("train: evaluator backend is nil")
	case store == nil:
		return nil, fmt.Errorf("train: evaluator store is nil")
	case modelFn == nil:
		return nil, fmt.Errorf("train: evaluator model function is nil")
	case tok == nil:
		return nil, fmt.Errorf("train: evaluator tokenizer is nil")
	case seqLen < 1:
		return nil, fmt.Errorf("train: evaluator seq_len=%d: must be >= 1", seqLen)
	case batchSize < 1:
		return nil, fmt.Errorf("train: evaluator batch_size=%d: must be >= 1", batchSize)
	case maxAnswerTokens < 1:
		return nil, fmt.Errorf("train: evaluator max_answer_tokens=%d: must be >= 1", maxAnswerTokens)
	}
	exec, err := model.NewExec(backend, store, func(scope *model.Scope, tokens, targets *Node) (nll, next *Node) {
		return evalHead(scope, tokens.Graph(), func() *Node { logits, _ := modelFn(scope, tokens); return logits }, targets)
	})
	if err != nil {
		return nil, fmt.Errorf("train: evaluator: %s", oneLine(err.Error()))
	}
	exec.WithName("train.Evaluator")
	return newEvaluator(tok, seqLen, batchSize, maxAnswerTokens, func(tokens, targets *tensors.Tensor) (nll, next *tensors.Tensor, err error) {
		outs, err := exec.Call(tokens, targets)
		if err != nil {
			return nil, nil, err
		}
		return outs[0], outs[1], nil
	}), nil
}

func newEvaluator(tok data.Tokenizer, seqLen, batchSize, maxAnswerTokens int,
	run func(tokens, targets *tensors.Tensor) (nll, next *tensors.Tensor, err error)) *Evaluator {
	return &Evaluator{tok: tok, seqLen: seqLen, batchSize: batchSize, maxAnswerTokens: maxAnswerTokens, run: run}
}

// evalHead returns, for the logits that logitsOf builds in g (not training) and targets [B, T], the NLL of
// each target and the greedy (argmax) next token at each position. It refuses models that change
// variables when not training.
func evalHead(scope *model.Scope, g *Graph, logitsOf func() *Node, targets *Node) (nll, next *Node) {
	scope.Store().SetTraining(g, false)
	logits := logitsOf()
	nll = tokenNLL(logits, targets)
	next = ArgMax(logits, -1, dtypes.Int32)
	for v := range scope.Store().IterVariables() {
		if v.ChangedInGraph(g) {
			exceptions.Panicf("train: the model changes variable %s when not training; evaluation must not update variables", v.Path())
		}
	}
	return nll, next
}

// forward runs one [batchSize, seqLen] batch and returns the flat NLL and next-token arrays.
func (e *Evaluator) forward(tokens, targets []int32) (nll []float32, next []int32, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("train: evaluation: %s", oneLine(fmt.Sprint(r)))
		}
	}()
	tokT := tensors.FromFlatDataAndDimensions(tokens, e.batchSize, e.seqLen)
	tgtT := tensors.FromFlatDataAndDimensions(targets, e.batchSize, e.seqLen)
	nllT, nextT, err := e.run(tokT, tgtT)
	if err != nil {
		return nil, nil, fmt.Errorf("train: evaluation: %s", oneLine(err.Error()))
	}
	defer finalizeAll([]*tensors.Tensor{nllT, nextT})
	nll, err = tensors.CopyFlatData[float32](nllT)
	if err != nil {
		return nil, nil, err
	}
	next, err = tensors.CopyFlatData[int32](nextT)
	return nll, next, err
}

// forwardBatch runs b (at most batchSize rows of length seqLen), padding it to the fixed shape.
func (e *Evaluator) forwardBatch(b data.Batch) (nll []float32, next []int32, err error) {
	n := e.batchSize * e.seqLen
	tokens := make([]int32, n)
	targets := make([]int32, n)
	for i := range tokens {
		tokens[i], targets[i] = data.PAD, data.PAD
	}
	for r := range b.Inputs {
		copy(tokens[r*e.seqLen:(r+1)*e.seqLen], b.Inputs[r])
		copy(targets[r*e.seqLen:(r+1)*e.seqLen], b.Targets[r])
	}
	return e.forward(tokens, targets)
}

// Generate greedily continues each prompt (token ids, BOS included if wanted) by up to maxTokens tokens,
// stopping a row at a special token (EOS, PAD, BOS; not included) or once its text contains a newline
// (included). Prompts longer than SeqLen keep only their last SeqLen tokens as context.
func (e *Evaluator) Generate(ctx context.Context, prompts [][]int32, maxTokens int) ([][]int32, error) {
	out := make([][]int32, len(prompts))
	for lo := 0; lo < len(prompts); lo += e.batchSize {
		hi := min(lo+e.batchSize, len(prompts))
		if err := e.generateChunk(ctx, prompts[lo:hi], out[lo:hi], maxTokens); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func (e *Evaluator) generateChunk(ctx context.Context, prompts, out [][]int32, maxTokens int) error {
	seqs := make([][]int32, len(prompts))
	for i, p := range prompts {
		if len(p) == 0 {
			return fmt.Errorf("train: generate: prompt %d is empty (start it with data.BOS)", i)
		}
		seqs[i] = append([]int32(nil), p...)
		out[i] = []int32{}
	}
	done := make([]bool, len(prompts))
	pos := make([]int, len(prompts))
	tokens := make([]int32, e.batchSize*e.seqLen)
	targets := make([]int32, len(tokens))
	for range maxTokens {
		if err := ctx.Err(); err != nil {
			return err
		}
		active := false
		for i := range tokens {
			tokens[i], targets[i] = data.PAD, data.PAD
		}
		for r, s := range seqs {
			if done[r] {
				continue
			}
			active = true
			window := contextWindow(s, e.seqLen)
			copy(tokens[r*e.seqLen:], window)
			pos[r] = len(window) - 1
		}
		if !active {
			break
		}
		_, next, err := e.forward(tokens, targets)
		if err != nil {
			return err
		}
		for r := range seqs {
			if done[r] {
				continue
			}
			id := next[r*e.seqLen+pos[r]]
			if data.IsSpecial(id) {
				done[r] = true
				continue
			}
			seqs[r] = append(seqs[r], id)
			out[r] = append(out[r], id)
			if strings.Contains(e.tok.Decode(out[r]), "\n") {
				done[r] = true
			}
		}
	}
	return nil
}

// contextWindow returns the last seqLen tokens of s: the left context is cut when s is too long.
func contextWindow(s []int32, seqLen int) []int32 {
	if len(s) > seqLen {
		return s[len(s)-seqLen:]
	}
	return s
}

// QAPrediction is the model's answer to one question.
type QAPrediction struct {
	QA data.QA `json:"qa"`
	// Generated is the decoded greedy continuation of the prompt; Predicted is data.ParseAnswer of it.
	Generated string `json:"generated"`
	Predicted string `json:"predicted"`
	// AnswerNLL is the NLL (nats) of the gold data.Target tokens given the prompt (teacher forcing),
	// summed over them; with several accepted answers it is the NLL of producing any of them,
	// −log Σ exp(−NLL of each). AnswerTokens is how many tokens the first accepted answer is.
	AnswerNLL    float64 `json:"answer_nll"`
	AnswerTokens int     `json:"answer_tokens"`
}

// PredictQA answers each question greedily from data.Prompt (after BOS, as data.QASequence lays it out)
// and scores the likelihood of its accepted answers.
func (e *Evaluator) PredictQA(ctx context.Context, qas []data.QA) ([]QAPrediction, error) {
	preds := make([]QAPrediction, len(qas))
	prompts := make([][]int32, len(qas))
	var scored [][]int32 // one row per accepted answer of each question
	var starts, owner []int
	for i, q := range qas {
		for j, answer := range q.AcceptedAnswers() {
			ids, start := data.QASequence(e.tok, q.WithAnswer(answer))
			if j == 0 {
				prompts[i] = ids[:start]
				preds[i].QA = q
			}
			// Cut the left context so that the whole answer fits in seqLen+1 tokens (as a training window).
			if cut := len(ids) - 1 - e.seqLen; cut > 0 {
				if start-cut < 1 {
					return nil, fmt.Errorf("train: QA %d (%q): its answer %q is %d tokens, too long for seq_len=%d",
						i, q.Question, answer, len(ids)-start, e.seqLen)
				}
				ids, start = ids[cut:], start-cut
			}
			if j == 0 {
				preds[i].AnswerTokens = len(ids) - start
			}
			scored, starts, owner = append(scored, ids), append(starts, start), append(owner, i)
		}
	}

	gens, err := e.Generate(ctx, prompts, e.maxAnswerTokens)
	if err != nil {
		return nil, err
	}
	for i, gen := range gens {
		preds[i].Generated = e.tok.Decode(gen)
		preds[i].Predicted = data.ParseAnswer(preds[i].Generated)
	}

	nlls := make([][]float64, len(qas)) // per question, the summed NLL of each accepted answer
	for lo := 0; lo < len(scored); lo += e.batchSize {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		hi := min(lo+e.batchSize, len(scored))
		b := data.PadBatch(scored[lo:hi], e.seqLen, data.PAD)
		for r := range b.Mask {
			for t := 0; t+1 < starts[lo+r]; t++ {
				b.Mask[r][t] = 0 // Prompt positions: only answer tokens are scored, as in data.QABatch.
			}
		}
		nll, _, err := e.forwardBatch(b)
		if err != nil {
			return nil, err
		}
		for r := range b.Mask {
			sum := 0.0
			for t, m := range b.Mask[r] {
				if m != 0 {
					sum += float64(nll[r*e.seqLen+t])
				}
			}
			nlls[owner[lo+r]] = append(nlls[owner[lo+r]], sum)
		}
	}
	for i := range preds {
		preds[i].AnswerNLL = anyAnswerNLL(nlls[i])
	}
	return preds, nil
}

// anyAnswerNLL is the NLL of producing one of several answers, −log Σ exp(−nll), computed stably; the
// answers are whole targets ending in a newline, so no one is a prefix of another and the events are
// disjoint.
func anyAnswerNLL(nlls []float64) float64 {
	if len(nlls) == 1 {
		return nlls[0]
	}
	best := math.Inf(1)
	for _, v := range nlls {
		best = min(best, v)
	}
	sum := 0.0
	for _, v := range nlls {
		sum += math.Exp(best - v)
	}
	return best - math.Log(sum)
}

// EvaluateQA returns exact match, F1 and mean answer NLL of greedy answers to qas (see PredictQA); a
// prediction counts as right when it matches any accepted answer (eval.Accumulator.AddAnswers).
func (e *Evaluator) EvaluateQA(ctx context.Context, qas []data.QA) (eval.Scores, error) {
	preds, err := e.PredictQA(ctx, qas)
	if err != nil {
		return eval.Scores{}, err
	}
	var acc eval.Accumulator
	for _, p := range preds {
		acc.AddAnswers(p.Predicted, p.QA.AcceptedAnswers(), p.AnswerNLL)
	}
	return acc.Scores(), nil
}

// EvaluateText returns the mean NLL per token (nats) over the targets of held-out windows, as made by
// data.PackDocuments with the same SeqLen (seq_len+1 tokens each; PAD targets are not scored; longer
// windows are truncated).
func (e *Evaluator) EvaluateText(ctx context.Context, windows [][]int32) (float64, error) {
	var sum float64
	var count int
	for lo := 0; lo < len(windows); lo += e.batchSize {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		hi := min(lo+e.batchSize, len(windows))
		b := data.PadBatch(windows[lo:hi], e.seqLen, data.PAD)
		nll, _, err := e.forwardBatch(b)
		if err != nil {
			return 0, err
		}
		for r := range b.Mask {
			for t, m := range b.Mask[r] {
				if m != 0 && b.Targets[r][t] != data.PAD {
					sum += float64(nll[r*e.seqLen+t])
					count++
				}
			}
		}
	}
	if count == 0 {
		return 0, fmt.Errorf("train: EvaluateText: the %d windows hold no target tokens", len(windows))
	}
	return sum / float64(count), nil
}

func finalizeAll(ts []*tensors.Tensor) {
	for _, t := range ts {
		if t != nil {
			_ = t.FinalizeAll()
		}
	}
}
