package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
)

// TorchInstallHint is how to get PyTorch for the side-by-side run on Debian: torch, a tuned BLAS for it (without
// one, torch multiplies with the reference BLAS) and jemalloc (see torchEnv).
const TorchInstallHint = "apt-get install python3-torch libopenblas0-pthread libjemalloc2"

// TorchOptions says how to run one of our PyTorch scripts (scripts/torch_memory_layer.py for RunTorch,
// scripts/torch_lm_bench.py for RunTorchLM; torch_setup.py must sit beside them).
type TorchOptions struct {
	// Python is the interpreter, e.g. /usr/bin/python3 (Debian's python3-torch installs there).
	Python string
	// Script is the script's path.
	Script string
	// Device is "cpu" or "cuda".
	Device string
	// Threads is torch.set_num_threads on CPU (and OpenBLAS's thread count when torch runs OpenBLAS).
	Threads int
	// ValueGrad is the memory layer's value-table gradient in PyTorch: "sparse" (the rows read), "dense"
	// (nn.Embedding's default, the whole table) or "best" (the default when empty: both timed, the faster
	// forward+backward kept at each size: PyTorch at its best).
	ValueGrad string
}

// TorchResult is what the PyTorch script printed: the same blocks, timed the same way.
type TorchResult struct {
	TorchVersion  string `json:"torch_version"`
	PythonVersion string `json:"python_version"`
	Device        string `json:"device"`
	DeviceName    string `json:"device_name"`
	Threads       int    `json:"threads"`
	// BLAS is what torch ran its matrix products on; CheckTorchBLAS accepted it (reports written before
	// this was recorded have none: their torch may have run the reference BLAS).
	BLAS *TorchBLAS `json:"blas,omitempty"`
	// ValueGrad is TorchOptions.ValueGrad (empty in old reports: dense). ValueGrads says which gradient
	// each Memory point had; MemoryVariants are all those timed (with "best", both at each size).
	ValueGrad      string         `json:"value_grad,omitempty"`
	FFN            *LayerPoint    `json:"ffn,omitempty"`
	Memory         []LayerPoint   `json:"memory"`
	ValueGrads     []string       `json:"value_grads,omitempty"`
	MemoryVariants []TorchVariant `json:"memory_variants,omitempty"`
	// Command is the command line that produced it.
	Command []string `json:"command"`
	// Runtime is the malloc and OpenMP setup torch ran with; EnvChange how its environment differed from
	// memlab's (see torchEnv; BLAS.Env are the OPENBLAS_* variables it saw).
	Runtime   *TorchRuntime  `json:"runtime,omitempty"`
	EnvChange TorchEnvChange `json:"env_change"`
}

// TorchRuntime is the malloc and OpenMP setup a PyTorch script ran with, as it reported it.
type TorchRuntime struct {
	// Allocator is the loaded jemalloc or tcmalloc ("" for glibc's malloc); MallocConf is jemalloc's
	// MALLOC_CONF.
	Allocator     string `json:"allocator"`
	MallocConf    string `json:"malloc_conf"`
	OMPWaitPolicy string `json:"omp_wait_policy"`
}

// TorchEnvChange is how a PyTorch command's environment differed from memlab's (name → value).
type TorchEnvChange struct {
	Removed map[string]string `json:"removed,omitempty"`
	Added   map[string]string `json:"added,omitempty"`
}

// TorchVariant is PyTorch's memory layer at one size with one value-table gradient, "dense" or "sparse".
type TorchVariant struct {
	NKeys           int    `json:"n_keys"`
	ValueGrad       string `json:"value_grad"`
	Forward         Timing `json:"forward"`
	ForwardBackward Timing `json:"forward_backward"`
}

// TorchRatio compares our time with PyTorch's for one block, both measured in the same run.
type TorchRatio struct {
	Model string `json:"model"`
	NKeys int    `json:"n_keys,omitempty"`
	// ForwardOursOverTorch and ForwardBackwardOursOverTorch are our time divided by PyTorch's (above 1:
	// we are slower): the graph path for a memory block (absent when it was not run).
	ForwardOursOverTorch         float64 `json:"forward_ours_over_torch,omitempty"`
	ForwardBackwardOursOverTorch float64 `json:"forward_backward_ours_over_torch,omitempty"`
	// HostForwardOursOverTorch and HostForwardBackwardOursOverTorch are the same for the host path of a
	// memory block (absent for the FFN and when the host path was not run).
	HostForwardOursOverTorch         float64 `json:"host_forward_ours_over_torch,omitempty"`
	HostForwardBackwardOursOverTorch float64 `json:"host_forward_backward_ours_over_torch,omitempty"`
}

