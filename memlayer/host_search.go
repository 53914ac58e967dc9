package memlayer

import (
	"fmt"
	"math"
)

// HostLookup is a product-key lookup done on the host, from the sub-key
// scores that the graph computed (HalfScores). For each of Tokens·Heads
// queries it holds the KNN chosen slots in descending order of score.
//
// It makes exactly the choices of ProductKeySearch (same tie-breaking: the
// lower index wins), so the host path and the graph path read the same rows.
// Every slice is [Tokens, Heads, KNN], flattened.
type HostLookup struct {
	Tokens, Heads, KNN, NKeys int
	// First and Second are the chosen positions in the two sub-key tables;
	// Indices = First·NKeys + Second is the slot (the value-table row).
	First, Second, Indices []int32
	// Scores are s1[First] + s2[Second]; Weights their softmax per query.
	Scores, Weights []float32
}

// SearchOnHost runs the sparse half of a lookup on halfScores, the
// [heads, 2, tokens, nKeys] sub-key scores (row-major, as HalfScores lays
// them out): top-knn of each half,
// the exact merge of the knn² sums, and the softmax. Queries are split
// between the machine's cores.
func SearchOnHost(halfScores []float32, tokens, heads, nKeys, knn int) (*HostLookup, error) {
	if knn < 1 || knn > nKeys {
		return nil, fmt.Errorf("memlayer: knn=%d must be in 1..n_keys (n_keys=%d)", knn, nKeys)
	}
	if want := tokens * heads * 2 * nKeys; len(halfScores) != want {
		return nil, fmt.Errorf("memlayer: half scores have %d values, want tokens·heads·2·n_keys = %d", len(halfScores), want)
	}
	n := tokens * heads * knn
	l := &HostLookup{
		Tokens: tokens, Heads: heads, KNN: knn, NKeys: nKeys,
		First: make([]int32, n), Second: make([]int32, n), Indices: make([]int32, n),
		Scores: make([]float32, n), Weights: make([]float32, n),
	}
	parallelFor(tokens*heads, func(lo, hi int) {
		var s searcher
		s.init(knn)
		for query := lo; query < hi; query++ {
			s1, s2 := l.halfRows(query)
			s.search(l, query, halfScores[s1:s1+nKeys], halfScores[s2:s2+nKeys])
		}
	})
	return l, nil
}

// halfRows returns where query's two rows of sub-key scores start in the
// [Heads, 2, Tokens, NKeys] layout; query = token·Heads + head.
func (l *HostLookup) halfRows(query int) (first, second int) {
	t, h := query/l.Heads, query%l.Heads
	first = ((h*2)*l.Tokens + t) * l.NKeys
	return first, first + l.Tokens*l.NKeys
}

// searcher holds one worker's scratch space.
type searcher struct {
	knn              int
	top1, top2       []float32 // the sorted top-knn of each half
	idx1, idx2       []int32
	next             []int32 // per list a: the next unread position b in list a (s1[a]+s2[b])
	mergedA, mergedB []int32
}

func (s *searcher) init(knn int) {
	s.knn = knn
	s.top1, s.top2 = make([]float32, knn), make([]float32, knn)
	s.idx1, s.idx2 = make([]int32, knn), make([]int32, knn)
	s.next = make([]int32, knn)
	s.mergedA, s.mergedB = make([]int32, knn), make([]int32, knn)
}

// search fills query's KNN entries of l from its two halves' scores.
func (s *searcher) search(l *HostLookup, query int, scores1, scores2 []float32) {
	knn, nKeys := s.knn, l.NKeys
	topK(scores1, s.top1, s.idx1)
	topK(scores2, s.top2, s.idx2)

	// Merge the knn sorted lists s1[a]+s2[0..knn): take the largest head each
	// round (lowest list on ties, like ArgMax in ProductKeySearch).
	clear(s.next)
	for round := range knn {
		best := 0
		bestSum := s.top1[0] + s.top2[s.next[0]]
		for a := 1; a < knn; a++ {
			if sum := s.top1[a] + s.top2[s.next[a]]; sum > bestSum {
				best, bestSum = a, sum
			}
		}
		s.mergedA[round], s.mergedB[round] = int32(best), s.next[best]
		if round < knn-1 { // after r rounds no pointer exceeds r
			s.next[best]++
		}
	}

	out := query * knn
	maxScore := float32(math.Inf(-1))
	for k := range knn {
		a, b := s.mergedA[k], s.mergedB[k]
		first, second := s.idx1[a], s.idx2[b]
		score := scores1[first] + scores2[second]
		l.First[out+k], l.Second[out+k] = first, second
		l.Indices[out+k] = first*int32(nKeys) + second
		l.Scores[out+k] = score
		maxScore = max(maxScore, score)
	}
	// Softmax in float32, shifted by the maximum.
	var sum float32
	for k := range knn {
		e := float32(math.Exp(float64(l.Scores[out+k] - maxScore)))
		l.Weights[out+k] = e
		sum += e
	}
	for k := range knn {
		l.Weights[out+k] /= sum
	}
}

