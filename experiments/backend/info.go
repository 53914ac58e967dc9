package backend

import (
	"strings"

	"github.com/gomlx/compute"
)

// Info identifies the backend a result was produced with; it is stored in every results file so numbers
// from different machines or backends are never mixed up silently.
type Info struct {
	// Spec is what the run asked for, e.g. "go:ops_sequential" or "xla:cuda".
	Spec string `json:"spec"`
	// Name is the backend's short name, e.g. "Go Backend" or "xla".
	Name string `json:"name"`
	// Description is the backend's own long description (plugin version, parallelism, devices).
	Description string `json:"description"`
	// NumDevices is the number of devices the backend exposes.
	NumDevices int `json:"num_devices"`
}

// Describe returns the provenance of b. The spec is known for backends created by [New]; for others it
// falls back to the backend's String().
func Describe(b compute.Backend) Info {
	if b == nil {
		return Info{}
	}
	spec, ok := specs.Load(b)
	if !ok {
		spec = b.String()
	}
	info := Info{Spec: spec.(string), Name: b.Name()}
	if !b.IsFinalized() {
		info.Description = b.Description()
		info.NumDevices = b.NumDevices()
	}
	return info
}

// ComputesOnHost reports whether b keeps its tensors in host memory (the Go backend, XLA's CPU plugin),
// where a run's memory competes with the rest of the machine, rather than on an accelerator.
func ComputesOnHost(b compute.Backend) bool {
	if b == nil || b.String() == GoName {
		return true
	}
	return b.String() == XLAName && !b.IsFinalized() && strings.HasPrefix(b.Description(), XLAName+":cpu")
}
