//go:build goexperiment.simd && amd64

package memlayer

import (
	"math/bits"
	"simd/archsimd"
)

// Row arithmetic of the host path, with AVX-512 or AVX2+FMA when the CPU has
// them (built with GOEXPERIMENT=simd, as the project's Makefile does).
//
// Every function here ends with VZEROUPPER (archsimd.ClearAVXUpperBits): Go
// compiles scalar float code to legacy SSE instructions, which run very slowly
// while the upper halves of the vector registers are dirty (measurements in
// docs/performance.md).
var (
	hasAVX512 = archsimd.X86.AVX512()
	hasFMA    = archsimd.X86.AVX2() && archsimd.X86.FMA()
)

// axpy adds a·x to y (len(y) >= len(x)).
func axpy(a float32, x, y []float32) {
	n := len(x)
	y = y[:n]
	i := 0
	switch {
	case hasAVX512:
		va := archsimd.BroadcastFloat32x16(a)
		for ; i+16 <= n; i += 16 {
			va.MulAdd(archsimd.LoadFloat32x16Slice(x[i:]), archsimd.LoadFloat32x16Slice(y[i:])).StoreSlice(y[i:])
		}
		archsimd.ClearAVXUpperBits()
	case hasFMA:
		va := archsimd.BroadcastFloat32x8(a)
		for ; i+8 <= n; i += 8 {
			va.MulAdd(archsimd.LoadFloat32x8Slice(x[i:]), archsimd.LoadFloat32x8Slice(y[i:])).StoreSlice(y[i:])
		}
		archsimd.ClearAVXUpperBits()
	}
	for ; i < n; i++ {
		y[i] += a * x[i]
	}
}

// dot returns Σ x[i]·y[i] (len(y) >= len(x)).
func dot(x, y []float32) float32 {
	n := len(x)
	y = y[:n]
	i := 0
	var s float32
	switch {
	case hasAVX512 && n >= 16:
		// Two accumulators halve the chain of dependent multiply-adds.
		var acc0, acc1 archsimd.Float32x16
		for ; i+32 <= n; i += 32 {
			acc0 = archsimd.LoadFloat32x16Slice(x[i:]).MulAdd(archsimd.LoadFloat32x16Slice(y[i:]), acc0)
			acc1 = archsimd.LoadFloat32x16Slice(x[i+16:]).MulAdd(archsimd.LoadFloat32x16Slice(y[i+16:]), acc1)
		}
		for ; i+16 <= n; i += 16 {
			acc0 = archsimd.LoadFloat32x16Slice(x[i:]).MulAdd(archsimd.LoadFloat32x16Slice(y[i:]), acc0)
		}
		s = sum16(acc0.Add(acc1))
		archsimd.ClearAVXUpperBits()
	case hasFMA && n >= 8:
		var acc archsimd.Float32x8
		for ; i+8 <= n; i += 8 {
			acc = archsimd.LoadFloat32x8Slice(x[i:]).MulAdd(archsimd.LoadFloat32x8Slice(y[i:]), acc)
		}
		var lanes [8]float32
		acc.StoreSlice(lanes[:])
		archsimd.ClearAVXUpperBits()
		for _, v := range lanes {
			s += v
		}
	}
	for ; i < n; i++ {
		s += x[i] * y[i]
	}
	return s
}

