package memlayer

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/support/exceptions"
)

// ProductKeySearch finds, for every query and head, the knn slots whose full
// key [K1[i]; K2[j]] scores highest against the query (paper §3, Lample 2019).
//
// queries is [T, Heads, KDim]; keys is [Heads, 2, NKeys, KDim/2] (the two
// sub-key tables per head). It returns scores [T, Heads, knn], differentiable
// in queries and keys, and indices [T, Heads, knn] (int32, slot i·NKeys+j),
// both in descending order of score.
//
// The search never scores all NKeys² keys: it takes the top-knn of each half,
// then merges the knn sorted lists s1[a]+s2[b] (b = 0, 1, …) by always taking
// the largest list head. That merge costs O(knn²) per query instead of the
// O(knn² log) of scoring every pair, and returns exactly the brute-force top-k.
func ProductKeySearch(queries, keys *Node, knn int) (scores, indices *Node) {
	qDims := queries.Shape().Dimensions
	kDims := keys.Shape().Dimensions
	if len(qDims) != 3 || len(kDims) != 4 || kDims[1] != 2 || kDims[0] != qDims[1] || 2*kDims[3] != qDims[2] {
		exceptions.Panicf("memlayer.ProductKeySearch: queries %s and keys %s must be [T, H, KDim] and [H, 2, NKeys, KDim/2]",
			queries.Shape(), keys.Shape())
	}
	t, h, kDim := qDims[0], qDims[1], qDims[2]
	nKeys, half := kDims[2], kDim/2

	// Half scores: [T, H, 2, NKeys].
	halves := Reshape(queries, t, h, 2, half)
	halfScores := Einsum("thpd,hpnd->thpn", halves, keys)

	// Top-knn of each half, sorted: values and indices [T, H, 2, knn].
	halfIdx := TopKIndices(halfScores, knn)
	halfTop := TakeAlongLastAxis(StopGradient(halfScores), halfIdx)
	s1 := Squeeze(Slice(halfTop, AxisRange(), AxisRange(), AxisElem(0)), 2)
	s2 := Squeeze(Slice(halfTop, AxisRange(), AxisRange(), AxisElem(1)), 2)
	i1 := Squeeze(Slice(halfIdx, AxisRange(), AxisRange(), AxisElem(0)), 2)
	i2 := Squeeze(Slice(halfIdx, AxisRange(), AxisRange(), AxisElem(1)), 2)

	a, b := mergeSortedSums(s1, s2, knn)
	first := TakeAlongLastAxis(i1, a)  // [T, H, knn] index into K1
	second := TakeAlongLastAxis(i2, b) // [T, H, knn] index into K2
	indices = Add(MulScalar(first, float64(nKeys)), second)

	// Differentiable scores of the chosen pairs.
	s1All := Squeeze(Slice(halfScores, AxisRange(), AxisRange(), AxisElem(0)), 2)
	s2All := Squeeze(Slice(halfScores, AxisRange(), AxisRange(), AxisElem(1)), 2)
	scores = Add(TakeAlongLastAxis(s1All, first), TakeAlongLastAxis(s2All, second))
	return scores, indices
}

// mergeSortedSums returns the positions (a, b) into s1 and s2 of the knn
// largest sums s1[a]+s2[b], largest first. s1 and s2 are [..., knn], each
// sorted in descending order. Each of the knn lists "a" is s1[a]+s2[0..knn)
// in descending order; a pointer per list tracks its next unread element.
func mergeSortedSums(s1, s2 *Node, knn int) (a, b *Node) {
	s1, s2 = StopGradient(s1), StopGradient(s2)
	g := s1.Graph()
	dims := s1.Shape().Dimensions
	lists := Iota(g, shapesOf(dtypes.Int32, dims...), len(dims)-1)
	next := Zeros(g, shapesOf(dtypes.Int32, dims...))
	as := make([]*Node, 0, knn)
	bs := make([]*Node, 0, knn)
	for round := range knn {
		heads := Add(s1, TakeAlongLastAxis(s2, next))
		best := InsertAxes(ArgMax(heads, -1, dtypes.Int32), -1) // [..., 1]
		as = append(as, best)
		bs = append(bs, TakeAlongLastAxis(next, best))
		if round < knn-1 {
			// After r rounds no pointer exceeds r, so next stays < knn.
			next = Add(next, ConvertDType(Equal(lists, best), dtypes.Int32))
		}
	}
	return Concatenate(as, -1), Concatenate(bs, -1)
}
