package memlayer

import (
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute"

	"github.com/memlayers/memlayers/internal/testbackend"
)

// testBackend is the shared test backend (GOMLX_BACKEND, else the pure-Go one).
func testBackend(t testing.TB) compute.Backend { return testbackend.Get(t) }

func randomSlice(rng *rand.Rand, n int, scale float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = (rng.Float64()*2 - 1) * scale
	}
	return s
}
