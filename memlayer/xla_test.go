//go:build cgo && !noxla

package memlayer

// With cgo, the tests can also run on XLA (GOMLX_BACKEND=xla:cuda on a GPU
// machine; see scripts/gpu-check.sh). Without GOMLX_BACKEND they use the
// pure-Go backend and XLA is never started. XLA must never try to download a
// plugin: a missing one is a test failure that says so.
import "github.com/gomlx/go-xla/compute/xla"

func init() { xla.EnableAutoInstall(false) }
