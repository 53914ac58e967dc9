package memlayer

import (
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
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
	return searchTokenMajor(halfScoresTokenMajor(queries, keys), knn)
}

// Two layouts of the sub-key scores meet in this package. The graph path
// keeps them token-major, [T, Heads, 2, NKeys], next to its queries
// [T, Heads, KDim]. The host path lays them out head-major, [Heads, 2, T,
// NKeys], so that each (head, half) is one plain matrix product whose large
// result needs no transpose; its query halves are [Heads, 2, T, KDim/2].
// Names below say which layout they take or return.

// searchTokenMajor is ProductKeySearch from token-major sub-key scores
// [T, H, 2, NKeys]: the top-knn of each half, then their exact merge.
func searchTokenMajor(halfScores *Node, knn int) (scores, indices *Node) {
	nKeys := halfScores.Shape().Dimensions[3]

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

// halfScoresTokenMajor scores each half of every query against its sub-key
// table: queries [T, H, KDim] and keys [H, 2, NKeys, KDim/2] give [T, H, 2, NKeys].
func halfScoresTokenMajor(queries, keys *Node) *Node {
	qDims := queries.Shape().Dimensions
	t, h, half := qDims[0], qDims[1], qDims[2]/2
	return Einsum("thpd,hpnd->thpn", Reshape(queries, t, h, 2, half), keys)
}

// HostScores is the graph half of a host-path lookup (see HostBag): for x
// ([..., dim], T = number of input vectors) it applies the layer's query
// projection and returns the head-major sub-key scores [Heads, 2, T, NKeys],
// the query halves [Heads, 2, T, KDim/2] and the sub-keys [Heads, 2, NKeys,
// KDim/2] (after qk-norm when the config asks for it); the host needs the
// last two for the gradients of the chosen scores.
func HostScores(scope *model.Scope, x *Node, cfg Config) (scores, halves, keys *Node) {
	halves, keys = queryHalvesHeadMajor(scope, x, cfg)
	return halfScoresHeadMajor(halves, keys), halves, keys
}

// halfScoresHeadMajor multiplies query halves [H, 2, T, KDim/2] with sub-keys
// [H, 2, NKeys, KDim/2]: one matrix product per (head, half).
func halfScoresHeadMajor(halves, keys *Node) *Node { return Einsum("hptd,hpnd->hptn", halves, keys) }

// queryHalvesHeadMajor returns the query halves [Heads, 2, T, KDim/2] and the
// sub-keys [Heads, 2, NKeys, KDim/2] of x.
func queryHalvesHeadMajor(scope *model.Scope, x *Node, cfg Config) (halves, keys *Node) {
	if err := cfg.Validate(); err != nil {
		exceptions.Panicf("%v", err)
	}
	dim := x.Shape().Dimensions[x.Rank()-1]
	tokens := x.Shape().Size() / dim
	_, q, keys := queriesTokenMajor(scope, Reshape(x, tokens, dim), cfg)
	halves = TransposeAllDims(Reshape(q, tokens, cfg.Heads, 2, cfg.KDim/2), 1, 2, 0, 3)
	return halves, keys
}

// HostScoresVJP returns a scalar whose gradient with respect to x and the
// layer's variables is the backpropagation of dHalves and dKeys, the loss's
// gradients with respect to HostScores' halves and keys (held constant):
// Σ halves⊙dHalves + Σ keys⊙dKeys.
func HostScoresVJP(scope *model.Scope, x, dHalves, dKeys *Node, cfg Config) *Node {
	halves, keys := queryHalvesHeadMajor(scope, x, cfg)
	return Add(ReduceAllSum(Mul(halves, dHalves)), ReduceAllSum(Mul(keys, dKeys)))
}