// topKScalar writes the k = len(vals) largest entries of x into vals
// (descending) and their positions into idx; on ties the lower position comes
// first. topK is the same with a vector pre-filter where the CPU has one.
func topKScalar(x []float32, vals []float32, idx []int32) {
	k := len(vals)
	for i := range k { // the first k entries, insertion-sorted
		j := i
		for j > 0 && vals[j-1] < x[i] {
			vals[j], idx[j] = vals[j-1], idx[j-1]
			j--
		}
		vals[j], idx[j] = x[i], int32(i)
	}
	for i := k; i < len(x); i++ {
		insertTop(vals, idx, x[i], int32(i))
	}
}

// insertTop inserts (v, i) into the descending list vals if v is strictly
// greater than its last entry (so an earlier equal entry keeps its place).
func insertTop(vals []float32, idx []int32, v float32, i int32) {
	k := len(vals)
	if !(v > vals[k-1]) {
		return
	}
	j := k - 1
	for j > 0 && vals[j-1] < v {
		vals[j], idx[j] = vals[j-1], idx[j-1]
		j--
	}
	vals[j], idx[j] = v, i
}

// QueryKeyGrads backpropagates dWeights, the gradient of the loss with
// respect to the weights ([Tokens, Heads, KNN]), through the softmax and the
// chosen scores S = q_p·K_p[i] into the query halves and the sub-keys:
// halves is [Heads, 2, Tokens, half] and keys [Heads, 2, NKeys, half], as
// queryHalvesAndKeys lays them out; dHalves and dKeys (same shapes, zeroed)
// receive the gradients. Only the chosen pairs contribute, so the cost is
// O(Tokens·Heads·KNN·half), never a dense [Heads, 2, Tokens, NKeys] tensor.
func (l *HostLookup) QueryKeyGrads(dWeights, halves, keys, dHalves, dKeys []float32) {
	knn, nKeys, tokens, heads := l.KNN, l.NKeys, l.Tokens, l.Heads
	half := len(keys) / (heads * 2 * nKeys)
	// Softmax backward: the gradient of each chosen score.
	ds := make([]float32, len(dWeights))
	parallelFor(tokens*heads, func(lo, hi int) {
		for base := lo * knn; base < hi*knn; base += knn {
			w, dw := l.Weights[base:base+knn], dWeights[base:base+knn]
			var dot float32
			for k := range knn {
				dot += w[k] * dw[k]
			}
			for k := range knn {
				ds[base+k] = w[k] * (dw[k] - dot)
			}
		}
	})
	// S = q·K[n] for each chosen (token, head, half): dq += ds·K[n] and
	// dK[n] += ds·q. Work is split by (head, half), whose sub-key table
	// (NKeys·half floats) stays in cache and belongs to one worker alone.
	parallelFor(heads*2, func(lo, hi int) {
		for hp := lo; hp < hi; hp++ {
			h, p := hp/2, hp%2
			chosen := l.First
			if p == 1 {
				chosen = l.Second
			}
			kTable, dkTable := keys[hp*nKeys*half:(hp+1)*nKeys*half], dKeys[hp*nKeys*half:(hp+1)*nKeys*half]
			for t := range tokens {
				row := (hp*tokens + t) * half
				q, dq := halves[row:row+half], dHalves[row:row+half]
				base := (t*heads + h) * knn
				for k, n := range chosen[base : base+knn] {
					axpy(ds[base+k], kTable[int(n)*half:(int(n)+1)*half], dq)
					axpy(ds[base+k], q, dkTable[int(n)*half:(int(n)+1)*half])
				}
			}
		}
	})
}
