package lab

import (
	"context"
	"fmt"
	"math"
	"strings"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/eval"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// curveQuestions is how many questions of each set the evaluations during a
// capacity-regime run decode (random facts come in random order, so the first
// ones are a random sample); the last evaluation decodes them all, since
// stored bits count every fact.
const curveQuestions = 64

// capacityEval is the evaluation of a run in the capacity regime: the
// trainer's built-in metrics (seen and held-out EM, F1, answer NLL; text NLL
// of held-out biographies) on curveQuestions questions per set during
// training and on every question at the last step (Preset.EvalQALimit, 0
// in this regime, caps both in smoke tests), plus, per set, the
// fraction of answer words right in their position ("_word_acc", partial
// recall of answers of several words) and the summed answer NLL
// ("_nll_sum", nats) that the stored-bits bound needs.
func capacityEval(plan *Plan) func(ctx context.Context, step int, ev *train.Evaluator) (map[string]float64, error) {
	return func(ctx context.Context, step int, ev *train.Evaluator) (map[string]float64, error) {
		limit := plan.Preset.EvalQALimit // 0 (all) unless a smoke test or quick look caps it
		if step < plan.Train.Steps && (limit == 0 || limit > curveQuestions) {
			limit = curveQuestions
		}
		m := map[string]float64{}
		for _, set := range []struct {
			prefix string
			qas    []data.QA
		}{{"train_qa", plan.Dataset.TrainQA}, {"eval_qa", plan.Dataset.EvalQA}} {
			qas := set.qas
			if limit > 0 && len(qas) > limit {
				qas = qas[:limit]
			}
			if len(qas) == 0 {
				continue
			}
			preds, err := ev.PredictQA(ctx, qas)
			if err != nil {
				return nil, fmt.Errorf("lab: evaluation at step %d (%s): %w", step, set.prefix, err)
			}
			var acc eval.Accumulator
			var words, right int
			var nllSum float64
			for _, p := range preds {
				acc.Add(p.Predicted, p.QA.Answer, p.AnswerNLL)
				nllSum += p.AnswerNLL
				w, r := wordsRight(p.Predicted, p.QA.Answer)
				words, right = words+w, right+r
			}
			s := acc.Scores()
			m[set.prefix+"_em"], m[set.prefix+"_f1"], m[set.prefix+"_nll"] = s.EM, s.F1, s.AnswerNLL
			m[set.prefix+"_n"] = float64(len(qas))
			m[set.prefix+"_nll_sum"] = nllSum
			m[set.prefix+"_word_acc"] = float64(right) / float64(words)
		}
		if len(plan.ValWindows) > 0 {
			nll, err := ev.EvaluateText(ctx, plan.ValWindows)
			if err != nil {
				return nil, fmt.Errorf("lab: evaluation at step %d (val_nll): %w", step, err)
			}
			m["val_nll"] = nll
		}
		return m, nil
	}
}

// wordsRight counts the words of gold and how many of them the prediction
// has at the same position (after eval.Normalize).
func wordsRight(pred, gold string) (words, right int) {
	p, g := strings.Fields(eval.Normalize(pred)), strings.Fields(eval.Normalize(gold))
	for i, w := range g {
		if i < len(p) && p[i] == w {
			right++
		}
	}
	return len(g), right
}

// RecallBits is the information about n facts of b bits each (answers
// uniform over 2^b values) that a model's answers carry when a fraction a of
// them are exactly right: Fano's inequality bounds what the answers leave
// unknown by h(a') + a'·log2(2^b − 1) bits per fact, a' = 1 − a, so the
// answers hold at least n·(b − h(a') − a'·log2(2^b − 1)) bits: n·b when all
// are right, 0 at chance (a = 2^−b) or below.
func RecallBits(n int, a, b float64) float64 {
	if n <= 0 || b <= 0 {
		return 0
	}
	miss := 1 - a
	h := 0.0
	if miss > 0 && miss < 1 {
		h = -miss*math.Log2(miss) - a*math.Log2(a)
	}
	alt := b // log2(2^b − 1), = b to float precision for large b
	if b < 40 {
		alt = math.Log2(math.Exp2(b) - 1)
	}
	return math.Max(0, float64(n)*(b-h-miss*alt))
}

// NLLBits is Allen-Zhu & Li's lower bound on the bits a model stores about n
// facts of b bits each, from the summed negative log-likelihood (nats) of
// their answers: a model that assigns the true answers probability p_i
// could encode them in Σ −log2 p_i bits, so it holds at least
// n·b − Σ −log2 p_i of the n·b bits the answers carry (0 when negative).
func NLLBits(n int, b, nllSum float64) float64 {
	return math.Max(0, float64(n)*b-nllSum/math.Ln2)
}

// capacityMetrics adds to a capacity-regime run's final metrics what it
// stores (after its last evaluation, which decodes every fact): the bits of
// its answers' facts by exact recall (RecallBits) and by answer NLL
// (NLLBits, also "stored_bits"), over the seen and the held-out facts (both
// are in the training text), per parameter of the whole model and of the
// model without its token embeddings, and the exposures its steps amount to.
func capacityMetrics(plan *Plan, acc lm.Accounting, final map[string]float64) {
	final["embedding_params"] = float64(acc.EmbeddingParams)
	tokens := data.CorpusTokens(plan.Tokenizer, plan.Dataset.Documents)
	windows := (tokens - 1 + plan.Train.SeqLen - 1) / plan.Train.SeqLen
	final["exposures"] = final["steps"] * float64(plan.Train.BatchSize) / float64(windows)
	if people, ok := plan.Dataset.Meta["people"].(int); ok {
		final["people"] = float64(people)
	}
	b := factBits(plan.Dataset)
	if b <= 0 {
		return
	}
	var recall, nll, facts float64
	for _, set := range []struct {
		prefix string
		n      int
	}{{"train_qa", len(plan.Dataset.TrainQA)}, {"eval_qa", len(plan.Dataset.EvalQA)}} {
		if set.n == 0 || final[set.prefix+"_n"] != float64(set.n) {
			continue // not every question was decoded (a smoke run): no count
		}
		facts += float64(set.n)
		recall += RecallBits(set.n, final[set.prefix+"_em"], b)
		nll += NLLBits(set.n, b, final[set.prefix+"_nll_sum"])
	}
	if facts == 0 {
		return
	}
	final["bits_per_fact"] = b
	final["data_bits"] = facts * b
	final["recall_bits"] = recall
	final["stored_bits"] = nll
	total, noEmb := float64(acc.TotalParams), float64(acc.TotalParams-acc.EmbeddingParams)
	final["bits_per_param"] = nll / total
	final["bits_per_param_no_emb"] = nll / noEmb
	final["recall_bits_per_param"] = recall / total
	final["recall_bits_per_param_no_emb"] = recall / noEmb
}

// lossDropLastTenth is the relative fall of the training loss over the last
// tenth of a run (from the last evaluation at or before 90% of its steps to
// the final one): near zero when the loss has flattened, as it must for a
// model that is out of capacity rather than out of training. ok is false
// without such an evaluation.
func lossDropLastTenth(run *results.Run) (drop float64, ok bool) {
	final, okF := run.Final["train_loss"]
	steps := run.Final["steps"]
	var before float64
	for _, e := range run.Evals {
		if l, has := e.Metrics["train_loss"]; has && float64(e.Step) <= 0.9*steps {
			before, ok = l, true
		}
	}
	if !ok || !okF || before <= 0 {
		return 0, false
	}
	return (before - final) / before, true
}

// factBits is the information of one fact of ds in bits: exact for random
// facts; for biographies the mean over the attributes (their values are
// uniform over lists of different sizes); 0 when unknown.
func factBits(ds *data.Dataset) float64 {
	if b, ok := ds.Meta["bits_per_fact"].(float64); ok {
		return b
	}
	if b, ok := ds.Meta["bits_per_person"].(float64); ok {
		return b / float64(data.BioAttributes())
	}
	return 0
}
