package bench

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
	"github.com/memlayers/memlayers/memlayer"
)

// Canned torch.__config__.show() texts: Debian's python3-torch (trimmed from the real one) and a wheel built
// with MKL linked in.
const (
	debianTorchConfig = `PyTorch built with:
  - GCC 12.2
  - C++ Version: 201402
  - Intel(R) MKL-DNN v2.6.3 (Git Hash N/A)
  - OpenMP 201511 (a.k.a. OpenMP 4.5)
  - LAPACK is enabled (usually provided by MKL)
  - CPU capability usage: AVX2
  - Build settings: BLAS_INFO=generic, BUILD_TYPE=RelWithDebInfo, CXX_COMPILER=/usr/bin/c++, CXX_FLAGS=-Wdate-time -D_FORTIFY_SOURCE=2 -g -O2, LAPACK_INFO=generic, PERF_WITH_AVX=1, TORCH_VERSION=1.13.0, USE_CUDA=OFF, USE_MKLDNN=ON, USE_OPENMP=ON,
`
	mklTorchConfig = `PyTorch built with:
  - GCC 9.3
  - Intel(R) oneAPI Math Kernel Library Version 2022.2-Product Build 20220804 for Intel(R) 64 architecture applications
  - Build settings: BLAS_INFO=mkl, BUILD_TYPE=Release, LAPACK_INFO=mkl, TORCH_VERSION=2.1.0, USE_CUDA=OFF,
`
	debianReference = "/usr/lib/x86_64-linux-gnu/blas/libblas.so.3.11.0"
	debianOpenBLAS  = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3"
	debianOpenBLASp = "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblasp-r0.3.21.so"
	debianOpenLAPCK = "/usr/lib/x86_64-linux-gnu/openblas-pthread/liblapack.so.3"
)

// blasFacts builds what torch_setup.py reports; gflops <= 0 means no probe.
func blasFacts(config, sgemm string, gflops float64, libs ...string) *TorchBLAS {
	b := &TorchBLAS{TorchConfig: config, SgemmLibrary: sgemm, Libraries: libs, Env: map[string]string{}}
	if gflops > 0 {
		b.Probe = &struct {
			N            int     `json:"n"`
			Threads      int     `json:"threads"`
			MatmulGFLOPS float64 `json:"matmul_gflops"`
		}{N: 512, Threads: 1, MatmulGFLOPS: gflops}
	}
	return b
}

func TestTorchConfigValue(t *testing.T) {
	for _, c := range []struct{ config, key, want string }{
		{debianTorchConfig, "BLAS_INFO", "generic"},
		{debianTorchConfig, "LAPACK_INFO", "generic"},
		{debianTorchConfig, "USE_MKLDNN", "ON"},
		{mklTorchConfig, "BLAS_INFO", "mkl"},
		{mklTorchConfig, "NO_SUCH_KEY", ""},
		{"", "BLAS_INFO", ""},
	} {
		if got := torchConfigValue(c.config, c.key); got != c.want {
			t.Errorf("torchConfigValue(%.30q…, %s) = %q, want %q", c.config, c.key, got, c.want)
		}
	}
}