// weightedRowSum sets out = Σ_j w[j]·row(idx[j]) for rows of len(out) floats
// in table. With AVX-512 it keeps a 64-float block of out in four registers
// while it walks the rows, so the rows' loads overlap instead of queueing
// behind stores to out.
func weightedRowSum(table []float32, idx []int32, w []float32, out []float32) {
	d := len(out)
	if !hasAVX512 || d%64 != 0 {
		clear(out)
		for j, r := range idx {
			axpy(w[j], table[int(r)*d:(int(r)+1)*d], out)
		}
		return
	}
	for c := 0; c < d; c += 64 {
		var a0, a1, a2, a3 archsimd.Float32x16
		for j, r := range idx {
			row := table[int(r)*d+c : int(r)*d+c+64]
			wv := archsimd.BroadcastFloat32x16(w[j])
			a0 = wv.MulAdd(archsimd.LoadFloat32x16Slice(row[0:]), a0)
			a1 = wv.MulAdd(archsimd.LoadFloat32x16Slice(row[16:]), a1)
			a2 = wv.MulAdd(archsimd.LoadFloat32x16Slice(row[32:]), a2)
			a3 = wv.MulAdd(archsimd.LoadFloat32x16Slice(row[48:]), a3)
		}
		a0.StoreSlice(out[c:])
		a1.StoreSlice(out[c+16:])
		a2.StoreSlice(out[c+32:])
		a3.StoreSlice(out[c+48:])
	}
	archsimd.ClearAVXUpperBits()
}

// sum16 adds the 16 lanes of v in registers.
func sum16(v archsimd.Float32x16) float32 {
	h := v.GetLo().Add(v.GetHi()) // 8 lanes
	q := h.GetLo().Add(h.GetHi()) // 4 lanes
	q = q.AddPairs(q)             // (0+1, 2+3, 0+1, 2+3)
	q = q.AddPairs(q)
	return q.GetElem(0)
}

// rowDots sets out[j] = g·row(idx[j]) for rows of len(g) floats in table.
// With AVX-512 it walks the rows like weightedRowSum, one 64-float block of
// every row at a time, keeping each row's partial sums in scratch (16 floats
// per row, len(scratch) >= 16·len(idx)): many rows' loads are then in flight
// together, which is what the random row reads need.
func rowDots(table []float32, idx []int32, g []float32, out []float32, scratch []float32) {
	d := len(g)
	if !hasAVX512 || d%64 != 0 {
		for j, r := range idx {
			out[j] = dot(g, table[int(r)*d:(int(r)+1)*d])
		}
		return
	}
	partial := scratch[:16*len(idx)]
	for c := 0; c < d; c += 64 {
		g0 := archsimd.LoadFloat32x16Slice(g[c:])
		g1 := archsimd.LoadFloat32x16Slice(g[c+16:])
		g2 := archsimd.LoadFloat32x16Slice(g[c+32:])
		g3 := archsimd.LoadFloat32x16Slice(g[c+48:])
		for j, r := range idx {
			row := table[int(r)*d+c : int(r)*d+c+64]
			acc := g0.Mul(archsimd.LoadFloat32x16Slice(row[0:]))
			acc = g1.MulAdd(archsimd.LoadFloat32x16Slice(row[16:]), acc)
			acc = g2.MulAdd(archsimd.LoadFloat32x16Slice(row[32:]), acc)
			acc = g3.MulAdd(archsimd.LoadFloat32x16Slice(row[48:]), acc)
			if c > 0 {
				acc = acc.Add(archsimd.LoadFloat32x16Slice(partial[16*j:]))
			}
			acc.StoreSlice(partial[16*j:])
		}
	}
	// Reduce each row's 16 lanes to 4 with vector adds and stores only, then
	// finish in scalar code after VZEROUPPER: no scalar code may run while the
	// registers are dirty (see above).
	for j := range idx {
		v := archsimd.LoadFloat32x16Slice(partial[16*j:])
		h := v.GetLo().Add(v.GetHi())
		h.GetLo().Add(h.GetHi()).StoreSlice(partial[4*j:])
	}
	archsimd.ClearAVXUpperBits()
	for j := range idx {
		p := partial[4*j : 4*j+4]
		out[j] = (p[0] + p[1]) + (p[2] + p[3])
	}
}

// cleanVectorState clears the upper halves of the vector registers before
// scalar float code: the graph's AVX-512 kernels may have run on this thread
// just before and left them dirty.
func cleanVectorState() { archsimd.ClearAVXUpperBits() }

