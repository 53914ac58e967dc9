package memlayer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
)

// HostValues is a value table kept in host memory, owned by the project
// rather than by the graph: Rows rows of Dim float32, row-major in Data.
//
// On the pure-Go backend, row movement inside the graph (Gather, ScatterSum)
// copies one element at a time and the gradient of a table variable is dense
// (the whole table, every step). Held here, a bag reads whole contiguous rows
// in parallel, and the gradient and the optimizer touch only the rows a batch
// read, so a step's cost no longer grows with the table (paper §3; the same
// idea as recommendation systems' host-memory embedding tables).
type HostValues struct {
	Rows, Dim int
	Data      []float32
}

// NewHostValues returns a rows×dim table initialised N(0, dim^-½) like the
// graph's value table (from its own seeded generator, so not the same draws).
func NewHostValues(rows, dim int, seed uint64) (*HostValues, error) {
	if rows < 1 || dim < 1 {
		return nil, fmt.Errorf("memlayer: host value table %d×%d: rows and dim must be >= 1", rows, dim)
	}
	v := &HostValues{Rows: rows, Dim: dim, Data: make([]float32, rows*dim)}
	adviseHugePages(v.Data)
	std := 1 / math.Sqrt(float64(dim))
	parallelFor(rows, func(lo, hi int) {
		rng := rand.New(rand.NewPCG(seed, uint64(lo)))
		for i := lo * dim; i < hi*dim; i++ {
			v.Data[i] = float32(rng.NormFloat64() * std)
		}
	})
	return v, nil
}

// HostValuesFromTensor copies a [rows, dim] float32 tensor (e.g. the value
// table variable of a graph layer) into host memory.
func HostValuesFromTensor(t *tensors.Tensor) (*HostValues, error) {
	if t.DType() != dtypes.Float32 || t.Rank() != 2 {
		return nil, fmt.Errorf("memlayer: host value table from tensor %s: want a float32 [rows, dim] tensor", t.Shape())
	}
	data := make([]float32, t.Shape().Size())
	adviseHugePages(data)
	if err := tensors.ConstFlatData(t, func(flat []float32) { copy(data, flat) }); err != nil {
		return nil, fmt.Errorf("memlayer: host value table: %w", err)
	}
	return &HostValues{Rows: t.Shape().Dimensions[0], Dim: t.Shape().Dimensions[1], Data: data}, nil
}

// Tensor returns a copy of the table as a [Rows, Dim] tensor.
func (v *HostValues) Tensor() *tensors.Tensor {
	return tensors.FromFlatDataAndDimensions(slices.Clone(v.Data), v.Rows, v.Dim)
}

// Row returns row r (a slice of Data, not a copy).
func (v *HostValues) Row(r int32) []float32 { return v.Data[int(r)*v.Dim : (int(r)+1)*v.Dim] }

// Bag computes out[t] = Σ_j weights[t·bag+j] · V[indices[t·bag+j]] for every
// token t, with out [tokens, Dim] (overwritten). Tokens are split between the
// cores; each reads whole rows.
func (v *HostValues) Bag(indices []int32, weights []float32, bag int, out []float32) {
	tokens := len(indices) / bag
	d := v.Dim
	parallelFor(tokens, func(lo, hi int) {
		for t := lo; t < hi; t++ {
			weightedRowSum(v.Data, indices[t*bag:(t+1)*bag], weights[t*bag:(t+1)*bag], out[t*d:(t+1)*d])
		}
	})
}

// SparseRows is the gradient of a value table restricted to the rows a batch
// read: Rows are sorted and distinct, Grad holds one Dim-long row each.
type SparseRows struct {
	Dim  int
	Rows []int32
	Grad []float32
}

// Dense returns the full rows×Dim gradient (zero for untouched rows); for tests.
func (s *SparseRows) Dense(rows int) []float32 {
	out := make([]float32, rows*s.Dim)
	for i, r := range s.Rows {
		copy(out[int(r)*s.Dim:], s.Grad[i*s.Dim:(i+1)*s.Dim])
	}
	return out
}