// TorchBLAS is what scripts/torch_setup.py reports about the BLAS that torch's matrix products ran on,
// and Vendor, CheckTorchBLAS's reading of it.
type TorchBLAS struct {
	// TorchConfig is torch.__config__.show(); BLASInfo is its BLAS_INFO, read by CheckTorchBLAS ("generic"
	// on Debian, whose torch multiplies with whichever libblas.so.3 the system provides).
	TorchConfig string `json:"torch_config"`
	BLASInfo    string `json:"blas_info"`
	// SgemmLibrary is the library that provides sgemm_ to libtorch ("" when the script could not tell);
	// Libraries are all the BLAS and LAPACK libraries loaded.
	SgemmLibrary string   `json:"sgemm_library"`
	Libraries    []string `json:"libraries"`
	// OpenBLAS is OpenBLAS's description of itself when torch runs it: its build, the CPU core whose
	// kernels it chose and its threads.
	OpenBLAS *struct {
		Config  string `json:"config"`
		Core    string `json:"core"`
		Threads int    `json:"threads"`
	} `json:"openblas,omitempty"`
	// Env are the OPENBLAS_* variables the PyTorch process saw (none when memlab ran it).
	Env map[string]string `json:"env"`
	// Probe is the speed of a 512³ float32 matrix product on one thread.
	Probe *struct {
		N            int     `json:"n"`
		Threads      int     `json:"threads"`
		MatmulGFLOPS float64 `json:"matmul_gflops"`
	} `json:"probe,omitempty"`
	// Vendor is "openblas", "mkl", "blis", … for a tuned BLAS, "reference" for the reference one, "" when
	// the facts do not tell.
	Vendor string `json:"vendor"`
}

// ErrReferenceBLAS is wrapped by the error of a PyTorch run that CheckTorchBLAS refused.
var ErrReferenceBLAS = errors.New("PyTorch's matrix products run on the reference BLAS")

// minTunedGFLOPS is the one-thread speed of the probe's 512³ float32 product below which CheckTorchBLAS
// calls a BLAS reference-speed. Our Go build needs AVX2 and FMA (GOAMD64=v3), and on such a core a tuned
// sgemm does 16+ flops a cycle: OpenBLAS measured 155–200 GFLOP/s here (90–100 with its kernels forced to
// Haswell's), while the reference BLAS's loops measured 3–6.
const minTunedGFLOPS = 20

// tunedBLAS are tuned BLAS implementations, as their names appear in library paths (Debian keeps each
// vendor's libblas.so.3 in a directory named after it) and in torch's BLAS_INFO.
var tunedBLAS = []string{"openblas", "mkl", "blis", "atlas", "armpl", "accelerate", "veclib", "eigen"}

// blasVendor names the BLAS a library path belongs to: a tunedBLAS name, "reference" for a libblas or
// libcblas that names no vendor (Debian's reference is .../blas/libblas.so.3), else "".
func blasVendor(path string) string {
	p := strings.ToLower(path)
	for _, v := range tunedBLAS {
		if strings.Contains(p, v) {
			return v
		}
	}
	base := filepath.Base(p)
	for _, prefix := range []string{"libblas", "libcblas", "librefblas"} {
		if strings.HasPrefix(base, prefix) {
			return "reference"
		}
	}
	return ""
}

// torchConfigValue returns the value of key in torch.__config__.show()'s build settings, a line of
// comma-separated KEY=value pairs ("" when absent).
func torchConfigValue(config, key string) string {
	for _, line := range strings.Split(config, "\n") {
		for _, field := range strings.Split(line, ",") {
			field = strings.TrimSpace(field)
			if _, after, ok := strings.Cut(field, ": "); ok { // "- Build settings: BLAS_INFO=generic"
				field = after
			}
			if k, v, ok := strings.Cut(field, "="); ok && k == key {
				return strings.TrimSpace(v)
			}
		}
	}
	return ""
}

