//go:build !cgo || noxla

package backend

import (
	"fmt"

	"github.com/gomlx/compute"
)

// xlaCompiled says whether this binary can build XLA backends (it needs cgo).
const xlaCompiled = false

// newXLA explains why this binary cannot run XLA: go-xla needs cgo and was left out.
func newXLA(spec, _ string) (compute.Backend, error) {
	return nil, fmt.Errorf("backend: %s: this binary was built without XLA support (CGO_ENABLED=0 or -tags noxla); rebuild with cgo, or use %s=go", spec, EnvVar)
}
