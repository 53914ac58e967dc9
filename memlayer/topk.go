package memlayer

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// TopKIndices returns the indices (int32) of the k largest values along the last
// axis of x, in descending order of value; ties go to the lower index.
//
// Selection is not differentiable (it is taken under StopGradient); gather the
// chosen scores with TakeAlongLastAxis to get gradients. It runs k rounds of
// ArgMax with masking, because GoMLX's graph.TopK is a full sort whose
// comparator is interpreted per element on the pure-Go backend (far too slow
// for a training step) and has no gradient anyway.
func TopKIndices(x *Node, k int) *Node {
	x = StopGradient(x)
	g := x.Graph()
	dims := x.Shape().Dimensions
	n := dims[len(dims)-1]
	if k < 1 || k > n {
		exceptions.Panicf("memlayer.TopKIndices: k=%d must be in 1..%d (size of the last axis)", k, n)
	}
	positions := Iota(g, shapesOf(dtypes.Int32, dims...), len(dims)-1)
	negInf := Infinity(g, x.DType(), -1)
	picks := make([]*Node, 0, k)
	for round := range k {
		best := ArgMax(x, -1, dtypes.Int32)
		picks = append(picks, best)
		if round < k-1 {
			x = Where(Equal(positions, InsertAxes(best, -1)), negInf, x)
		}
	}
	return Stack(picks, -1)
}

// TakeAlongLastAxis returns out[..., j] = x[..., idx[..., j]]: x is [..., n] and
// idx is [..., k] with the same leading axes. It is differentiable in x.
func TakeAlongLastAxis(x, idx *Node) *Node {
	xDims := x.Shape().Dimensions
	idxDims := idx.Shape().Dimensions
	n := xDims[len(xDims)-1]
	k := idxDims[len(idxDims)-1]
	rows := x.Shape().Size() / n
	flat := Reshape(x, rows*n, 1)
	rowStart := MulScalar(Iota(x.Graph(), shapesOf(idx.DType(), rows, k), 0), float64(n))
	offsets := Add(Reshape(idx, rows, k), rowStart)
	out := Gather(flat, InsertAxes(offsets, -1)) // [rows, k, 1]
	return Reshape(out, idxDims...)
}
