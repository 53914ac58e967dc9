// Package testbackend gives the tests of every package one shared GoMLX
// backend: GOMLX_BACKEND when set (the GPU check runs the tests on xla:cuda),
// else the pure-Go backend in the mode that never hung on our 2-core machines.
package testbackend

import (
	"os"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
)

// Default is the backend spec used when GOMLX_BACKEND is unset.
const Default = "go:ops_sequential"

var (
	once    sync.Once
	backend compute.Backend
	err     error
)

// Get returns the shared test backend, failing the test if it cannot start.
func Get(t testing.TB) compute.Backend {
	t.Helper()
	once.Do(func() {
		spec := os.Getenv("GOMLX_BACKEND")
		if spec == "" {
			spec = Default
		}
		backend, err = compute.NewWithConfig(spec)
	})
	if err != nil {
		t.Fatalf("test backend: %v", err)
	}
	return backend
}
