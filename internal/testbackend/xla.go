//go:build cgo && !noxla

package testbackend

// With cgo, tests can also run on XLA (GOMLX_BACKEND=xla:cuda on a GPU
// machine). XLA must never try to download a plugin: a missing one is a test
// failure that says so.
import "github.com/gomlx/go-xla/compute/xla"

func init() { xla.EnableAutoInstall(false) }
