//go:build cgo && !noxla

package backend

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/go-xla/compute/xla"
)

// xlaCompiled says whether this binary can build XLA backends (it needs cgo).
const xlaCompiled = true

// Importing this package must never lead to a download: go-xla would otherwise fetch its CPU plugin from
// GitHub (or CUDA from PyPI) the first time an XLA backend or its plugin list is requested, which hangs or
// fails on machines without internet and silently changes what runs on machines with it.
func init() { xla.EnableAutoInstall(false) }

// newXLA checks that the requested PJRT plugin is installed and then creates the XLA backend from its
// absolute path, so go-xla's own (download-capable, start-up-time) search is never involved.
func newXLA(spec, config string) (compute.Backend, error) {
	xla.EnableAutoInstall(false) // In case anything re-enabled it since init.
	plugin, options, _ := strings.Cut(config, ",")
	if options != "" {
		options = "," + options
	}
	path, err := locatePlugin(spec, plugin)
	if err != nil {
		return nil, err
	}
	return construct(spec, func() (compute.Backend, error) { return xla.New(path + options) })
}

// locatePlugin turns the plugin part of an xla spec into the absolute path of an installed plugin, or a
// one-line error saying what is missing and how to fix it.
func locatePlugin(spec, plugin string) (string, error) {
	if filepath.IsAbs(plugin) {
		fi, err := os.Stat(plugin)
		if err != nil || !fi.Mode().IsRegular() {
			return "", fmt.Errorf("backend: %s: PJRT plugin file %s not found; give the absolute path of an existing "+
				"pjrt_c_api_<name>_plugin.so, or use %s=go", spec, plugin, EnvVar)
		}
		if isCUDA(plugin) && !hasNvidiaGPU() {
			return "", noGPUError(spec)
		}
		return plugin, nil
	}
	if plugin == "" { // Plain "xla": the best plugin available, CUDA first, like go-xla's default order.
		var searches []string
		if hasNvidiaGPU() {
			if p, _ := findPlugin("cuda"); p != "" {
				return p, nil
			}
			searches = append(searches, "cuda")
		}
		if p, s := findPlugin("cpu"); p != "" {
			return p, nil
		} else {
			return "", fmt.Errorf("backend: %s: no PJRT plugin found for %s (looked in %s); name one with %s=xla:/abs/path/pjrt_c_api_<name>_plugin.so, or use %s=go",
				spec, strings.Join(append(searches, "cpu"), " or "), s, EnvVar, EnvVar)
		}
	}
	path, s := findPlugin(plugin)
	if path == "" {
		return "", missingPluginError(spec, plugin, s)
	}
	if isCUDA(plugin) && !hasNvidiaGPU() {
		return "", noGPUError(spec)
	}
	return path, nil
}

func missingPluginError(spec, plugin string, s pluginSearch) error {
	var fix string
	switch {
	case isCUDA(plugin):
		fix = fmt.Sprintf("install it with `pip install jax-cuda13-pjrt` (or go-xla's pjrt_installer) or set %s=xla:/abs/path/pjrt_c_api_cuda_plugin.so", EnvVar)
	case plugin == "cpu":
		fix = fmt.Sprintf("put pjrt_c_api_cpu_plugin.so from github.com/gomlx/pjrt-cpu-binaries in ~/.local/lib/go-xla (or run `go run github.com/gomlx/go-xla/cmd/pjrt_installer@latest` where internet is available) or set %s=xla:/abs/path/pjrt_c_api_cpu_plugin.so", EnvVar)
	default:
		fix = fmt.Sprintf("install pjrt_c_api_%s_plugin.so in one of those directories or set %s=xla:/abs/path/to/the/plugin.so", plugin, EnvVar)
	}
	return fmt.Errorf("backend: %s: no %s PJRT plugin found (looked in %s); %s, or use %s=go",
		spec, pluginLabel(plugin), s, fix, EnvVar)
}

func noGPUError(spec string) error {
	return fmt.Errorf("backend: %s: the CUDA PJRT plugin is installed but no NVIDIA GPU is visible (no /dev/nvidia*, nvidia-smi lists none); run on a GPU machine or use %s=go", spec, EnvVar)
}

func isCUDA(name string) bool {
	u := strings.ToUpper(name)
	return strings.Contains(u, "CUDA") || strings.Contains(u, "NVIDIA")
}

func pluginLabel(plugin string) string {
	switch {
	case isCUDA(plugin):
		return "CUDA"
	case plugin == "cpu":
		return "CPU"
	}
	return fmt.Sprintf("%q", plugin)
}