func TestCheckTorchBLAS(t *testing.T) {
	for _, c := range []struct {
		name       string
		facts      *TorchBLAS
		device     string
		wantVendor string
		refuse     bool
	}{
		{"Debian, OpenBLAS installed", blasFacts(debianTorchConfig, debianOpenBLAS, 185, debianOpenBLAS, debianOpenLAPCK, debianOpenBLASp), "cpu", "openblas", false},
		{"Debian, reference BLAS", blasFacts(debianTorchConfig, debianReference, 3.4, debianReference), "cpu", "reference", true},
		// The reference libblas with OpenBLAS's liblapack: only the sgemm provider tells.
		{"reference BLAS beside OpenBLAS's LAPACK", blasFacts(debianTorchConfig, debianReference, 2.9, debianReference, debianOpenLAPCK, debianOpenBLASp), "cpu", "reference", true},
		{"the same without the sgemm provider", blasFacts(debianTorchConfig, "", 0, debianOpenLAPCK, debianOpenBLASp, debianReference), "", "reference", true},
		{"MKL linked into torch", blasFacts(mklTorchConfig, "", 150), "cpu", "mkl", false},
		{"conda torch on OpenBLAS", blasFacts(strings.Replace(mklTorchConfig, "BLAS_INFO=mkl", "BLAS_INFO=open", 1), "", 120), "cpu", "openblas", false},
		{"BLIS", blasFacts(debianTorchConfig, "/usr/lib/x86_64-linux-gnu/blis-openmp/libblas.so.3", 90), "cpu", "blis", false},
		// Each signal refuses alone.
		{"an unknown library at reference speed", blasFacts(debianTorchConfig, "/opt/x/libfastmath.so", 5), "cpu", "", true},
		{"a tuned library at reference speed", blasFacts(debianTorchConfig, debianOpenBLAS, 12), "cpu", "openblas", true},
		{"a reference library, no probe", blasFacts(debianTorchConfig, debianReference, 0), "cpu", "reference", true},
		{"nothing to tell by", blasFacts(debianTorchConfig, "", 0), "cpu", "", true},
		{"an unknown library at tuned speed", blasFacts(debianTorchConfig, "/opt/x/libfastmath.so", 150), "cpu", "", false},
		// On a GPU the CPU's BLAS is not compared.
		{"reference BLAS, CUDA run", blasFacts(debianTorchConfig, debianReference, 3.4, debianReference), "cuda", "reference", false},
	} {
		err := CheckTorchBLAS(c.facts, c.device)
		if c.facts.Vendor != c.wantVendor {
			t.Errorf("%s: vendor %q, want %q", c.name, c.facts.Vendor, c.wantVendor)
		}
		if c.refuse != (err != nil) {
			t.Errorf("%s: refused = %v (%v), want %v", c.name, err != nil, err, c.refuse)
		}
		if err != nil && (!errors.Is(err, ErrReferenceBLAS) || strings.Contains(err.Error(), "\n") ||
			!strings.Contains(err.Error(), "libopenblas0-pthread")) {
			t.Errorf("%s: %q should be one line wrapping ErrReferenceBLAS and say how to fix it", c.name, err)
		}
	}
	if err := CheckTorchBLAS(nil, "cpu"); !errors.Is(err, ErrReferenceBLAS) {
		t.Errorf("no facts: %v, want a refusal", err)
	}
	facts := blasFacts(debianTorchConfig, debianOpenBLAS, 185)
	if CheckTorchBLAS(facts, "cpu"); facts.BLASInfo != "generic" {
		t.Errorf("BLASInfo = %q, want it read from the config", facts.BLASInfo)
	}
}

