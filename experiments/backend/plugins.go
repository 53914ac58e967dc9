package backend

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"
)

// PluginPathEnv lists the directories (":"-separated) searched for PJRT plugins; when set, go-xla searches
// only there, and so do we.
const PluginPathEnv = "PJRT_PLUGIN_LIBRARY_PATH"

// pluginSearch records where findPlugin looked, so a failure can say so.
type pluginSearch struct {
	envValue string   // PJRT_PLUGIN_LIBRARY_PATH as seen, "" if unset
	dirs     []string // directories searched for pjrt_c_api_<name>_plugin.so and friends
	pipDirs  []string // python site-packages searched for JAX's CUDA plugin
}

// findPlugin looks for the PJRT plugin called name using go-xla's naming and directory rules, evaluated now
// (go-xla reads the environment once at start-up; we read it at every call so tests and long-lived notebooks
// see changes). For CUDA it also accepts the plugin shipped by JAX's pip packages (jax-cuda13-pjrt,
// jax-cuda12-pjrt), whose RPATH finds the NVIDIA libraries installed next to it by pip.
//
// The search only looks at file names: nothing is loaded or downloaded.
func findPlugin(name string) (path string, s pluginSearch) {
	s.envValue = os.Getenv(PluginPathEnv)
	s.dirs = pluginDirs(s.envValue)
	ext := pluginExt()
	for _, dir := range s.dirs {
		for _, pattern := range []string{
			"pjrt_c_api_" + name + "_plugin." + ext,
			"pjrt_c_api_" + name + "_v*_plugin." + ext, // versioned CPU plugins, e.g. cpu_v0.114.0
			"pjrt-plugin-" + name + "." + ext,
			"pjrt_plugin_" + name + "." + ext,
		} {
			if p := firstFile(filepath.Join(dir, pattern)); p != "" {
				return p, s
			}
		}
	}
	if strings.HasPrefix(name, "cuda") {
		s.pipDirs = sitePackages()
		for _, dir := range s.pipDirs {
			for _, sub := range []string{"xla_cuda13", "xla_cuda12"} {
				if p := firstFile(filepath.Join(dir, "jax_plugins", sub, "xla_cuda_plugin.so")); p != "" {
					return p, s
				}
			}
		}
	}
	return "", s
}

// String summarises the search for an error message, keeping it to one readable line.
func (s pluginSearch) String() string {
	env := s.envValue
	if env == "" {
		env = "<unset>"
	}
	const maxDirs = 6
	dirs := s.dirs
	more := ""
	if len(dirs) > maxDirs {
		more = fmt.Sprintf(" +%d more", len(dirs)-maxDirs)
		dirs = dirs[:maxDirs]
	}
	msg := fmt.Sprintf("%s=%s, %s%s", PluginPathEnv, env, strings.Join(dirs, ", "), more)
	if len(s.pipDirs) > 0 {
		msg += fmt.Sprintf(", jax_plugins/xla_cuda1{3,2} in %d python site-packages", len(s.pipDirs))
	}
	return msg
}

// pluginDirs mirrors go-xla's search list: PJRT_PLUGIN_LIBRARY_PATH alone when set, otherwise the go-xla
// install directories, LD_LIBRARY_PATH and the dynamic linker's configured directories.
func pluginDirs(envValue string) []string {
	if envValue != "" {
		return slices.DeleteFunc(strings.Split(envValue, ":"), func(d string) bool { return d == "" })
	}
	var dirs []string
	if home, err := os.UserHomeDir(); err == nil {
		local := filepath.Join(home, ".local", "lib", "go-xla")
		dirs = append(dirs, local, filepath.Join(local, "nvidia"), filepath.Join(home, ".local", "lib", "gomlx", "pjrt"))
	}
	dirs = append(dirs, "/usr/local/lib/go-xla", "/usr/local/lib/go-xla/nvidia", "/usr/local/lib/gomlx/pjrt")
	for _, d := range strings.Split(os.Getenv("LD_LIBRARY_PATH"), ":") {
		if filepath.IsAbs(d) {
			dirs = append(dirs, d)
		}
	}
	dirs = append(dirs, ldConfDirs("/etc/ld.so.conf", 0)...)
	return uniq(dirs)
}

// ldConfDirs reads the directories listed in an ld.so.conf file, following "include" lines.
func ldConfDirs(file string, depth int) []string {
	f, err := os.Open(file)
	if err != nil || depth > 8 {
		return nil
	}
	defer f.Close()
	var dirs []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.IndexByte(line, '#'); i >= 0 {
			line = strings.TrimSpace(line[:i])
		}
		switch {
		case line == "":
		case strings.HasPrefix(line, "include"):
			pattern := strings.TrimSpace(strings.TrimPrefix(line, "include"))
			if !filepath.IsAbs(pattern) {
				pattern = filepath.Join(filepath.Dir(file), pattern)
			}
			matches, _ := filepath.Glob(pattern)
			for _, m := range matches {
				dirs = append(dirs, ldConfDirs(m, depth+1)...)
			}
		case filepath.IsAbs(line):
			dirs = append(dirs, line)
		}
	}
	return dirs
}

// sitePackages lists python package directories where pip may have installed JAX's PJRT plugins.
func sitePackages() []string {
	var patterns []string
	for _, env := range []string{"VIRTUAL_ENV", "CONDA_PREFIX"} {
		if p := os.Getenv(env); p != "" {
			patterns = append(patterns, filepath.Join(p, "lib", "python3*", "site-packages"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		patterns = append(patterns, filepath.Join(home, ".local", "lib", "python3*", "site-packages"))
	}
	patterns = append(patterns,
		"/usr/local/lib/python3*/dist-packages", "/usr/local/lib/python3*/site-packages",
		"/usr/lib/python3/dist-packages", "/usr/lib/python3*/site-packages",
		"/opt/conda/lib/python3*/site-packages")
	var dirs []string
	for _, p := range patterns {
		matches, _ := filepath.Glob(p)
		dirs = append(dirs, matches...)
	}
	return uniq(dirs)
}

// firstFile returns the first regular file (or link to one) matching pattern, as an absolute path.
func firstFile(pattern string) string {
	matches, _ := filepath.Glob(pattern)
	slices.Sort(matches)
	for _, m := range matches {
		if fi, err := os.Stat(m); err == nil && fi.Mode().IsRegular() {
			if abs, err := filepath.Abs(m); err == nil {
				return abs
			}
			return m
		}
	}
	return ""
}

func pluginExt() string {
	switch runtime.GOOS {
	case "darwin":
		return "dylib"
	case "windows":
		return "dll"
	}
	return "so"
}

func uniq(xs []string) []string {
	seen := make(map[string]bool, len(xs))
	out := xs[:0:0]
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

// hasNvidiaGPU reports whether an NVIDIA GPU is visible: device files first, then a bounded nvidia-smi run.
// Creating a CUDA client without a GPU fails deep inside the plugin, so we check first.
func hasNvidiaGPU() bool {
	if m, _ := filepath.Glob("/dev/nvidia[0-9]*"); len(m) > 0 {
		return true
	}
	smi, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, smi, "-L").Output()
	return err == nil && strings.Contains(string(out), "GPU")
}
