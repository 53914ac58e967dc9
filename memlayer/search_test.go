package memlayer

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// bruteForceTopK scores all nKeys² full keys [K1[i]; K2[j]] of one head and
// returns the k best (score, index), best first.
func bruteForceTopK(q, k1, k2 []float64, nKeys, half, k int) ([]float64, []int32) {
	type cand struct {
		score float64
		idx   int32
	}
	all := make([]cand, 0, nKeys*nKeys)
	for i := range nKeys {
		var s1 float64
		for d := range half {
			s1 += q[d] * k1[i*half+d]
		}
		for j := range nKeys {
			var s2 float64
			for d := range half {
				s2 += q[half+d] * k2[j*half+d]
			}
			all = append(all, cand{s1 + s2, int32(i*nKeys + j)})
		}
	}
	sort.SliceStable(all, func(a, b int) bool { return all[a].score > all[b].score })
	scores := make([]float64, k)
	idx := make([]int32, k)
	for i := range k {
		scores[i], idx[i] = all[i].score, all[i].idx
	}
	return scores, idx
}

func TestProductKeySearchEqualsBruteForce(t *testing.T) {
	backend := testBackend(t)
	for _, tc := range []struct{ tokens, heads, kDim, nKeys, knn int }{
		{5, 1, 4, 4, 1},
		{7, 2, 8, 8, 3},
		{6, 3, 6, 16, 16}, // knn = n_keys: every half-key survives stage one
		{9, 2, 16, 32, 8},
		{4, 4, 32, 64, 32},
	} {
		rng := rand.New(rand.NewPCG(uint64(tc.nKeys), uint64(tc.knn)))
		half := tc.kDim / 2
		q := randomSlice(rng, tc.tokens*tc.heads*tc.kDim, 1)
		keys := randomSlice(rng, tc.heads*2*tc.nKeys*half, 1)
		qT := tensors.FromFlatDataAndDimensions(q, tc.tokens, tc.heads, tc.kDim)
		kT := tensors.FromFlatDataAndDimensions(keys, tc.heads, 2, tc.nKeys, half)
		outs, err := MustNewExec(backend, func(q, k *Node) (*Node, *Node) {
			return ProductKeySearch(q, k, tc.knn)
		}).Exec(qT, kT)
		if err != nil {
			t.Fatalf("%+v: %v", tc, err)
		}
		gotScores := tensors.MustCopyFlatData[float64](outs[0])
		gotIdx := tensors.MustCopyFlatData[int32](outs[1])
		for tok := range tc.tokens {
			for h := range tc.heads {
				qv := q[(tok*tc.heads+h)*tc.kDim:][:tc.kDim]
				k1 := keys[(h*2)*tc.nKeys*half:][:tc.nKeys*half]
				k2 := keys[(h*2+1)*tc.nKeys*half:][:tc.nKeys*half]
				wantScores, wantIdx := bruteForceTopK(qv, k1, k2, tc.nKeys, half, tc.knn)
				off := (tok*tc.heads + h) * tc.knn
				for i := range tc.knn {
					if gotIdx[off+i] != wantIdx[i] || math.Abs(gotScores[off+i]-wantScores[i]) > 1e-9 {
						t.Fatalf("%+v token %d head %d rank %d: got (%d, %.12f), brute force (%d, %.12f)",
							tc, tok, h, i, gotIdx[off+i], gotScores[off+i], wantIdx[i], wantScores[i])
					}
				}
			}
		}
	}
}

func TestTopKIndices(t *testing.T) {
	backend := testBackend(t)
	x := [][]float32{{3, 1, 4, 1, 5, 9, 2, 6}, {0, 0, 0, 1, 1, 0, 0, 0}}
	out, err := MustNewExec(backend, func(x *Node) *Node { return TopKIndices(x, 4) }).Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	got := out[0].Value().([][]int32)
	want := [][]int32{{5, 7, 4, 2}, {3, 4, 0, 1}} // ties go to the lower index
	for r := range want {
		for i := range want[r] {
			if got[r][i] != want[r][i] {
				t.Fatalf("row %d: got %v, want %v", r, got[r], want[r])
			}
		}
	}
}