// vendor reads the facts in decreasing order of certainty: the library that provides sgemm_ to torch; then
// torch's BLAS_INFO when it names a vendor (a statically linked MKL loads no library); then the loaded
// libraries, where any reference libblas counts as reference (two loaded libblas cannot be told apart).
func (b *TorchBLAS) vendor() string {
	if v := blasVendor(b.SgemmLibrary); v != "" {
		return v
	}
	switch info := strings.ToLower(b.BLASInfo); info {
	case "", "generic":
	case "open":
		return "openblas"
	default:
		if v := blasVendor(info); v != "" && v != "reference" {
			return v
		}
	}
	vendor := ""
	for _, lib := range b.Libraries {
		switch v := blasVendor(lib); {
		case v == "reference":
			return v
		case vendor == "":
			vendor = v
		}
	}
	return vendor
}

// CheckTorchBLAS sets b.Vendor and refuses (an error wrapping ErrReferenceBLAS) a PyTorch on device "cpu"
// (or "") whose matrix products run on the reference BLAS: 30–60× slower than OpenBLAS on a bare matrix
// product here, 19× on a SwiGLU block, it would make any comparison flatter us. Either of two independent
// signals refuses:
//
//   - the library: Vendor is "reference";
//   - the speed: the one-thread probe ran below minTunedGFLOPS.
//
// With neither signal available (no library identified, no probe) it refuses too: it cannot tell. On a
// GPU the CPU's BLAS takes no part in the comparison: only Vendor is set.
func CheckTorchBLAS(b *TorchBLAS, device string) error {
	if b == nil {
		return fmt.Errorf("bench: torch: the script reported no BLAS facts (is scripts/torch_setup.py next to it?): %w", ErrReferenceBLAS)
	}
	b.BLASInfo = torchConfigValue(b.TorchConfig, "BLAS_INFO")
	b.Vendor = b.vendor()
	if device != "" && device != "cpu" {
		return nil
	}
	const fix = "install a tuned BLAS (Debian: apt-get install libopenblas0-pthread) and rerun"
	slow := b.Probe != nil && b.Probe.MatmulGFLOPS < minTunedGFLOPS
	if b.Vendor == "reference" || slow {
		var why []string
		if lib := b.SgemmLibrary; lib != "" {
			why = append(why, "sgemm from "+lib)
		}
		if b.Probe != nil {
			why = append(why, fmt.Sprintf("a %d³ product at %.1f GFLOP/s on one thread, under %d", b.Probe.N, b.Probe.MatmulGFLOPS, minTunedGFLOPS))
		}
		if len(why) == 0 {
			why = append(why, "libraries "+strings.Join(b.Libraries, ", "))
		}
		return fmt.Errorf("bench: torch: refusing to compare: %w (%s); %s", ErrReferenceBLAS, strings.Join(why, "; "), fix)
	}
	if b.Vendor == "" && b.Probe == nil {
		return fmt.Errorf("bench: torch: refusing to compare: cannot tell whether %w (no BLAS library identified, no speed probe); %s",
			ErrReferenceBLAS, fix)
	}
	return nil
}

// TorchAvailable returns nil when python can import torch, else an error that says how to install it.
func TorchAvailable(ctx context.Context, python string) error {
	path, err := exec.LookPath(python)
	if err != nil {
		return fmt.Errorf("%s not found (on Debian: %s)", python, TorchInstallHint)
	}
	cmd := exec.CommandContext(ctx, path, "-c", "import torch")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%s cannot import torch (%s); on Debian: %s", python, lastLine(stderr.String(), err), TorchInstallHint)
	}
	return nil
}

