//go:build goexperiment.simd && amd64

package memlayer

import "testing"

// eachVectorLevel runs f with the AVX-512 kernels, then as on a CPU without
// AVX-512 (AVX2+FMA), then with scalar loops only.
func eachVectorLevel(t *testing.T, f func(t *testing.T)) {
	avx512, fma := hasAVX512, hasFMA
	defer func() { hasAVX512, hasFMA = avx512, fma }()
	t.Run("avx512", f)
	hasAVX512 = false
	t.Run("avx2", f)
	hasFMA = false
	t.Run("scalar", f)
}