// topK is topKScalar with an AVX-512 pre-filter: once the list holds k
// entries, 16 scores at a time are compared with its smallest, and only the
// (few) greater ones go through insertion.
func topK(x []float32, vals []float32, idx []int32) {
	k := len(vals)
	if !hasAVX512 || len(x) < k+16 {
		topKScalar(x, vals, idx)
		return
	}
	topKScalar(x[:k], vals, idx)
	i := k
	for ; i+16 <= len(x); i += 16 {
		bits := archsimd.LoadFloat32x16Slice(x[i:]).Greater(archsimd.BroadcastFloat32x16(vals[k-1])).ToBits()
		if bits == 0 {
			continue
		}
		archsimd.ClearAVXUpperBits() // scalar code follows
		for ; bits != 0; bits &= bits - 1 {
			j := i + bits16TrailingZeros(bits)
			insertTop(vals, idx, x[j], int32(j))
		}
	}
	archsimd.ClearAVXUpperBits()
	for ; i < len(x); i++ {
		insertTop(vals, idx, x[i], int32(i))
	}
}

func bits16TrailingZeros(b uint16) int { return bits.TrailingZeros16(b) }

// adamRows applies one step of the Adam rule to each rows[i] (a row of w, m
// and v, d floats) with gradient row gradRows[i] of grads and decay factor
// decay[i] (1 when decay is nil). The step's constants are computed and
// broadcast once for all rows, before any vector instruction (see above).
func adamRows(w, m, v []float32, d int, rows, gradRows []int32, grads, decay []float32, k adamConsts) {
	if !hasAVX512 || d%16 != 0 {
		for i, r := range rows {
			s, g := int(r)*d, int(gradRows[i])*d
			adamRowScalar(w[s:s+d], m[s:s+d], v[s:s+d], grads[g:g+d], decayOf(decay, i), k)
		}
		return
	}
	// Every scalar value first: scalar float code after the first vector
	// instruction would run with dirty upper registers (see above).
	a1, a2, r1, r2 := 1-k.b1, 1-k.b2, 1/k.c1, 1/k.c2
	vb1, vb2 := archsimd.BroadcastFloat32x16(k.b1), archsimd.BroadcastFloat32x16(k.b2)
	va1, va2 := archsimd.BroadcastFloat32x16(a1), archsimd.BroadcastFloat32x16(a2)
	// Bias corrections as reciprocals: multiplies instead of divisions.
	rc1, rc2 := archsimd.BroadcastFloat32x16(r1), archsimd.BroadcastFloat32x16(r2)
	vlr, veps := archsimd.BroadcastFloat32x16(k.lr), archsimd.BroadcastFloat32x16(k.eps)
	for i, r := range rows {
		s, gs := int(r)*d, int(gradRows[i])*d
		wr, mr, vr, g := w[s:s+d], m[s:s+d], v[s:s+d], grads[gs:gs+d]
		for j := 0; j < d; j += 16 {
			gj := archsimd.LoadFloat32x16Slice(g[j:])
			mj := vb1.Mul(archsimd.LoadFloat32x16Slice(mr[j:])).Add(va1.Mul(gj))
			vj := vb2.Mul(archsimd.LoadFloat32x16Slice(vr[j:])).Add(va2.Mul(gj.Mul(gj)))
			mj.StoreSlice(mr[j:])
			vj.StoreSlice(vr[j:])
			step := vlr.Mul(mj.Mul(rc1)).Div(vj.Mul(rc2).Sqrt().Add(veps))
			wj := archsimd.LoadFloat32x16Slice(wr[j:])
			if decay != nil {
				wj = wj.Mul(archsimd.BroadcastFloat32x16(decay[i]))
			}
			wj.Sub(step).StoreSlice(wr[j:])
		}
	}
	archsimd.ClearAVXUpperBits()
}