// RunTorch runs the PyTorch script with c's sizes and parses the JSON object it prints. It refuses (an error
// wrapping ErrReferenceBLAS) to compare against a torch whose matrix products ran on the reference BLAS.
func RunTorch(ctx context.Context, o TorchOptions, c Config) (*TorchResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	nKeys := make([]string, len(c.NKeys))
	for i, n := range c.NKeys {
		nKeys[i] = strconv.Itoa(n)
	}
	device, threads, valueGrad := o.Device, o.Threads, o.ValueGrad
	if device == "" {
		device = "cpu"
	}
	if threads < 1 {
		threads = 2
	}
	if valueGrad == "" {
		valueGrad = "best"
	}
	args := []string{o.Script,
		"--dim", strconv.Itoa(c.Dim), "--heads", strconv.Itoa(c.Heads), "--k-dim", strconv.Itoa(c.KDim),
		"--knn", strconv.Itoa(c.KNN), "--v-dim", strconv.Itoa(c.VDim), "--tokens", strconv.Itoa(c.Tokens),
		"--ffn-hidden", strconv.Itoa(c.ffnHidden()), "--n-keys", strings.Join(nKeys, ","),
		"--warmup", strconv.Itoa(c.Warmup), "--repeats", strconv.Itoa(c.Repeats),
		"--threads", strconv.Itoa(threads), "--device", device, "--seed", strconv.FormatInt(c.Seed, 10),
		"--value-grad", valueGrad,
	}
	stdout, change, err := runPython(ctx, o.Python, args, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: torch: %s %s: %s", o.Python, o.Script, err.Error())
	}
	var res TorchResult
	if err := json.Unmarshal(stdout, &res); err != nil {
		return nil, fmt.Errorf("bench: torch: %s printed no valid JSON object: %v", o.Script, err)
	}
	if err := CheckTorchBLAS(res.BLAS, device); err != nil {
		return nil, err
	}
	if len(res.Memory) != len(c.NKeys) || len(res.ValueGrads) != len(c.NKeys) {
		return nil, fmt.Errorf("bench: torch: %s returned %d memory sizes (%d value gradients), want %d", o.Script,
			len(res.Memory), len(res.ValueGrads), len(c.NKeys))
	}
	res.Command, res.EnvChange = append([]string{o.Python}, args...), change
	points := make([]*LayerPoint, 0, len(res.Memory)+1)
	for i := range res.Memory {
		points = append(points, &res.Memory[i])
	}
	if res.FFN != nil {
		points = append(points, res.FFN)
	}
	for _, p := range points {
		if !(p.Forward.Seconds > 0) || !(p.ForwardBackward.Seconds > 0) {
			return nil, fmt.Errorf("bench: torch: %s n_keys=%d has a non-positive time", p.Model, p.NKeys)
		}
		// Derived here from the times, as for our own blocks.
		p.ForwardTokensPerSecond = ratio(float64(c.Tokens), p.Forward.Seconds)
		p.ForwardBackwardTokensPerSecond = ratio(float64(c.Tokens), p.ForwardBackward.Seconds)
	}
	if res.FFN != nil {
		for i := range res.Memory {
			p := &res.Memory[i]
			p.ForwardVsFFN = ratio(p.ForwardTokensPerSecond, res.FFN.ForwardTokensPerSecond)
			p.ForwardBackwardVsFFN = ratio(p.ForwardBackwardTokensPerSecond, res.FFN.ForwardBackwardTokensPerSecond)
		}
		res.FFN.ForwardVsFFN, res.FFN.ForwardBackwardVsFFN = 1, 1
	}
	return &res, nil
}

// TorchPreflight checks in about a second, before any long measurement, that python's torch runs a tuned
// BLAS on CPU: it runs scripts/torch_setup.py (found next to o.Script) the way RunTorch runs the benchmark
// and returns its facts, with an error wrapping ErrReferenceBLAS when CheckTorchBLAS refuses them.
func TorchPreflight(ctx context.Context, o TorchOptions) (*TorchBLAS, error) {
	threads := o.Threads
	if threads < 1 {
		threads = 2
	}
	program := fmt.Sprintf("import json, sys; sys.path.insert(0, %q); import torch_setup; "+
		"torch_setup.set_threads(%d); print(json.dumps(torch_setup.blas_facts()))", filepath.Dir(o.Script), threads)
	stdout, _, err := runPython(ctx, o.Python, []string{"-c", program}, nil)
	if err != nil {
		return nil, fmt.Errorf("bench: torch: %s torch_setup: %s", o.Python, err.Error())
	}
	var b TorchBLAS
	if err := json.Unmarshal(stdout, &b); err != nil {
		return nil, fmt.Errorf("bench: torch: torch_setup printed no valid JSON object: %v", err)
	}
	return &b, CheckTorchBLAS(&b, o.Device)
}

