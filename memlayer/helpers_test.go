package memlayer

import (
	"math/rand/v2"
	"os"
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

// testBackend is the backend of the package's tests: GOMLX_BACKEND when set
// (the GPU check runs these tests on xla:cuda), else the pure-Go backend.
func testBackend(t testing.TB) compute.Backend {
	t.Helper()
	backendOnce.Do(func() {
		spec := os.Getenv("GOMLX_BACKEND")
		if spec == "" {
			spec = "go"
		}
		backendVal, backendErr = compute.NewWithConfig(spec)
	})
	if backendErr != nil {
		t.Fatalf("test backend: %v", backendErr)
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
