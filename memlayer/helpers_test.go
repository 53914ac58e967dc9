package memlayer

import (
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
)

var (
	backendOnce sync.Once
	backendVal  compute.Backend
	backendErr  error
)

// testBackend is the pure-Go backend, shared by the package's tests.
func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { backendVal, backendErr = compute.NewWithConfig("go") })
	if backendErr != nil {
		t.Fatalf("go backend: %v", backendErr)
	}
	return backendVal
}

func randomSlice(rng *rand.Rand, n int, scale float64) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = (rng.Float64()*2 - 1) * scale
	}
	return s
}
