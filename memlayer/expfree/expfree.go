package expfree

import (
	"strings"

	"github.com/gomlx/gomlx/core/graph"
)

type node = graph.Node

// onGoBackend reports whether g is built for GoMLX's pure-Go backend.
func onGoBackend(g *graph.Graph) bool {
	return strings.HasPrefix(strings.ToLower(g.Backend().Name()), "go")
}

// tangent is x − StopGradient(x): zero in value, the identity in gradient.
func tangent(x *node) *node { return graph.Sub(x, graph.StopGradient(x)) }

// Softmax is graph.Softmax(logits, axis). Its gradient, p ⊙ (v − Σ p⊙v) for
// the output's gradient v, is computed from the forward probabilities p.
// Logits must be finite (mask with a large negative number, not −∞).
func Softmax(logits *node, axis int) *node {
	if !onGoBackend(logits.Graph()) {
		return graph.Softmax(logits, axis)
	}
	p := graph.StopGradient(graph.Softmax(logits, axis))
	u := tangent(logits)
	pu := graph.ReduceAndKeep(graph.Mul(p, u), graph.ReduceSum, axis)
	return graph.Add(p, graph.Mul(p, graph.Sub(u, pu)))
}

// Sigmoid is graph.Sigmoid(x) = 1/(1+e^−x), computed as the first
// probability of a softmax over (x, 0); its gradient is s(1−s).
func Sigmoid(x *node) *node {
	if !onGoBackend(x.Graph()) {
		return graph.Sigmoid(x)
	}
	pair := graph.Stack([]*node{x, graph.ZerosLike(x)}, -1)
	probs := graph.Softmax(pair, -1)
	last := x.Rank()
	s := graph.StopGradient(graph.Squeeze(graph.SliceAxis(probs, last, graph.AxisRange(0, 1)), last))
	return graph.Add(s, graph.Mul(graph.Mul(s, graph.OneMinus(s)), tangent(x)))
}

// Swish is x·Sigmoid(x) (SiLU), as activation.Swish.
func Swish(x *node) *node { return graph.Mul(x, Sigmoid(x)) }

// TokenNLL is −log softmax(logits)[target] along the last axis, for logits
// [..., V] (float32) and integer targets [...]: the cross-entropy of a
// language model per token. log Σ e^z is read off the fused softmax: the
// largest shifted logit is 0, so its probability is 1/Σ e^z.
func TokenNLL(logits, targets *node) *node {
	if !onGoBackend(logits.Graph()) {
		return logSoftmaxNLL(logits, targets)
	}
	oneHot := graph.OneHot(targets, logits.Shape().Dimensions[logits.Rank()-1], logits.DType())
	shifted := graph.Sub(logits, graph.StopGradient(graph.ReduceAndKeep(logits, graph.ReduceMax, -1)))
	p := graph.StopGradient(graph.Softmax(shifted, -1))
	logZ := graph.Neg(graph.Log(graph.ReduceMax(p, -1)))
	// d logZ / d z = p: a term zero in value with that gradient.
	logZ = graph.Add(logZ, graph.ReduceSum(graph.Mul(p, tangent(shifted)), -1))
	return graph.Sub(logZ, graph.ReduceSum(graph.Mul(oneHot, shifted), -1))
}

// logSoftmaxNLL is TokenNLL with GoMLX's LogSoftmax: what other backends run,
// and the reference the tests and the benchmark compare with.
func logSoftmaxNLL(logits, targets *node) *node {
	oneHot := graph.OneHot(targets, logits.Shape().Dimensions[logits.Rank()-1], logits.DType())
	return graph.Neg(graph.ReduceSum(graph.Mul(oneHot, graph.LogSoftmax(logits, -1)), -1))
}