func TestTorchEnv(t *testing.T) {
	environ := []string{"PATH=/usr/bin", "OPENBLAS_CORETYPE=Haswell", "HOME=/root", "OPENBLAS_L2_SIZE=512",
		"OPENBLAS_NUM_THREADS=1", "OPENBLASX=kept", "NOTE=OPENBLAS_CORETYPE=x", "EMPTY="}
	sameMap := func(what string, got, want map[string]string) {
		t.Helper()
		if len(got) != len(want) {
			t.Errorf("%s = %v, want %v", what, got, want)
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s[%s] = %q, want %q", what, k, got[k], v)
			}
		}
	}
	openblas := map[string]string{"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "512", "OPENBLAS_NUM_THREADS": "1"}

	// Without jemalloc: the OPENBLAS_* variables go, OMP_WAIT_POLICY comes.
	env, change := torchEnv(environ, "")
	if want := []string{"PATH=/usr/bin", "HOME=/root", "OPENBLASX=kept", "NOTE=OPENBLAS_CORETYPE=x", "EMPTY=",
		"OMP_WAIT_POLICY=PASSIVE"}; !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	sameMap("removed", change.Removed, openblas)
	sameMap("added", change.Added, map[string]string{"OMP_WAIT_POLICY": "PASSIVE"})

	// With jemalloc: preloaded before any other preload, with its decay off.
	const lib = "/usr/lib/x86_64-linux-gnu/libjemalloc.so.2"
	env, change = torchEnv(append(slices.Clone(environ), "LD_PRELOAD=/opt/x.so"), lib)
	if !slices.Contains(env, "LD_PRELOAD="+lib+" /opt/x.so") || !slices.Contains(env, "MALLOC_CONF="+jemallocConf) ||
		slices.Contains(env, "LD_PRELOAD=/opt/x.so") {
		t.Errorf("env = %q, want jemalloc preloaded before /opt/x.so and MALLOC_CONF set", env)
	}
	removed := maps.Clone(openblas)
	removed["LD_PRELOAD"] = "/opt/x.so"
	sameMap("removed", change.Removed, removed)
	sameMap("added", change.Added, map[string]string{"LD_PRELOAD": lib + " /opt/x.so", "MALLOC_CONF": jemallocConf,
		"OMP_WAIT_POLICY": "PASSIVE"})

	// What the user set is kept.
	env, change = torchEnv([]string{"MALLOC_CONF=narenas:1", "OMP_WAIT_POLICY=ACTIVE"}, lib)
	if want := []string{"MALLOC_CONF=narenas:1", "OMP_WAIT_POLICY=ACTIVE", "LD_PRELOAD=" + lib}; !slices.Equal(env, want) {
		t.Errorf("env = %q, want %q", env, want)
	}
	sameMap("added", change.Added, map[string]string{"LD_PRELOAD": lib})
}

// fakePython writes a shell script that stands in for python3 with torch: "-c …" (TorchAvailable's import,
// TorchPreflight's facts) runs onCommand, anything else (a script) runs body. Both may use $OPENBLAS_ENV, the
// OPENBLAS_* variables the script saw as JSON object members, to report them like torch_setup.py.
func fakePython(t *testing.T, onCommand, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "python3")
	script := "#!/bin/sh\n" +
		`OPENBLAS_ENV=$(env | grep '^OPENBLAS_' | sed 's/^\([^=]*\)=\(.*\)$/"\1":"\2"/' | paste -sd, -)` + "\n" +
		"if [ \"$1\" = -c ]; then\n" + onCommand + "\nexit 0\nfi\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// shellEnv, inside a fake's single-quoted printf argument, becomes the OPENBLAS_* variables the fake saw.
const shellEnv = `'"$OPENBLAS_ENV"'`

// factsJSON is torch_setup.py's blas_facts for OpenBLAS (tuned) or the reference BLAS, with env as the
// members of its "env" object.
func factsJSON(tuned bool, env string) string {
	lib, gflops := debianOpenBLAS, "185.0"
	if !tuned {
		lib, gflops = debianReference, "3.4"
	}
	config, _ := json.Marshal(debianTorchConfig)
	return `{"torch_config":` + string(config) + `,"sgemm_library":"` + lib + `","libraries":["` + lib + `"],` +
		`"env":{` + env + `},"probe":{"n":512,"threads":1,"matmul_gflops":` + gflops + `}}`
}

// layerOutput is torch_memory_layer.py's output for tinyConfig's sizes, printed by a fake.
func layerOutput(tuned bool) string {
	return `{"torch_version":"9.9","device":"cpu","threads":2,"value_grad":"best","value_grads":["dense","sparse"],"blas":` + factsJSON(tuned, shellEnv) + `,` +
		`"ffn":{"model":"swiglu","forward":{"seconds":0.002,"median_seconds":0.002,"repeats":1},"forward_backward":{"seconds":0.004,"median_seconds":0.004,"repeats":1}},` +
		`"memory":[{"model":"memory","n_keys":8,"forward":{"seconds":0.01,"median_seconds":0.01,"repeats":1},"forward_backward":{"seconds":0.02,"median_seconds":0.02,"repeats":1}},` +
		`{"model":"memory","n_keys":16,"forward":{"seconds":0.01,"median_seconds":0.01,"repeats":1},"forward_backward":{"seconds":0.04,"median_seconds":0.04,"repeats":1}}]}`
}

