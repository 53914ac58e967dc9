package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strconv"
	"strings"
)

// TorchInstallHint is how to get PyTorch for the side-by-side run on Debian.
const TorchInstallHint = "apt-get install python3-torch libopenblas0-pthread"

// TorchOptions says how to run scripts/torch_memory_layer.py.
type TorchOptions struct {
	// Python is the interpreter, e.g. /usr/bin/python3 (Debian's python3-torch installs there).
	Python string
	// Script is the path of torch_memory_layer.py.
	Script string
	// Device is "cpu" or "cuda".
	Device string
	// Threads is torch.set_num_threads on CPU.
	Threads int
}

// TorchResult is what the PyTorch script printed: the same blocks, timed the same way.
type TorchResult struct {
	TorchVersion  string       `json:"torch_version"`
	PythonVersion string       `json:"python_version"`
	Device        string       `json:"device"`
	DeviceName    string       `json:"device_name"`
	Threads       int          `json:"threads"`
	FFN           *LayerPoint  `json:"ffn,omitempty"`
	Memory        []LayerPoint `json:"memory"`
	// Command is the command line that produced it.
	Command []string `json:"command"`
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

// RunTorch runs the PyTorch script with c's sizes and parses the JSON object it prints.
func RunTorch(ctx context.Context, o TorchOptions, c Config) (*TorchResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	nKeys := make([]string, len(c.NKeys))
	for i, n := range c.NKeys {
		nKeys[i] = strconv.Itoa(n)
	}
	device, threads := o.Device, o.Threads
	if device == "" {
		device = "cpu"
	}
	if threads < 1 {
		threads = 2
	}
	args := []string{o.Script,
		"--dim", strconv.Itoa(c.Dim), "--heads", strconv.Itoa(c.Heads), "--k-dim", strconv.Itoa(c.KDim),
		"--knn", strconv.Itoa(c.KNN), "--v-dim", strconv.Itoa(c.VDim), "--tokens", strconv.Itoa(c.Tokens),
		"--ffn-hidden", strconv.Itoa(c.ffnHidden()), "--n-keys", strings.Join(nKeys, ","),
		"--warmup", strconv.Itoa(c.Warmup), "--repeats", strconv.Itoa(c.Repeats),
		"--threads", strconv.Itoa(threads), "--device", device, "--seed", strconv.FormatInt(c.Seed, 10),
	}
	cmd := exec.CommandContext(ctx, o.Python, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("bench: torch: %s %s: %s", o.Python, o.Script, lastLine(stderr.String(), err))
	}
	var res TorchResult
	if err := json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &res); err != nil {
		return nil, fmt.Errorf("bench: torch: %s printed no valid JSON object: %v", o.Script, err)
	}
	if len(res.Memory) != len(c.NKeys) {
		return nil, fmt.Errorf("bench: torch: %s returned %d memory sizes, want %d", o.Script, len(res.Memory), len(c.NKeys))
	}
	res.Command = append([]string{o.Python}, args...)
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