// runPython runs python with args (and stdin, when not nil) in torchEnv's environment and returns its
// trimmed stdout and how the environment was changed. An error is one line: python's last line on stderr.
func runPython(ctx context.Context, python string, args []string, stdin []byte) ([]byte, TorchEnvChange, error) {
	cmd := exec.CommandContext(ctx, python, args...)
	env, change := torchEnv(os.Environ(), findJemalloc())
	var stdout, stderr bytes.Buffer
	cmd.Env, cmd.Stdout, cmd.Stderr = env, &stdout, &stderr
	if stdin != nil {
		cmd.Stdin = bytes.NewReader(stdin)
	}
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, change, ctx.Err()
		}
		return nil, change, errors.New(lastLine(stderr.String(), err))
	}
	return bytes.TrimSpace(stdout.Bytes()), change, nil
}

// jemallocConf keeps the pages jemalloc frees for its next allocations instead of handing them back to the
// kernel (decay -1: never).
const jemallocConf = "dirty_decay_ms:-1,muzzy_decay_ms:-1"

// torchEnv returns the environment of a PyTorch command, and what it changed: environ less its OPENBLAS_*
// variables, plus OMP_WAIT_POLICY=PASSIVE, plus jemalloc preloaded with MALLOC_CONF=jemallocConf when
// jemalloc is a library path (not ""). A variable the user already set, other than OPENBLAS_*, is kept
// (jemalloc goes in front of an LD_PRELOAD). Measured on this 2-core machine (docs/pytorch-peer.md):
//
//   - OPENBLAS_* tune OpenBLAS by hand: this machine's OPENBLAS_CORETYPE=Haswell pins it to its AVX2
//     kernels on an AVX-512 CPU and OPENBLAS_L2_SIZE overrides its cache blocking; unset, OpenBLAS detects
//     the CPU and its matrix products ran ~2× faster.
//   - OMP_WAIT_POLICY=PASSIVE: torch's OpenMP threads otherwise spin after every parallel region, against
//     OpenBLAS's own threads and the other work of a shared machine; with two threads and other jobs
//     running, a training step of the small dense model took 1.7–3 s spinning and 0.09–0.14 s passive.
//   - jemalloc: glibc's malloc hands every large freed block back to the kernel, and torch allocates its
//     large intermediates afresh on every call, so each call faults their pages in again. On this VM a
//     fresh page cost ~30 µs, and the memory layer ran 4–8× slower in PyTorch than with jemalloc keeping
//     its pages.
//
// Only the PyTorch command gets this environment; memlab's own process keeps its own.
func torchEnv(environ []string, jemalloc string) (env []string, change TorchEnvChange) {
	add := map[string]string{"OMP_WAIT_POLICY": "PASSIVE"}
	if jemalloc != "" {
		add["LD_PRELOAD"], add["MALLOC_CONF"] = jemalloc, jemallocConf
	}
	record := func(m *map[string]string, k, v string) {
		if *m == nil {
			*m = map[string]string{}
		}
		(*m)[k] = v
	}
	for _, kv := range environ {
		name, value, _ := strings.Cut(kv, "=")
		switch {
		case strings.HasPrefix(name, "OPENBLAS_"):
			record(&change.Removed, name, value)
			continue
		case name == "LD_PRELOAD" && jemalloc != "" && value != "":
			record(&change.Removed, name, value)
			add[name] = jemalloc + " " + value
			continue
		case add[name] != "":
			delete(add, name) // set by the user: kept
		}
		env = append(env, kv)
	}
	for _, name := range slices.Sorted(maps.Keys(add)) {
		record(&change.Added, name, add[name])
		env = append(env, name+"="+add[name])
	}
	return env, change
}

// findJemalloc returns the path of jemalloc's shared library where Debian (libjemalloc2) and other
// distributions install it, or "" when it is not installed.
func findJemalloc() string {
	for _, dir := range []string{"/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/usr/lib64", "/usr/lib", "/usr/local/lib"} {
		path := filepath.Join(dir, "libjemalloc.so.2")
		if _, err := os.Stat(path); err == nil {
			return path
		}
	}
	return ""
}

