package backend

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/gomlx/core/graph"
)

func TestResolvePrecedence(t *testing.T) {
	t.Setenv(EnvVar, "")
	if got, err := Resolve(""); err != nil || got != DefaultGoSpec {
		t.Errorf("no flag, no env: got %q, %v; want %q", got, err, DefaultGoSpec)
	}
	t.Setenv(EnvVar, "xla:cpu")
	if got, err := Resolve(""); err != nil || got != "xla:cpu" {
		t.Errorf("env only: got %q, %v; want xla:cpu", got, err)
	}
	if got, err := Resolve("go:ops_parallel"); err != nil || got != "go:ops_parallel" {
		t.Errorf("flag over env: got %q, %v; want go:ops_parallel", got, err)
	}
	if got, err := Resolve("  "); err != nil || got != "xla:cpu" {
		t.Errorf("blank flag must count as unset: got %q, %v", got, err)
	}
	t.Setenv(EnvVar, "  ")
	if got, err := Resolve(""); err != nil || got != DefaultGoSpec {
		t.Errorf("blank env must count as unset: got %q, %v", got, err)
	}
}

func TestUnknownBackendIsOneLineWithChoices(t *testing.T) {
	for _, spec := range []string{"tpu", "gpu:0", "stablehlo:cpu"} {
		_, err := Resolve(spec)
		if err == nil {
			t.Fatalf("Resolve(%q): want error", spec)
		}
		msg := err.Error()
		if strings.Contains(msg, "\n") {
			t.Errorf("error is not one line: %q", msg)
		}
		for _, want := range []string{spec, `"go"`, "xla:cuda", "xla:cpu"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q should mention %q", msg, want)
			}
		}
		if _, err2 := New(spec); err2 == nil || err2.Error() != msg {
			t.Errorf("New(%q) = %v, want the Resolve error", spec, err2)
		}
	}
	t.Setenv(EnvVar, "cuda")
	if _, err := New(""); err == nil || !strings.Contains(err.Error(), `"cuda"`) {
		t.Errorf("bad GOMLX_BACKEND must be reported, got %v", err)
	}
}

// checkFixMessage asserts the error is a single line that tells the user how to get unstuck.
func checkFixMessage(t *testing.T, err error, wants ...string) {
	t.Helper()
	if err == nil {
		t.Fatal("want an error")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	for _, want := range append([]string{"backend: ", "GOMLX_BACKEND=go"}, wants...) {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q should mention %q", msg, want)
		}
	}
}

func TestXLACUDAWithoutPluginFailsFastWithFix(t *testing.T) {
	if !xlaCompiled {
		t.Skip("built without XLA")
	}
	empty := t.TempDir()
	t.Setenv(PluginPathEnv, empty)
	t.Setenv("HOME", empty)     // no ~/.local python packages
	t.Setenv("VIRTUAL_ENV", "") // and no virtualenv
	t.Setenv("CONDA_PREFIX", "")
	if p, _ := findPlugin("cuda"); p != "" {
		t.Skipf("a CUDA plugin is installed system-wide at %s", p)
	}
	start := time.Now()
	b, err := New("xla:cuda")
	if b != nil {
		t.Fatalf("got a backend %v", b)
	}
	checkFixMessage(t, err, "xla:cuda", "no CUDA PJRT plugin", PluginPathEnv+"="+empty, "jax-cuda13-pjrt", "xla:/abs/path")
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %s: must fail fast, without downloading", d)
	}
	// Nothing may have been installed behind our back.
	if _, err := os.Stat(filepath.Join(empty, ".local", "lib", "go-xla")); err == nil {
		t.Error("go-xla auto-install created ~/.local/lib/go-xla")
	}
	_, err = New("xla:cpu")
	checkFixMessage(t, err, "xla:cpu", "no CPU PJRT plugin", "pjrt-cpu-binaries")
	_, err = New("xla")
	checkFixMessage(t, err, "no PJRT plugin found")
	_, err = New("xla:/nonexistent/pjrt_c_api_cuda_plugin.so")
	checkFixMessage(t, err, "/nonexistent/pjrt_c_api_cuda_plugin.so", "not found")
}

func TestXLAFindsPluginInSearchPath(t *testing.T) {
	if !xlaCompiled {
		t.Skip("built without XLA")
	}
	dir := t.TempDir()
	t.Setenv(PluginPathEnv, "/nonexistent:"+dir)
	cuda := filepath.Join(dir, "pjrt_c_api_cuda_plugin.so")
	cpu := filepath.Join(dir, "pjrt_c_api_cpu_v0.1.0_plugin.so")
	for _, f := range []string{cuda, cpu} {
		if err := os.WriteFile(f, []byte("not an ELF file"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := findPlugin("cuda"); p != cuda {
		t.Errorf("findPlugin(cuda) = %q, want %q", p, cuda)
	}
	if p, _ := findPlugin("cpu"); p != cpu {
		t.Errorf("findPlugin(cpu) = %q, want the versioned %q", p, cpu)
	}
	if !hasNvidiaGPU() {
		_, err := New("xla:cuda")
		checkFixMessage(t, err, "no NVIDIA GPU")
	}
	// A broken plugin file must come back as go-xla's load error, in one line, not as a crash.
	_, err := New("xla:cpu")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.HasPrefix(err.Error(), "backend: xla:cpu: ") {
		t.Errorf("loading a broken plugin: got %v", err)
	}
}

func TestConstructRecoversPanics(t *testing.T) {
	_, err := construct("go:x", func() (b compute.Backend, err error) { panic("boom\nsecond line") })
	if err == nil || err.Error() != "backend: go:x: construction panicked: boom second line" {
		t.Errorf("got %v", err)
	}
}

func TestGoBackendRunsAGraph(t *testing.T) {
	for _, spec := range []string{"go", DefaultGoSpec} {
		b, err := New(spec)
		if err != nil {
			t.Fatalf("New(%q): %v", spec, err)
		}
		exec, err := graph.NewExec(b, func(x, y *graph.Node) *graph.Node { return graph.Add(x, y) })
		if err != nil {
			t.Fatal(err)
		}
		out, err := exec.Call(float32(1.5), float32(2.25))
		if err != nil {
			t.Fatal(err)
		}
		if got := out[0].Value().(float32); got != 3.75 {
			t.Errorf("%s: 1.5+2.25 = %v", spec, got)
		}
		info := Describe(b)
		if info.Spec != spec || info.NumDevices != 1 || info.Name == "" || info.Description == "" {
			t.Errorf("Describe = %+v", info)
		}
		b.Finalize()
	}
	_, err := New("go:no_such_option")
	if err == nil || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "ops_sequential") {
		t.Errorf("unknown Go option: want one line listing the valid options, got %v", err)
	}
}

// TestComputesOnHost: the Go backend's tensors are in host memory.
func TestComputesOnHost(t *testing.T) {
	b, err := New("go")
	if err != nil {
		t.Fatal(err)
	}
	if !ComputesOnHost(b) || !ComputesOnHost(nil) {
		t.Error("the Go backend computes on the host")
	}
}
