package memlayer

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
)

// adamGraphSteps runs steps of the rule in a graph on a [rows, dim] table,
// dense or in the sparse form, with the given learning rate per step.
func adamGraphSteps(t *testing.T, rule Adam, sparse bool, w []float32, rows, dim int, grads [][]float32, lrs []float64) []float32 {
	t.Helper()
	backend := testBackend(t)
	m, v := make([]float32, len(w)), make([]float32, len(w))
	w = slices.Clone(w)
	for step, g := range grads {
		outs := MustExecOnceN(backend, func(w, m, v, g, lr, tt *Node) []*Node {
			var nw, nm, nv *Node
			if sparse {
				nw, nm, nv = rule.SparseGraphStep(w, m, v, g, lr, tt)
			} else {
				nw, nm, nv = rule.GraphStep(w, m, v, g, lr, tt, true)
			}
			return []*Node{nw, nm, nv}
		}, tensors.FromFlatDataAndDimensions(w, rows, dim), tensors.FromFlatDataAndDimensions(m, rows, dim),
			tensors.FromFlatDataAndDimensions(v, rows, dim), tensors.FromFlatDataAndDimensions(g, rows, dim),
			float32(lrs[step]), float32(step+1))
		w, m, v = tensors.MustCopyFlatData[float32](outs[0]), tensors.MustCopyFlatData[float32](outs[1]), tensors.MustCopyFlatData[float32](outs[2])
	}
	return w
}

// sparseOf keeps the rows of a dense [rows, dim] gradient that are listed.
func sparseOf(dense []float32, dim int, rows []int32) *SparseRows {
	s := &SparseRows{Dim: dim, Rows: rows}
	for _, r := range rows {
		s.Grad = append(s.Grad, dense[int(r)*dim:(int(r)+1)*dim]...)
	}
	return s
}

// TestHostAdamEqualsSparseGraphStep: HostAdam's lazy rows and deferred decay
// give the table the graph's sparse form computes over every row, step by
// step, with a changing learning rate, rows read with an exactly zero
// gradient, and rows never read. Its first step also equals dense Adam.
func TestHostAdamEqualsSparseGraphStep(t *testing.T) {
	eachVectorLevel(t, func(t *testing.T) {
		for _, dim := range []int{3, 32} {
			const rows, steps = 12, 6
			rule := Adam{Beta1: 0.9, Beta2: 0.95, Epsilon: 1e-8, WeightDecay: 0.1}
			rng := rand.New(rand.NewPCG(7, uint64(dim)))
			init := randomFloat32(rng, rows*dim)
			var dense [][]float32
			var sparse []*SparseRows
			lrs := []float64{0.05, 0.1, 0.08, 0.02, 0.2, 0.1}
			for step := range steps {
				read := []int32{}
				for r := range int32(rows - 1) { // the last row is never read
					if rng.IntN(2) == 0 {
						read = append(read, r)
					}
				}
				g := make([]float32, rows*dim)
				for i, r := range read {
					if i == 0 && step%2 == 1 {
						continue // read, but its gradient is exactly zero
					}
					copy(g[int(r)*dim:], randomFloat32(rng, dim))
				}
				dense = append(dense, g)
				sparse = append(sparse, sparseOf(g, dim, read))
			}

			host := &HostValues{Rows: rows, Dim: dim, Data: slices.Clone(init)}
			opt := NewHostAdam(rule, 0)
			for step := range steps {
				opt.LR = lrs[step]
				if err := opt.Update(host, sparse[step], step+1); err != nil {
					t.Fatal(err)
				}
				if step == 0 {
					first := slices.Clone(host.Data)
					view := *opt // Sync on a copy: host keeps its pending decay
					view.RowDecayLog = slices.Clone(opt.RowDecayLog)
					view.Sync(&HostValues{Rows: rows, Dim: dim, Data: first})
					requireClose(t, "first step vs dense Adam", adamGraphSteps(t, rule, false, init, rows, dim, dense[:1], lrs), first, 1e-6)
				}
			}
			opt.Sync(host)
			want := adamGraphSteps(t, rule, true, init, rows, dim, dense, lrs)
			requireClose(t, "after six steps", want, host.Data, 1e-5)
			if slices.Equal(want, adamGraphSteps(t, rule, false, init, rows, dim, dense, lrs)) {
				t.Fatal("the sparse and dense forms agree on this data: the test does not tell them apart")
			}
		}
	})
}

func TestHostAdamRejects(t *testing.T) {
	values := &HostValues{Rows: 4, Dim: 2, Data: make([]float32, 8)}
	grad := &SparseRows{Dim: 2, Rows: []int32{1}, Grad: []float32{1, 1}}
	opt := NewHostAdam(DefaultAdam(), 0.1)
	if err := opt.Update(values, grad, 1); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, want string
		update     func() error
	}{
		{"same step twice", "one update per step", func() error { return opt.Update(values, grad, 1) }},
		{"row outside", "outside the table", func() error {
			return opt.Update(values, &SparseRows{Dim: 2, Rows: []int32{4}, Grad: []float32{1, 1}}, 2)
		}},
		{"other table", "one optimizer per table", func() error {
			return opt.Update(&HostValues{Rows: 5, Dim: 2, Data: make([]float32, 10)}, grad, 3)
		}},
		{"bad rule", "beta1=1", func() error {
			return NewHostAdam(Adam{Beta1: 1, Beta2: 0.9, Epsilon: 1e-8}, 0.1).Update(values, grad, 1)
		}},
	} {
		err := tc.update()
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: want a one-line error mentioning %q, got %v", tc.name, tc.want, err)
		}
	}
}

// TestMergeSparseRows sums gradients with overlapping rows.
func TestMergeSparseRows(t *testing.T) {
	a := &SparseRows{Dim: 2, Rows: []int32{1, 4, 7}, Grad: []float32{1, 1, 2, 2, 3, 3}}
	b := &SparseRows{Dim: 2, Rows: []int32{0, 4}, Grad: []float32{5, 5, 10, 20}}
	var dst SparseRows
	MergeSparseRows(&dst, a, b)
	if !slices.Equal(dst.Rows, []int32{0, 1, 4, 7}) || !slices.Equal(dst.Grad, []float32{5, 5, 1, 1, 12, 22, 3, 3}) {
		t.Fatalf("merged rows %v grad %v", dst.Rows, dst.Grad)
	}
	for i, g := range a.Dense(8) {
		if got := dst.Dense(8)[i]; got != g+b.Dense(8)[i] {
			t.Fatalf("element %d: %g, want %g", i, got, g+b.Dense(8)[i])
		}
	}
}