// TorchLMConfig is the input of scripts/torch_lm_bench.py (JSON on its stdin): the sizes of experiments/lm
// models (lm.Config, memlayer.Config) and their training (train.Config), and the models to train side by
// side. TorchLMConfigFrom fills it from those configs.
type TorchLMConfig struct {
	Vocab          int     `json:"vocab"`
	Dim            int     `json:"dim"`
	Layers         int     `json:"layers"`
	Heads          int     `json:"heads"`
	SeqLen         int     `json:"seq_len"`
	Batch          int     `json:"batch"`
	FFNHidden      int     `json:"ffn_hidden"` // 0: 8/3·dim rounded up to a multiple of 8
	TiedEmbeddings bool    `json:"tied_embeddings"`
	RopeBase       float64 `json:"rope_base"`
	NormEps        float64 `json:"norm_eps"`
	Memory         struct {
		Heads     int  `json:"heads"`
		KNN       int  `json:"knn"`
		NKeys     int  `json:"n_keys"` // each model's NKeys overrides it
		KDim      int  `json:"k_dim"`
		VDim      int  `json:"v_dim"` // 0: dim
		QueryBias bool `json:"query_bias"`
	} `json:"memory"`
	Models []TorchLMModel `json:"models"`

	LR          float64 `json:"lr"`
	ValueLR     float64 `json:"value_lr"` // 0: lr
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`
	GradClip    float64 `json:"grad_clip"`

	// Warmup untimed steps per model, then Steps timed steps per model, one step of each model in turn.
	Warmup  int   `json:"warmup"`
	Steps   int   `json:"steps"`
	Threads int   `json:"threads"`
	Seed    int64 `json:"seed"`
}

// TorchLMModel is one model of a TorchLMConfig.
type TorchLMModel struct {
	// Kind is "dense", "memory" (the middle layer's FFN replaced) or "memory+" (three layers sharing one
	// value table, SiLU gate, qk-norm).
	Kind string `json:"kind"`
	// NKeys sizes the value table (NKeys² rows) of a memory kind; 0 takes Memory.NKeys.
	NKeys int `json:"n_keys,omitempty"`
	// Values is "sparse" (a sparse gradient of the rows read, SparseAdam; the default when empty) or
	// "dense" (the table an ordinary AdamW parameter).
	Values string `json:"values,omitempty"`
}

// TorchLMConfigFrom fills a TorchLMConfig with model's sizes and t's batch and optimizer (Models, Warmup,
// Steps and Threads are left to the caller). model.Vocab must be set.
func TorchLMConfigFrom(model lm.Config, t train.Config) TorchLMConfig {
	c := TorchLMConfig{
		Vocab: model.Vocab, Dim: model.Dim, Layers: model.Layers, Heads: model.Heads, SeqLen: t.SeqLen,
		Batch: t.BatchSize, FFNHidden: model.Hidden(), TiedEmbeddings: model.TiedEmbeddings,
		RopeBase: model.Rope(), NormEps: model.Eps(),
		LR: t.LR, ValueLR: t.ValueLR, WeightDecay: t.WeightDecay, Beta1: t.Beta1, Beta2: t.Beta2, Eps: t.Eps,
		GradClip: t.GradClip, Seed: t.Seed,
	}
	m := model.Memory
	c.Memory.Heads, c.Memory.KNN, c.Memory.NKeys, c.Memory.KDim = m.Heads, m.KNN, m.NKeys, m.KDim
	c.Memory.VDim, c.Memory.QueryBias = m.ValueDim(model.Dim), m.QueryBias
	return c
}

// Validate reports the first field the script would reject, naming it, as one line.
func (c TorchLMConfig) Validate() error {
	for _, f := range []struct {
		name string
		v    int
	}{{"vocab", c.Vocab}, {"dim", c.Dim}, {"layers", c.Layers}, {"heads", c.Heads}, {"seq_len", c.SeqLen},
		{"batch", c.Batch}, {"steps", c.Steps}, {"threads", c.Threads}, {"memory.heads", c.Memory.Heads},
		{"memory.knn", c.Memory.KNN}, {"memory.n_keys", c.Memory.NKeys}, {"memory.k_dim", c.Memory.KDim}} {
		if f.v < 1 {
			return fmt.Errorf("bench: torch lm: %s=%d: must be >= 1", f.name, f.v)
		}
	}
	switch {
	case c.Dim%c.Heads != 0 || (c.Dim/c.Heads)%2 != 0:
		return fmt.Errorf("bench: torch lm: dim=%d: must split into heads=%d of an even head dim", c.Dim, c.Heads)
	case c.Memory.KDim%2 != 0:
		return fmt.Errorf("bench: torch lm: memory.k_dim=%d: must be even", c.Memory.KDim)
	case c.Warmup < 0 || c.FFNHidden < 0 || c.Memory.VDim < 0:
		return fmt.Errorf("bench: torch lm: warmup=%d, ffn_hidden=%d, memory.v_dim=%d: must be >= 0", c.Warmup, c.FFNHidden, c.Memory.VDim)
	case len(c.Models) == 0:
		return errors.New("bench: torch lm: models: list at least one model")
	}
	for i, m := range c.Models {
		if !slices.Contains([]string{"dense", "memory", "memory+"}, m.Kind) {
			return fmt.Errorf("bench: torch lm: models[%d].kind=%q: must be dense, memory or memory+", i, m.Kind)
		}
		if m.Values != "" && m.Values != "sparse" && m.Values != "dense" {
			return fmt.Errorf("bench: torch lm: models[%d].values=%q: must be sparse or dense", i, m.Values)
		}
		if m.Kind != "dense" && m.NKeys != 0 && m.NKeys < c.Memory.KNN {
			return fmt.Errorf("bench: torch lm: models[%d].n_keys=%d: must be >= memory.knn=%d", i, m.NKeys, c.Memory.KNN)
		}
	}
	return nil
}

// TorchLMRecord is one model trained by scripts/torch_lm_bench.py.
type TorchLMRecord struct {
	Kind   string `json:"kind"`
	NKeys  int    `json:"n_keys,omitempty"`
	Values string `json:"values,omitempty"`
	// MemoryLayers are the layers whose FFN a memory layer replaced.
	MemoryLayers []int `json:"memory_layers"`
	Params       int64 `json:"params"`
	ValueParams  int64 `json:"value_params"`
	// StepSeconds are the timed steps; TokensPerSecond is tokens per step over the fastest of them and
	// RatioToDense divides it by the dense model's from the same run.
	StepSeconds           []float64 `json:"step_seconds"`
	MinStepSeconds        float64   `json:"min_step_seconds"`
	MedianStepSeconds     float64   `json:"median_step_seconds"`
	TokensPerSecond       float64   `json:"tokens_per_second"`
	MedianTokensPerSecond float64   `json:"median_tokens_per_second"`
	RatioToDense          float64   `json:"ratio_to_dense"`
	// Losses are the training losses of every step, warmup included.
	Losses []float64 `json:"losses"`
}

// TorchLMResult is what scripts/torch_lm_bench.py printed.
type TorchLMResult struct {
	TorchVersion  string     `json:"torch_version"`
	PythonVersion string     `json:"python_version"`
	Device        string     `json:"device"`
	DeviceName    string     `json:"device_name"`
	Threads       int        `json:"threads"`
	BLAS          *TorchBLAS `json:"blas"`
	TokensPerStep int        `json:"tokens_per_step"`
	// LoadAverageStart and LoadAverageEnd are the 1-minute load averages around the run, as in Report.
	LoadAverageStart float64         `json:"load_average_start"`
	LoadAverageEnd   float64         `json:"load_average_end"`
	Config           TorchLMConfig   `json:"config"`
	Models           []TorchLMRecord `json:"models"`
	// Command is the command line that produced it (the config went to its stdin); Runtime and EnvChange
	// as in TorchResult.
	Command   []string       `json:"command"`
	Runtime   *TorchRuntime  `json:"runtime,omitempty"`
	EnvChange TorchEnvChange `json:"env_change"`
}

// RunTorchLM trains c's models with scripts/torch_lm_bench.py (o.Script; o.Threads overrides c.Threads when
// set) and parses what it printed, refusing as RunTorch does a torch on the reference BLAS.
func RunTorchLM(ctx context.Context, o TorchOptions, c TorchLMConfig) (*TorchLMResult, error) {
	if o.Threads > 0 {
		c.Threads = o.Threads
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	input, err := json.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("bench: torch lm: %v", err)
	}
	stdout, change, err := runPython(ctx, o.Python, []string{o.Script}, input)
	if err != nil {
		return nil, fmt.Errorf("bench: torch lm: %s %s: %s", o.Python, o.Script, err.Error())
	}
	return parseTorchLM(stdout, o, c, change)
}

// parseTorchLM checks the script's output against the request c: one record per model, in order, every
// step timed, and a dense model's tokens/s to divide by when any ratio is given.
func parseTorchLM(stdout []byte, o TorchOptions, c TorchLMConfig, change TorchEnvChange) (*TorchLMResult, error) {
	var res TorchLMResult
	if err := json.Unmarshal(stdout, &res); err != nil {
		return nil, fmt.Errorf("bench: torch lm: %s printed no valid JSON object: %v", o.Script, err)
	}
	if err := CheckTorchBLAS(res.BLAS, "cpu"); err != nil {
		return nil, err
	}
	if len(res.Models) != len(c.Models) {
		return nil, fmt.Errorf("bench: torch lm: %s returned %d models, want %d", o.Script, len(res.Models), len(c.Models))
	}
	for i, r := range res.Models {
		if r.Kind != c.Models[i].Kind {
			return nil, fmt.Errorf("bench: torch lm: model %d is %q, want %q", i, r.Kind, c.Models[i].Kind)
		}
		positive := r.TokensPerSecond > 0
		for _, s := range r.StepSeconds {
			positive = positive && s > 0
		}
		if len(r.StepSeconds) != c.Steps || !positive {
			return nil, fmt.Errorf("bench: torch lm: %s model %d (%s) has %d step times, want %d positive ones",
				o.Script, i, r.Kind, len(r.StepSeconds), c.Steps)
		}
	}
	res.Command, res.EnvChange = []string{o.Python, o.Script}, change
	return &res, nil
}

// CompareTorch returns our time over PyTorch's for the FFN and each memory size present in both, on each
// of our paths that measured it.
func CompareTorch(ours *LayerResult, torch *TorchResult) []TorchRatio {
	if ours == nil || torch == nil {
		return nil
	}
	over := func(a, b Timing) float64 { return ratio(a.Seconds, b.Seconds) }
	var out []TorchRatio
	if torch.FFN != nil {
		out = append(out, TorchRatio{Model: ours.FFN.Model, ForwardOursOverTorch: over(ours.FFN.Forward, torch.FFN.Forward),
			ForwardBackwardOursOverTorch: over(ours.FFN.ForwardBackward, torch.FFN.ForwardBackward)})
	}
	// Sizes in the order we measured them, graph path first (either path may be absent).
	var nKeys []int
	for _, p := range append(slices.Clone(ours.Memory), ours.Host...) {
		if !slices.Contains(nKeys, p.NKeys) {
			nKeys = append(nKeys, p.NKeys)
		}
	}
	find := func(pts []LayerPoint, n int) *LayerPoint {
		if i := slices.IndexFunc(pts, func(p LayerPoint) bool { return p.NKeys == n }); i >= 0 {
			return &pts[i]
		}
		return nil
	}
	for _, n := range nKeys {
		q := find(torch.Memory, n)
		if q == nil {
			continue
		}
		r := TorchRatio{Model: "memory", NKeys: n}
		if p := find(ours.Memory, n); p != nil {
			r.ForwardOursOverTorch, r.ForwardBackwardOursOverTorch = over(p.Forward, q.Forward), over(p.ForwardBackward, q.ForwardBackward)
		}
		if p := find(ours.Host, n); p != nil {
			r.HostForwardOursOverTorch, r.HostForwardBackwardOursOverTorch = over(p.Forward, q.Forward), over(p.ForwardBackward, q.ForwardBackward)
		}
		out = append(out, r)
	}
	return out
}

// lastLine is the last non-empty line of a process's stderr (Python's exception), else err.
func lastLine(stderr string, err error) string {
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return l
	}
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		return exitErr.String()
	}
	return err.Error()
}
