//go:build !(goexperiment.simd && amd64)

package memlayer

// axpy adds a·x to y (len(y) >= len(x)). Built without GOEXPERIMENT=simd
// (or off amd64) this is the portable loop.
func axpy(a float32, x, y []float32) {
	y = y[:len(x)]
	for i, xi := range x {
		y[i] += a * xi
	}
}

// dot returns Σ x[i]·y[i] (len(y) >= len(x)).
func dot(x, y []float32) float32 {
	y = y[:len(x)]
	var s float32
	for i, xi := range x {
		s += xi * y[i]
	}
	return s
}

// weightedRowSum sets out = Σ_j w[j]·row(idx[j]) for rows of len(out) floats in table.
func weightedRowSum(table []float32, idx []int32, w []float32, out []float32) {
	d := len(out)
	clear(out)
	for j, r := range idx {
		axpy(w[j], table[int(r)*d:(int(r)+1)*d], out)
	}
}

// rowDots sets out[j] = g·row(idx[j]) for rows of len(g) floats in table.
// scratch is unused here (the AVX-512 version keeps partial sums in it).
func rowDots(table []float32, idx []int32, g []float32, out []float32, scratch []float32) {
	d := len(g)
	for j, r := range idx {
		out[j] = dot(g, table[int(r)*d:(int(r)+1)*d])
	}
}

// cleanVectorState is a no-op without GOEXPERIMENT=simd.
func cleanVectorState() {}

// topK writes the k = len(vals) largest entries of x into vals (descending)
// and their positions into idx; ties go to the lower position.
func topK(x []float32, vals []float32, idx []int32) { topKScalar(x, vals, idx) }

// adamRows applies one step of the Adam rule to each rows[i] (see adamRowScalar).
func adamRows(w, m, v []float32, d int, rows, gradRows []int32, grads, decay []float32, k adamConsts) {
	for i, r := range rows {
		s, g := int(r)*d, int(gradRows[i])*d
		adamRowScalar(w[s:s+d], m[s:s+d], v[s:s+d], grads[g:g+d], decayOf(decay, i), k)
	}
}
