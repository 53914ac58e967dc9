//go:build cgo && !noxla

package memlayer

// With cgo, the tests can also run on XLA (GOMLX_BACKEND=xla:cuda on a GPU
// machine; see scripts/gpu-check.sh). Without GOMLX_BACKEND they use the
// pure-Go backend and XLA is never started.
import _ "github.com/gomlx/go-xla/compute/xla"