// BagBackward returns dWeights, the gradient of a bag's weights given
// dOut = dLoss/dout ([tokens, Dim]): dWeights[t·bag+j] = dOut[t]·V[indices[t·bag+j]].
// It writes the table's gradient into grad: the touched rows, sorted, each
// the sum of weights·dOut[t] over its reads. grad's slices are reused (so
// that a step does not allocate, and the OS zero and map, a fresh gradient
// each time); each caller keeps its own. The cost is O(tokens·bag·Dim),
// whatever the table size.
func (v *HostValues) BagBackward(indices []int32, weights []float32, bag int, dOut []float32, grad *SparseRows) (dWeights []float32) {
	tokens := len(indices) / bag
	d := v.Dim
	dWeights = make([]float32, len(indices))
	parallelFor(tokens, func(lo, hi int) {
		scratch := make([]float32, 16*bag)
		for t := lo; t < hi; t++ {
			rowDots(v.Data, indices[t*bag:(t+1)*bag], dOut[t*d:(t+1)*d], dWeights[t*bag:(t+1)*bag], scratch)
		}
	})

	sparseRowGradient(indices, weights, bag, dOut, d, grad)
	return dWeights
}

// sparseRowGradient writes into grad the gradient of a table read by a bag
// (indices and weights, bag reads per token) given dOut ([tokens, d]): for
// each touched row, sorted, Σ weights·dOut[t] over its reads.
func sparseRowGradient(indices []int32, weights []float32, bag int, dOut []float32, d int, grad *SparseRows) {
	// Group the reads by row: (row, read) pairs packed in one uint64, sorted by row.
	reads := make([]uint64, len(indices))
	for e, r := range indices {
		reads[e] = uint64(r)<<32 | uint64(e)
	}
	sortByRow(reads)
	var starts []int // starts[u] is the first read of the u-th distinct row
	grad.Dim, grad.Rows = d, grad.Rows[:0]
	for e, key := range reads {
		if r := int32(key >> 32); e == 0 || r != grad.Rows[len(grad.Rows)-1] {
			grad.Rows = append(grad.Rows, r)
			starts = append(starts, e)
		}
	}
	starts = append(starts, len(reads))
	// Each touched row's gradient is the weighted sum of the dOut rows of the
	// tokens that read it: the bag's own kernel, over dOut.
	readTok := make([]int32, len(reads))
	readW := make([]float32, len(reads))
	for i, key := range reads {
		e := int(uint32(key))
		readTok[i], readW[i] = int32(e/bag), weights[e]
	}
	grad.Grad = grow(grad.Grad, len(grad.Rows)*d) // every row is overwritten below
	parallelFor(len(grad.Rows), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			s, e := starts[u], starts[u+1]
			weightedRowSum(dOut, readTok[s:e], readW[s:e], grad.Grad[u*d:(u+1)*d])
		}
	})
}

// MergeSparseRows writes the sum of grads (same Dim, rows sorted) into dst,
// reusing dst's slices: the gradient of a table that several layers read.
// dst must not be one of grads.
func MergeSparseRows(dst *SparseRows, grads ...*SparseRows) {
	dst.Rows, dst.Grad = dst.Rows[:0], dst.Grad[:0]
	if len(grads) == 0 {
		return
	}
	d := grads[0].Dim
	dst.Dim = d
	next := make([]int, len(grads)) // next unread row of each gradient
	zeros := make([]float32, d)
	for {
		row := int32(-1)
		for i, g := range grads {
			if next[i] < len(g.Rows) && (row < 0 || g.Rows[next[i]] < row) {
				row = g.Rows[next[i]]
			}
		}
		if row < 0 {
			return
		}
		dst.Rows = append(dst.Rows, row)
		n := len(dst.Grad)
		dst.Grad = append(dst.Grad, zeros...)
		sum := dst.Grad[n : n+d]
		for i, g := range grads {
			if next[i] < len(g.Rows) && g.Rows[next[i]] == row {
				axpy(1, g.Grad[next[i]*d:(next[i]+1)*d], sum)
				next[i]++
			}
		}
	}
}

// grow returns s resized to n, reusing its memory when it is large enough.
func grow(s []float32, n int) []float32 {
	if cap(s) < n {
		return make([]float32, n)
	}
	return s[:n]
}

// sortByRow sorts keys (row<<32 | read) by row, keeping reads in their
// order within a row (so sums run in the same order every time): a
// least-significant-digit radix sort on the row's two 16-bit halves, O(n):
// a comparison sort of the same keys costs a large share of the backward.
func sortByRow(keys []uint64) {
	tmp := make([]uint64, len(keys))
	var counts [1 << 16]int
	src, dst := keys, tmp
	for shift := 32; shift < 64; shift += 16 {
		clear(counts[:])
		for _, k := range src {
			counts[(k>>shift)&0xffff]++
		}
		sum := 0
		for i, c := range counts {
			counts[i] = sum
			sum += c
		}
		for _, k := range src {
			digit := (k >> shift) & 0xffff
			dst[counts[digit]] = k
			counts[digit]++
		}
		src, dst = dst, src
	}
	// Two passes: the sorted keys are back in keys.
}