func TestRunTorchParsesAndCompares(t *testing.T) {
	c := tinyConfig()
	t.Setenv("OPENBLAS_CORETYPE", "Haswell")
	t.Setenv("OPENBLAS_L2_SIZE", "512")
	py := fakePython(t, "", "printf '%s\\n' '"+layerOutput(true)+"'")
	ctx := context.Background()
	if err := TorchAvailable(ctx, py); err != nil {
		t.Fatal(err)
	}
	res, err := RunTorch(ctx, TorchOptions{Python: py, Script: "scripts/torch_memory_layer.py"}, c)
	if err != nil {
		t.Fatal(err)
	}
	cmd := strings.Join(res.Command, " ")
	if res.TorchVersion != "9.9" || len(res.Memory) != 2 || res.FFN == nil || !strings.Contains(cmd, "--n-keys 8,16") ||
		!strings.Contains(cmd, "--value-grad best") || res.ValueGrad != "best" || !slices.Equal(res.ValueGrads, []string{"dense", "sparse"}) {
		t.Fatalf("parsed %+v", res)
	}
	// The script saw no OPENBLAS_* variable, the result records the ones removed, and this process keeps them.
	if res.BLAS == nil || res.BLAS.Vendor != "openblas" || len(res.BLAS.Env) != 0 {
		t.Errorf("BLAS = %+v, want OpenBLAS and an empty env", res.BLAS)
	}
	if res.EnvChange.Removed["OPENBLAS_CORETYPE"] != "Haswell" || res.EnvChange.Removed["OPENBLAS_L2_SIZE"] != "512" {
		t.Errorf("EnvChange = %v", res.EnvChange)
	}
	if os.Getenv("OPENBLAS_CORETYPE") != "Haswell" {
		t.Error("RunTorch changed its own process's environment")
	}

	ours := &LayerResult{
		FFN: LayerPoint{Model: "swiglu", Forward: Timing{Seconds: 0.004}, ForwardBackward: Timing{Seconds: 0.004}},
		Memory: []LayerPoint{
			{Model: "memory", NKeys: 8, Forward: Timing{Seconds: 0.02}, ForwardBackward: Timing{Seconds: 0.01}},
			{Model: "memory", NKeys: 16, Forward: Timing{Seconds: 0.03}, ForwardBackward: Timing{Seconds: 0.08}},
		},
		Host: []LayerPoint{
			{Model: "memory-host", NKeys: 8, Forward: Timing{Seconds: 0.005}, ForwardBackward: Timing{Seconds: 0.01}},
			{Model: "memory-host", NKeys: 16, Forward: Timing{Seconds: 0.005}, ForwardBackward: Timing{Seconds: 0.01}},
		},
	}
	want := []TorchRatio{
		{Model: "swiglu", ForwardOursOverTorch: 2, ForwardBackwardOursOverTorch: 1},
		{Model: "memory", NKeys: 8, ForwardOursOverTorch: 2, ForwardBackwardOursOverTorch: 0.5,
			HostForwardOursOverTorch: 0.5, HostForwardBackwardOursOverTorch: 0.5},
		{Model: "memory", NKeys: 16, ForwardOursOverTorch: 3, ForwardBackwardOursOverTorch: 2,
			HostForwardOursOverTorch: 0.5, HostForwardBackwardOursOverTorch: 0.25},
	}
	checkRatios := func(got, want []TorchRatio) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("CompareTorch = %+v, want %+v", got, want)
		}
		for i := range want {
			g, w := got[i], want[i]
			if g.Model != w.Model || g.NKeys != w.NKeys || math.Abs(g.ForwardOursOverTorch-w.ForwardOursOverTorch) > 1e-9 ||
				math.Abs(g.ForwardBackwardOursOverTorch-w.ForwardBackwardOursOverTorch) > 1e-9 ||
				math.Abs(g.HostForwardOursOverTorch-w.HostForwardOursOverTorch) > 1e-9 ||
				math.Abs(g.HostForwardBackwardOursOverTorch-w.HostForwardBackwardOursOverTorch) > 1e-9 {
				t.Errorf("CompareTorch[%d] = %+v, want %+v", i, g, w)
			}
		}
	}
	checkRatios(CompareTorch(ours, res), want)

	// The host path alone still gets its memory ratios.
	ours.Memory = nil
	for i := 1; i < len(want); i++ {
		want[i].ForwardOursOverTorch, want[i].ForwardBackwardOursOverTorch = 0, 0
	}
	checkRatios(CompareTorch(ours, res), want)
}

