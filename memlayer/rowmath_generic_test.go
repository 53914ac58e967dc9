//go:build !(goexperiment.simd && amd64)

package memlayer

import "testing"

// eachVectorLevel runs f once: without GOEXPERIMENT=simd there are only scalar loops.
func eachVectorLevel(t *testing.T, f func(t *testing.T)) { t.Run("scalar", f) }
