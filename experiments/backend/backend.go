// Package backend is the one place that decides which GoMLX compute backend a run uses.
//
// Every entry point (CLI, notebooks, tests) calls [New] with the value of its --backend flag, so that the
// precedence rules, the safe default and the error messages are the same everywhere:
//
//  1. an explicit flag value (e.g. "--backend=xla:cuda"),
//  2. else the GOMLX_BACKEND environment variable,
//  3. else [DefaultGoSpec], the pure-Go backend, which needs no plugin and never downloads anything.
//
// Accepted specs:
//
//   - "go" or "go:<options>": the pure-Go backend. Options are comma separated, as the Go backend parses
//     them: "parallelism=N" (worker pool size; 0 disables, -1 unlimited), "ops_sequential" / "ops_parallel"
//     (run the ops of a graph one at a time / concurrently; the default picks parallel when only one graph
//     is executing), "dependency_order" / "creation_order" (scheduling strategy).
//   - "xla:cuda", "xla:cpu", "xla:<plugin name>", "xla:/abs/path/to/plugin.so", or plain "xla" (CUDA when a GPU
//     and its plugin are present, else CPU), each optionally followed by ",<xla options>" (e.g. "xla:cuda,notf32").
//     The PJRT plugin must already be installed: this package turns off go-xla's auto-install, and reports a
//     missing plugin as a one-line error saying how to fix it.
package backend

import (
	"fmt"
	"os"
	"strings"
	"sync"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/gobackend"
)

// EnvVar is the environment variable consulted when no flag value is given. It is the same variable GoMLX
// itself reads, so users only have to learn one name.
const EnvVar = compute.ConfigEnvVar // "GOMLX_BACKEND"

// DefaultGoSpec is the spec used when neither a flag nor GOMLX_BACKEND names a backend.
//
// It is "go:ops_sequential" rather than plain "go" because the Go backend's worker pool can deadlock when
// independent ops run concurrently on a 2-core machine, and never did in this mode, which still parallelises
// inside each op. A hang in the first command a user runs costs more than the speed given up; set
// GOMLX_BACKEND=go for the faster, riskier mode. What we measured: docs/performance.md.
const DefaultGoSpec = "go:ops_sequential"

// Names of the backends this package can build.
const (
	GoName  = gobackend.BackendName // "go"
	XLAName = "xla"
)

// validChoices is shown in every "unknown backend" error so the user sees what to type instead.
const validChoices = `"go", "go:<options>" (e.g. "go:ops_sequential"), "xla:cuda", "xla:cpu", "xla:/abs/path/to/pjrt_plugin.so"`

// Resolve returns the backend spec selected by flagValue, GOMLX_BACKEND and the default, in that order of
// precedence, after checking that it names a known backend. Blank values count as unset.
//
// It does not look for plugins or create anything: use [New] for that.
func Resolve(flagValue string) (spec string, err error) {
	spec = strings.TrimSpace(flagValue)
	if spec == "" {
		spec = strings.TrimSpace(os.Getenv(EnvVar))
	}
	if spec == "" {
		spec = DefaultGoSpec
	}
	if _, _, err := splitSpec(spec); err != nil {
		return "", err
	}
	return spec, nil
}

// IsGo reports whether flagValue (resolved as by [Resolve]) selects the pure-Go backend; false when it
// names no known backend.
func IsGo(flagValue string) bool {
	spec, err := Resolve(flagValue)
	if err != nil {
		return false
	}
	name, _, _ := splitSpec(spec)
	return name == GoName
}

// splitSpec separates "name:config" and checks the name.
func splitSpec(spec string) (name, config string, err error) {
	name, config, _ = strings.Cut(spec, ":")
	switch name {
	case GoName, XLAName:
		return name, config, nil
	}
	return "", "", fmt.Errorf("backend: unknown backend %q (from %q); valid choices: %s", name, spec, validChoices)
}

// New resolves flagValue (see [Resolve]) and creates the backend.
//
// Errors are a single line starting with "backend: " that names the spec and, for a missing XLA plugin,
// says what to install or which GOMLX_BACKEND to use instead. Panics raised while constructing a backend are
// recovered and returned as errors.
func New(flagValue string) (compute.Backend, error) {
	spec, err := Resolve(flagValue)
	if err != nil {
		return nil, err
	}
	name, config, _ := splitSpec(spec)
	var b compute.Backend
	switch name {
	case GoName:
		b, err = construct(spec, func() (compute.Backend, error) { return gobackend.New(config) })
	case XLAName:
		b, err = newXLA(spec, config)
	}
	if err != nil {
		return nil, err
	}
	specs.Store(b, spec)
	return b, nil
}

// specs remembers the spec each backend was created from, for [Describe]: backends don't report their options.
var specs sync.Map // compute.Backend -> string

// construct runs fn, turning a panic or an error into a one-line error prefixed with the spec.
func construct(spec string, fn func() (compute.Backend, error)) (b compute.Backend, err error) {
	defer func() {
		if r := recover(); r != nil {
			b, err = nil, fmt.Errorf("backend: %s: construction panicked: %s", spec, oneLine(fmt.Sprint(r)))
		}
	}()
	b, err = fn()
	if err != nil {
		return nil, fmt.Errorf("backend: %s: %s", spec, oneLine(err.Error()))
	}
	if b == nil {
		return nil, fmt.Errorf("backend: %s: constructor returned no backend", spec)
	}
	return b, nil
}

// oneLine collapses multi-line messages (C++ logs, wrapped errors) so errors stay readable in a table or a
// log line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
