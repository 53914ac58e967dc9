package memlayer

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestRowMath checks axpy and dot against plain float64 loops at lengths that
// exercise the vector bodies and the scalar tails.
func TestRowMath(t *testing.T) {
	eachVectorLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(1, 1))
		for _, n := range []int{0, 1, 7, 8, 15, 16, 17, 33, 64, 128, 256, 259} {
			x, y := randomFloat32(rng, n), randomFloat32(rng, n)
			var want float64
			for i := range x {
				want += float64(x[i]) * float64(y[i])
			}
			if got := dot(x, y); math.Abs(float64(got)-want) > 1e-4*math.Max(1, math.Abs(want)) {
				t.Errorf("n=%d: dot %g, want %g", n, got, want)
			}
			if n > 0 { // weightedRowSum: three rows of n floats from a 5-row table
				table := randomFloat32(rng, 5*n)
				idx, w := []int32{4, 0, 4}, []float32{0.5, -1, 2}
				got := make([]float32, n)
				weightedRowSum(table, idx, w, got)
				for i := range got {
					var want float64
					for j, r := range idx {
						want += float64(w[j]) * float64(table[int(r)*n+i])
					}
					if math.Abs(float64(got[i])-want) > 1e-5 {
						t.Fatalf("n=%d: weightedRowSum[%d] = %g, want %g", n, i, got[i], want)
					}
				}
				idx = []int32{4, 0, 4, 2, 1, 3} // rowDots: four rows side by side, then a tail
				dots := make([]float32, len(idx))
				rowDots(table, idx, x, dots, make([]float32, 16*len(idx)))
				for j, r := range idx {
					var want float64
					for i := range n {
						want += float64(x[i]) * float64(table[int(r)*n+i])
					}
					if math.Abs(float64(dots[j])-want) > 1e-4*math.Max(1, math.Abs(want)) {
						t.Fatalf("n=%d: rowDots[%d] = %g, want %g", n, j, dots[j], want)
					}
				}
			}
			z := append([]float32(nil), y...)
			axpy(0.5, x, z)
			for i := range z {
				if w := y[i] + 0.5*x[i]; math.Abs(float64(z[i]-w)) > 1e-6 {
					t.Fatalf("n=%d: axpy[%d] = %g, want %g", n, i, z[i], w)
				}
			}
		}
	})
}

// TestTopK compares topK with a stable sort by descending value (ties: lower
// position first) on long rows, with and without ties.
func TestTopK(t *testing.T) {
	eachVectorLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(4, 4))
		for _, n := range []int{5, 40, 100, 512, 1000} {
			for _, grid := range []float32{0, 0.5} {
				x := randomFloat32(rng, n)
				if grid > 0 {
					for i := range x {
						x[i] = float32(math.Round(float64(x[i]/grid))) * grid
					}
				}
				order := make([]int32, n)
				for i := range order {
					order[i] = int32(i)
				}
				slices.SortStableFunc(order, func(a, b int32) int {
					switch {
					case x[a] > x[b]:
						return -1
					case x[a] < x[b]:
						return 1
					}
					return 0
				})
				for _, k := range []int{1, 3, min(32, n)} {
					vals, idx := make([]float32, k), make([]int32, k)
					topK(x, vals, idx)
					if !slices.Equal(idx, order[:k]) {
						t.Fatalf("n=%d k=%d grid=%g: topK %v, want %v", n, k, grid, idx, order[:k])
					}
				}
			}
		}
	})
}

// TestAdamRows compares the vector Adam step with the scalar one over two
// steps, on rows 2 and 0 of a 3-row table (row 1 must not move).
func TestAdamRows(t *testing.T) {
	eachVectorLevel(t, func(t *testing.T) {
		rng := rand.New(rand.NewPCG(5, 5))
		for _, d := range []int{3, 16, 48, 256} {
			w, g := randomFloat32(rng, 3*d), randomFloat32(rng, 2*d)
			w2 := slices.Clone(w)
			m, v, m2, v2 := make([]float32, 3*d), make([]float32, 3*d), make([]float32, 3*d), make([]float32, 3*d)
			rows := []int32{2, 0}
			for step := 1; step <= 2; step++ {
				k := adamConsts{b1: 0.9, b2: 0.999, c1: float32(1 - math.Pow(0.9, float64(step))),
					c2: float32(1 - math.Pow(0.999, float64(step))), lr: 0.01, eps: 1e-8}
				decay := []float32{0.99, 0.98}
				adamRows(w, m, v, d, rows, []int32{0, 1}, g, decay, k)
				for u, r := range rows {
					s := int(r) * d
					adamRowScalar(w2[s:s+d], m2[s:s+d], v2[s:s+d], g[u*d:(u+1)*d], decay[u], k)
				}
			}
			for i := range w {
				if math.Abs(float64(w[i]-w2[i])) > 1e-6 || math.Abs(float64(v[i]-v2[i])) > 1e-6 {
					t.Fatalf("d=%d [%d]: vector w %g v %g, scalar w %g v %g", d, i, w[i], v[i], w2[i], v2[i])
				}
			}
		}
	})
}

// TestSortByRow compares the radix sort with a stable sort on the row.
func TestSortByRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(6, 6))
	for _, maxRow := range []int{1, 7, 70000, 1<<31 - 1} {
		keys := make([]uint64, 5000)
		for e := range keys {
			keys[e] = uint64(rng.IntN(maxRow))<<32 | uint64(e)
		}
		want := slices.Clone(keys)
		slices.SortStableFunc(want, func(a, b uint64) int { return cmp.Compare(a>>32, b>>32) })
		sortByRow(keys)
		if !slices.Equal(keys, want) {
			t.Fatalf("max row %d: radix order differs from a stable sort by row", maxRow)
		}
	}
}