func TestTorchRefusesReferenceBLAS(t *testing.T) {
	ctx := context.Background()
	py := fakePython(t, "printf '%s\\n' '"+factsJSON(false, shellEnv)+"'", "printf '%s\\n' '"+layerOutput(false)+"'")
	_, err := RunTorch(ctx, TorchOptions{Python: py, Script: "x.py"}, tinyConfig())
	if !errors.Is(err, ErrReferenceBLAS) || strings.Contains(err.Error(), "\n") {
		t.Errorf("RunTorch on the reference BLAS: %v, want a one-line refusal", err)
	}
	if _, err := TorchPreflight(ctx, TorchOptions{Python: py, Script: "scripts/x.py"}); !errors.Is(err, ErrReferenceBLAS) {
		t.Errorf("TorchPreflight on the reference BLAS: %v, want a refusal", err)
	}
	// A GPU run is not refused for its CPU's BLAS.
	if _, err := TorchPreflight(ctx, TorchOptions{Python: py, Script: "scripts/x.py", Device: "cuda"}); err != nil {
		t.Errorf("TorchPreflight for cuda: %v", err)
	}

	t.Setenv("OPENBLAS_CORETYPE", "Haswell")
	tuned := fakePython(t, "printf '%s\\n' '"+factsJSON(true, shellEnv)+"'", "exit 1")
	b, err := TorchPreflight(ctx, TorchOptions{Python: tuned, Script: "scripts/x.py"})
	if err != nil || b.Vendor != "openblas" || len(b.Env) != 0 {
		t.Errorf("TorchPreflight on OpenBLAS: %+v, %v; want openblas with no OPENBLAS_* variable seen", b, err)
	}
}

