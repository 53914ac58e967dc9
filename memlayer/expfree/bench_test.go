package expfree

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"

	"github.com/memlayers/memlayers/internal/testbackend"
)

// BenchmarkTokenNLL: a language model's output layer, forward and backward —
// logits = h·W for 64 windows of 60 tokens, width 32, 340 words (the memorize
// sweep's tiny base) and the gradient of their mean NLL with respect to W —
// with GoMLX's LogSoftmax and with TokenNLL. The ratio of the two is the
// point; run both in one invocation (the machine is shared).
func BenchmarkTokenNLL(b *testing.B) {
	const tokens, dim, vocab = 64 * 60, 32, 340
	rng := rand.New(rand.NewPCG(1, 2))
	fill := func(n int) []float32 {
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(rng.NormFloat64())
		}
		return x
	}
	h := tensors.FromFlatDataAndDimensions(fill(tokens*dim), tokens, dim)
	w := tensors.FromFlatDataAndDimensions(fill(dim*vocab), dim, vocab)
	nlls := map[string]func(logits, targets *graph.Node) *graph.Node{"gomlx": logSoftmaxNLL, "expfree": TokenNLL}
	for _, name := range []string{"gomlx", "expfree"} {
		nll := nlls[name]
		b.Run(name, func(b *testing.B) {
			exec := graph.MustNewExec(testbackend.Get(b), func(h, w *graph.Node) *graph.Node {
				targets := graph.ModScalar(graph.Iota(h.Graph(), shapes.Make(dtypes.Int32, tokens), 0), vocab)
				loss := graph.ReduceAllMean(nll(graph.Dot(h, w).Product(), targets))
				return graph.Gradient(loss, w)[0]
			})
			for b.Loop() {
				if _, err := exec.Exec(h, w); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
