package train

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/memlayers/memlayers/memlayer/expfree"
)

// tokenNLL returns the negative log-likelihood (nats, float32) of each target under logits:
// logits [B, T, V], targets [B, T] int → [B, T].
func tokenNLL(logits, targets *Node) *Node {
	if logits.Rank() != 3 || targets.Rank() != 2 {
		exceptions.Panicf("train: the model must return logits [batch, seq, vocab], got %s for tokens %s",
			logits.Shape(), targets.Shape())
	}
	dims := logits.Shape().Dimensions
	if dims[0] != targets.Shape().Dimensions[0] || dims[1] != targets.Shape().Dimensions[1] {
		exceptions.Panicf("train: the model returned logits %s for tokens %s: batch and seq axes must match",
			logits.Shape(), targets.Shape())
	}
	if logits.DType() != dtypes.Float32 {
		logits = ConvertDType(logits, dtypes.Float32)
	}
	return expfree.TokenNLL(logits, targets)
}

// maskedMean is Σ x·mask / max(Σ mask, 1) for x and mask of the same shape (float32).
func maskedMean(x, mask *Node) *Node {
	total := ReduceAllSum(Mul(x, mask))
	count := MaxScalar(ReduceAllSum(mask), 1.0)
	return Div(total, count)
}
