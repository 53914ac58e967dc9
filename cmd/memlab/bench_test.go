package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/bench"
)

// tinyBench are flags that make `memlab bench --quick` smaller still, for tests.
var tinyBench = []string{"--quick", "--tokens", "32", "--dim", "16", "--k-dim", "16", "--v-dim", "16", "--heads", "2",
	"--knn", "4", "--n-keys", "8,16", "--bag-n-keys", "8", "--train-n-keys", "8,16", "--repeats", "1"}

func runBenchCmd(t *testing.T, args ...string) (status int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	status = run(context.Background(), args, &out, &errOut)
	return status, out.String(), errOut.String()
}

func TestBenchQuickWritesResultsAndPlots(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "results", "bench", "t.json")
	plots := filepath.Join(dir, "plots")
	// A stand-in python: "import torch" works and the script prints canned timings for n_keys 8 and 16, on
	// OpenBLAS (memlab refuses a reference BLAS).
	py := filepath.Join(dir, "python3")
	script := `#!/bin/sh
if [ "$1" = -c ]; then exit 0; fi
echo '{"torch_version":"0.0-fake","device":"cpu","threads":2,"value_grads":["dense","sparse"],` +
		`"blas":{"sgemm_library":"/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3","probe":{"n":512,"threads":1,"matmul_gflops":150}},"memory":[` +
		`{"model":"memory","n_keys":8,"forward":{"seconds":0.001},"forward_backward":{"seconds":0.002}},` +
		`{"model":"memory","n_keys":16,"forward":{"seconds":0.001},"forward_backward":{"seconds":0.002}}]}'
`
	if err := os.WriteFile(py, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"bench", "--name", "t", "--out", out, "--plots", plots, "--torch", "--python", py,
		"--torch-script", "main.go"}, tinyBench...)
	status, stdout, stderr := runBenchCmd(t, args...)
	if status != 0 {
		t.Fatalf("status %d, stderr %q\nstdout:\n%s", status, stderr, stdout)
	}
	for _, s := range []string{"Embedding bag", "host bag forward", "memory n_keys=16", "host n_keys=16", "Training step",
		"sgd (host)", "ours÷pt", "results written to " + out} {
		if !strings.Contains(stdout, s) {
			t.Errorf("stdout lacks %q:\n%s", s, stdout)
		}
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var r bench.Report
	if err := json.Unmarshal(data, &r); err != nil {
		t.Fatal(err)
	}
	if r.Name != "t" || !r.Quick || r.Bag == nil || r.Layers == nil || r.Train == nil || r.Torch == nil ||
		len(r.TorchRatios) != 2 || r.Config.Tokens != 32 || r.Machine.Cores < 1 || r.Backend.Spec == "" {
		t.Errorf("report: %+v", r)
	}
	for _, q := range r.TorchRatios {
		if !(q.ForwardOursOverTorch > 0) || !(q.HostForwardOursOverTorch > 0) || !(q.HostForwardBackwardOursOverTorch > 0) {
			t.Errorf("torch ratio %+v: want both paths", q)
		}
	}
	for _, chart := range []string{"bandwidth", "layers", "train-step"} {
		for _, ext := range []string{".png", ".svg"} {
			if _, err := os.Stat(filepath.Join(plots, "bench-t-"+chart+ext)); err != nil {
				t.Error(err)
			}
		}
	}

	// --replot redraws the charts of a results file without measuring.
	replots := filepath.Join(dir, "replots")
	status, stdout, stderr = runBenchCmd(t, "bench", "--replot", out, "--plots", replots)
	if status != 0 || !strings.Contains(stdout, "memory n_keys=16") {
		t.Errorf("--replot: status %d, stderr %q, stdout:\n%s", status, stderr, stdout)
	}
	if _, err := os.Stat(filepath.Join(replots, "bench-t-layers.png")); err != nil {
		t.Error(err)
	}
	status, _, stderr = runBenchCmd(t, "bench", "--replot", py)
	if status != 2 || !strings.Contains(stderr, "not a benchmark report") {
		t.Errorf("--replot of a non-report: status %d, stderr %q", status, stderr)
	}

	// Running again refuses to replace the results without --overwrite.
	status, _, stderr = runBenchCmd(t, args...)
	if status != 2 || !strings.Contains(stderr, "--overwrite") {
		t.Errorf("second run: status %d, stderr %q; want 2 and a hint about --overwrite", status, stderr)
	}
}

func TestBenchTorchMissingIsASkipLine(t *testing.T) {
	dir := t.TempDir()
	// --paths host: the graph path's rows are absent.
	args := append([]string{"bench", "--parts", "layers", "--paths", "host", "--out", filepath.Join(dir, "r.json"), "--plots", "",
		"--torch", "--python", filepath.Join(dir, "no-python"), "--torch-script", "main.go"}, tinyBench...)
	status, stdout, stderr := runBenchCmd(t, args...)
	if status != 0 {
		t.Fatalf("status %d, stderr %q", status, stderr)
	}
	if !strings.Contains(stdout, "host n_keys=16") || strings.Contains(stdout, "memory n_keys=16") {
		t.Errorf("--paths host: want host rows only:\n%s", stdout)
	}
	if !strings.Contains(stdout, "torch: skipped: ") || !strings.Contains(stdout, bench.TorchInstallHint) {
		t.Errorf("stdout lacks the skip line with the install hint:\n%s", stdout)
	}
}

func TestBenchUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--n-keys", "12x"}, "--n-keys"},
		{[]string{"--parts", "bag,gpu"}, `unknown measurement "gpu"`},
		{[]string{"--optimizers", "lion"}, "optimizers=lion"},
		{[]string{"--paths", "graph,gpu"}, "paths=gpu"},
		{[]string{"--knn", "64", "--n-keys", "16"}, "knn=64"},
		{[]string{"--name", "a/b"}, "--name"},
		{[]string{"--torch", "--torch-script", filepath.Join(dir, "missing.py")}, "--torch-script"},
		{[]string{"--backend", "tpu"}, "unknown backend"},
		{[]string{"stray"}, "unexpected argument"},
		{[]string{"--parts", "lm", "--lm-preset", "huge"}, `preset "huge" unknown`},
	} {
		args := append([]string{"bench", "--quick", "--out", filepath.Join(dir, "r.json"), "--plots", ""}, tc.args...)
		status, _, stderr := runBenchCmd(t, args...)
		if status != 2 || !strings.Contains(stderr, tc.want) || strings.Count(stderr, "\n") != 1 {
			t.Errorf("%v: status %d, stderr %q; want 2 and one line mentioning %q", tc.args, status, stderr, tc.want)
		}
	}
}

func TestBenchName(t *testing.T) {
	for _, tc := range []struct {
		spec  string
		quick bool
		want  string
	}{
		{"go:ops_sequential", false, "go-ops_sequential"},
		{"go", true, "go-quick"},
		{"xla:cuda", false, "xla-cuda"},
		{"xla:/opt/torch/.venv/lib/python3.12/site-packages/jax_plugins/xla_cuda12/xla_cuda_plugin.so", false, "xla-cuda"},
		{"xla:/x/pjrt_c_api_cpu_plugin.so,notf32", false, "xla-cpu-notf32"},
	} {
		if got := benchName(tc.spec, tc.quick); got != tc.want {
			t.Errorf("benchName(%q, %v) = %q, want %q", tc.spec, tc.quick, got, tc.want)
		}
	}
}