func TestTorchErrors(t *testing.T) {
	ctx := context.Background()
	c := tinyConfig()
	err := TorchAvailable(ctx, filepath.Join(t.TempDir(), "no-such-python"))
	if err == nil || !strings.Contains(err.Error(), TorchInstallHint) {
		t.Errorf("missing python: %v, want the install hint", err)
	}
	noTorch := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(noTorch, []byte("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = TorchAvailable(ctx, noTorch)
	if err == nil || !strings.Contains(err.Error(), "No module named 'torch'") || !strings.Contains(err.Error(), TorchInstallHint) {
		t.Errorf("python without torch: %v", err)
	}
	for name, body := range map[string]string{
		"failing":     "echo 'RuntimeError: boom' >&2; exit 1",
		"not JSON":    "echo hello",
		"no facts":    `printf '%s\n' '{"memory":[]}'`,
		"wrong sizes": `printf '%s\n' '{"blas":` + factsJSON(true, shellEnv) + `,"memory":[]}'`,
	} {
		_, err := RunTorch(ctx, TorchOptions{Python: fakePython(t, "", body), Script: "x.py"}, c)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want a one-line error", name, err)
		}
	}
}

// smallLM is the small preset's model (experiments/lab) with kind k and a vocabulary of v.
func smallLM(k lm.Kind, v int) lm.Config {
	return lm.Config{Vocab: v, Dim: 128, Layers: 4, Heads: 4, SeqLen: 64, TiedEmbeddings: true, Model: k,
		Memory: memlayer.Config{Heads: 4, KNN: 16, NKeys: 64, KDim: 128, QueryBias: true}}
}

func TestTorchLMConfigFrom(t *testing.T) {
	tc := train.DefaultConfig()
	tc.BatchSize, tc.SeqLen, tc.LR, tc.ValueLR = 16, 64, 2e-3, 4e-3
	c := TorchLMConfigFrom(smallLM(lm.KindDense, 1254), tc)
	if c.Vocab != 1254 || c.Dim != 128 || c.Layers != 4 || c.Heads != 4 || c.SeqLen != 64 || c.Batch != 16 ||
		c.FFNHidden != 344 || !c.TiedEmbeddings || c.RopeBase != lm.DefaultRopeBase || c.NormEps != lm.DefaultNormEps {
		t.Errorf("model sizes: %+v", c)
	}
	if c.Memory.Heads != 4 || c.Memory.KNN != 16 || c.Memory.NKeys != 64 || c.Memory.KDim != 128 || c.Memory.VDim != 128 || !c.Memory.QueryBias {
		t.Errorf("memory (v_dim resolved to dim): %+v", c.Memory)
	}
	if c.LR != 2e-3 || c.ValueLR != 4e-3 || c.WeightDecay != tc.WeightDecay || c.Beta2 != tc.Beta2 || c.GradClip != tc.GradClip {
		t.Errorf("optimizer: %+v", c)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "steps=0") {
		t.Errorf("no steps, no models: %v, want steps named", err)
	}
	c.Steps, c.Threads = 5, 2
	for _, bad := range []struct {
		models []TorchLMModel
		field  string
	}{
		{nil, "models"},
		{[]TorchLMModel{{Kind: "moe"}}, "models[0].kind"},
		{[]TorchLMModel{{Kind: "memory", NKeys: 8}}, "models[0].n_keys=8"},
		{[]TorchLMModel{{Kind: "dense"}, {Kind: "memory+", Values: "lazy"}}, "models[1].values"},
	} {
		c.Models = bad.models
		if err := c.Validate(); err == nil || !strings.Contains(err.Error(), bad.field) || strings.Contains(err.Error(), "\n") {
			t.Errorf("models %+v: %v, want one line naming %s", bad.models, err, bad.field)
		}
	}
}

// lmOutput is torch_lm_bench.py's output for a dense and a memory model, tuned or on the reference BLAS.
func lmOutput(tuned bool, denseSteps string) string {
	return `{"torch_version":"9.9","device":"cpu","threads":2,"tokens_per_step":1024,"blas":` + factsJSON(tuned, "") + `,` +
		`"models":[{"kind":"dense","memory_layers":[],"params":100,"value_params":0,"step_seconds":` + denseSteps + `,` +
		`"min_step_seconds":0.1,"tokens_per_second":10240,"ratio_to_dense":1,"losses":[7.1,7.0]},` +
		`{"kind":"memory","n_keys":64,"values":"sparse","memory_layers":[2],"params":200,"value_params":80,"step_seconds":[0.2,0.25],` +
		`"min_step_seconds":0.2,"tokens_per_second":5120,"ratio_to_dense":0.5,"losses":[7.1,7.05]}]}`
}

func TestParseTorchLM(t *testing.T) {
	c := TorchLMConfig{Steps: 2, Models: []TorchLMModel{{Kind: "dense"}, {Kind: "memory", NKeys: 64}}}
	o := TorchOptions{Python: "/usr/bin/python3", Script: "scripts/torch_lm_bench.py"}
	change := TorchEnvChange{Removed: map[string]string{"OPENBLAS_CORETYPE": "Haswell"}}
	res, err := parseTorchLM([]byte(lmOutput(true, "[0.1,0.12]")), o, c, change)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Models[1]
	if len(res.Models) != 2 || m.Kind != "memory" || m.NKeys != 64 || m.Values != "sparse" || !slices.Equal(m.MemoryLayers, []int{2}) ||
		m.TokensPerSecond != 5120 || m.RatioToDense != 0.5 || m.ValueParams != 80 || len(m.StepSeconds) != 2 ||
		res.BLAS.Vendor != "openblas" || res.EnvChange.Removed["OPENBLAS_CORETYPE"] != "Haswell" || res.TokensPerStep != 1024 {
		t.Errorf("parsed %+v", res)
	}
	for name, out := range map[string]string{
		"reference BLAS":    lmOutput(false, "[0.1,0.12]"),
		"a zero step time":  lmOutput(true, "[0.1,0]"),
		"missing step time": lmOutput(true, "[0.1]"),
		"not JSON":          "hello",
	} {
		if _, err := parseTorchLM([]byte(out), o, c, TorchEnvChange{}); err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: %v, want a one-line error", name, err)
		}
	}
	c.Models = c.Models[:1]
	if _, err := parseTorchLM([]byte(lmOutput(true, "[0.1,0.12]")), o, c, TorchEnvChange{}); err == nil {
		t.Error("two models for one asked: no error")
	}
}

// TestTorchLMScriptMirrorsLM runs scripts/torch_lm_bench.py on tiny models when /usr/bin/python3 has torch:
// the PyTorch models must have exactly the parameters lm.Count gives for the same configs, the memory layers
// in lm's placement, and start at the loss of a uniform guess.
func TestTorchLMScriptMirrorsLM(t *testing.T) {
	const python = "/usr/bin/python3"
	if testing.Short() {
		t.Skip("runs PyTorch")
	}
	ctx := context.Background()
	if err := TorchAvailable(ctx, python); err != nil {
		t.Skipf("no PyTorch: %v", err)
	}
	if _, err := exec.LookPath(python); err != nil {
		t.Skip(err)
	}
	script := filepath.Join("..", "..", "scripts", "torch_lm_bench.py")
	base := lm.Config{Vocab: 97, Dim: 16, Layers: 4, Heads: 2, SeqLen: 8, TiedEmbeddings: true,
		Memory: memlayer.Config{Heads: 2, KNN: 3, NKeys: 6, KDim: 8, QueryBias: true}}
	tc := train.DefaultConfig()
	tc.BatchSize, tc.SeqLen = 2, 8
	c := TorchLMConfigFrom(base, tc)
	c.Models = []TorchLMModel{{Kind: "dense"}, {Kind: "memory"}, {Kind: "memory", NKeys: 9, Values: "dense"}, {Kind: "memory+"}}
	c.Warmup, c.Steps, c.Threads = 1, 2, 1
	res, err := RunTorchLM(ctx, TorchOptions{Python: python, Script: script}, c)
	if errors.Is(err, ErrReferenceBLAS) {
		t.Skipf("this machine's torch: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	if res.Runtime == nil || res.Runtime.OMPWaitPolicy != "PASSIVE" {
		t.Errorf("runtime %+v, want OMP_WAIT_POLICY=PASSIVE", res.Runtime)
	} else if lib := findJemalloc(); lib != "" && (!strings.Contains(res.Runtime.Allocator, "jemalloc") || res.Runtime.MallocConf != jemallocConf) {
		t.Errorf("runtime %+v, want %s preloaded with MALLOC_CONF=%s", res.Runtime, lib, jemallocConf)
	}
	for i, r := range res.Models {
		cfg := base
		cfg.Model = lm.Kind(r.Kind)
		if n := c.Models[i].NKeys; n > 0 {
			cfg.Memory.NKeys = n
		}
		want := lm.Count(cfg)
		if r.Params != want.TotalParams || r.ValueParams != want.MemoryValueParams {
			t.Errorf("%s n_keys=%d: %d params (%d values), lm.Count says %d (%d)", r.Kind, r.NKeys, r.Params, r.ValueParams,
				want.TotalParams, want.MemoryValueParams)
		}
		if !slices.Equal(r.MemoryLayers, cfg.Placement()) && !(len(r.MemoryLayers) == 0 && cfg.Placement() == nil) {
			t.Errorf("%s: memory layers %v, lm places them at %v", r.Kind, r.MemoryLayers, cfg.Placement())
		}
		// Unit-RMS states against N(0, 1/dim) embeddings give logits of about unit variance: a first loss of
		// about ln(vocab) + 1/2.
		if first, uniform := r.Losses[0], math.Log(float64(base.Vocab)); !(first > uniform-0.5 && first < uniform+1.5) {
			t.Errorf("%s: first loss %.3f, want about ln(vocab) + 0.5 = %.3f", r.Kind, first, uniform+0.5)
		}
	}
}
