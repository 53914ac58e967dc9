package lab

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/gomlx/compute"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
)

// A run that does not fit in memory used to die in the middle of allocating its value table with Go's
// "fatal error: out of memory" and a stack trace. EstimateMemory sizes a run from its resolved plan
// before anything is allocated, so that CheckMemory can refuse it with one line instead.

// floatBytes is the size of every number the models train (float32).
const floatBytes = 4

// updateCopies is how many more copies of a weight tensor a dense AdamW step holds at its peak: the
// gradient, the new weight and moments computed before the old ones are freed, and the elementwise
// temporaries between them. 5 matches the peak memory of tiny memory runs on the Go backend
// (docs/memory-estimate.md).
const updateCopies = 5

// baseBytes is what a run holds besides its tensors: the Go runtime, code, data and compiled graphs.
const baseBytes = 128 << 20

// MemoryPart is one item of a MemoryEstimate.
type MemoryPart struct {
	Name  string // e.g. "value table"
	Bytes int64
	Lower string // what to lower to shrink it, e.g. "--n-keys or --v-dim"
	// Host is true for parts that live in host memory even when the backend computes on an
	// accelerator (the host path's value tables).
	Host bool
}

// MemoryEstimate is the memory a training run needs, by part.
type MemoryEstimate struct {
	Path  string // MemoryPathGraph or MemoryPathHost
	Parts []MemoryPart
}

// Total is the sum of the parts.
func (e MemoryEstimate) Total() int64 {
	var t int64
	for _, p := range e.Parts {
		t += p.Bytes
	}
	return t
}

// String lists the total and the parts, largest first, e.g. "1.2 GiB: value table 800 MiB, …".
func (e MemoryEstimate) String() string {
	parts := make([]string, 0, len(e.Parts))
	for _, p := range e.largestFirst() {
		if p.Bytes > 0 {
			parts = append(parts, p.Name+" "+humanBytes(p.Bytes))
		}
	}
	return humanBytes(e.Total()) + " (" + strings.Join(parts, ", ") + ")"
}

func (e MemoryEstimate) largestFirst() []MemoryPart {
	parts := append([]MemoryPart(nil), e.Parts...)
	for i := 1; i < len(parts); i++ { // insertion sort: a handful of parts, stable
		for j := i; j > 0 && parts[j].Bytes > parts[j-1].Bytes; j-- {
			parts[j], parts[j-1] = parts[j-1], parts[j]
		}
	}
	return parts
}

// EstimateMemory estimates the memory a training step of plan needs on memoryPath ("" means graph), in
// float32 numbers of 4 bytes:
//
//   - weights: every trainable parameter but the value tables;
//   - optimizer state: AdamW's two moments per weight;
//   - weight gradients and updates: updateCopies more copies of the weights;
//   - value table, and its optimizer state (two moment tables);
//   - graph path: the value table's dense gradient and update, updateCopies more copies of the table;
//     host path: 8 bytes of lazy-update state per table row, no dense gradient, but a copy of the table
//     and its moments while a checkpoint is written;
//   - activations: what the forward pass keeps for the backward pass, twice over (their gradients),
//     counted per token by activationFloats;
//   - the program itself, baseBytes.
func EstimateMemory(plan *Plan, memoryPath string) (MemoryEstimate, error) {
	switch memoryPath {
	case "":
		memoryPath = train.PathGraph
	case train.PathGraph, train.PathHost:
	default:
		return MemoryEstimate{}, fmt.Errorf("lab: memory_path=%q: must be %q or %q", memoryPath, train.PathGraph, train.PathHost)
	}
	cfg := plan.Model
	acc := lm.Count(cfg)
	values := acc.MemoryValueParams
	weights := acc.TotalParams - values
	const shrinkModel = "a smaller --preset or --dense-scale"
	const shrinkTable = "--n-keys (the table has n_keys² rows) or --v-dim"
	e := MemoryEstimate{Path: memoryPath, Parts: []MemoryPart{
		{Name: "weights", Bytes: floatBytes * weights, Lower: shrinkModel},
		{Name: "optimizer state", Bytes: 2 * floatBytes * weights, Lower: shrinkModel},
		{Name: "weight gradients and updates", Bytes: updateCopies * floatBytes * weights, Lower: shrinkModel},
	}}
	if values > 0 {
		host := memoryPath == train.PathHost
		e.Parts = append(e.Parts,
			MemoryPart{Name: "value table", Bytes: floatBytes * values, Lower: shrinkTable, Host: host},
			MemoryPart{Name: "value optimizer state", Bytes: 2 * floatBytes * values, Lower: shrinkTable, Host: host})
		if host {
			rows := values / int64(cfg.Memory.ValueDim(cfg.Dim))
			e.Parts = append(e.Parts, MemoryPart{Name: "lazy update state", Bytes: 8 * rows, Lower: "--n-keys", Host: true},
				MemoryPart{Name: "checkpoint copy of the table and its moments", Bytes: 3 * floatBytes * values, Lower: shrinkTable, Host: true})
		} else {
			e.Parts = append(e.Parts, MemoryPart{Name: "value gradient and update", Bytes: updateCopies * floatBytes * values, Lower: shrinkTable})
		}
	}
	tokens := int64(plan.Train.BatchSize) * int64(plan.Train.SeqLen)
	e.Parts = append(e.Parts, MemoryPart{Name: "activations", Bytes: 2 * floatBytes * tokens * activationFloats(cfg, plan.Train.SeqLen),
		Lower: "a smaller --preset (batch × seq_len tokens per step) or --knn"},
		MemoryPart{Name: "program and data", Bytes: baseBytes, Lower: "a smaller --preset", Host: true})
	return e, nil
}

// activationFloats counts the numbers the forward pass keeps per token for the backward pass, from the
// blocks of lm.Forward with d = Dim, F = the FFN's hidden size, T = seq_len, V = Vocab:
//
//   - each attention sub-block: its input and norm (2d), q, k, v and the rotated q, k (5d), the scores
//     and probabilities of every head over T positions (2·heads·T), the mixed heads, the output
//     projection and the residual sum (3d): 10d + 2·heads·T;
//   - each SwiGLU sub-block: input and norm (2d), the two projections, their gate and product (4F),
//     the output and residual sum (2d): 4d + 4F, about 14.7d with F = 8d/3; MoE computes all E experts
//     (5·E·F with the weighted mix); a memory layer replaces it by memoryFloats;
//   - the embedding (d), the final norm (d), the logits and their softmax (2V).
//
// So a dense layer costs about 25d + 2·heads·T numbers per token.
func activationFloats(cfg lm.Config, seqLen int) int64 {
	d, f, t := int64(cfg.Dim), int64(cfg.Hidden()), int64(seqLen)
	n := 2*d + 2*int64(cfg.Vocab)
	for layer := range cfg.Layers {
		n += 10*d + 2*int64(cfg.Heads)*t
		switch {
		case cfg.IsMemoryLayer(layer):
			n += 2*d + memoryFloats(cfg)
		case cfg.Model == lm.KindMoE:
			n += 4*d + 5*int64(cfg.MoE.Experts)*f
		default:
			n += 4*d + 4*f
		}
	}
	return n
}

// memoryFloats counts a memory layer's numbers per token: per head the query (k_dim), its scores against
// both halves' n_keys sub-keys (2·n_keys), the knn² candidate sums of the two top-knn lists, the chosen
// scores and indices (2·knn) and the knn gathered value rows (knn·v_dim); then the bag, the gate or
// projection around it (3·v_dim + 2d).
func memoryFloats(cfg lm.Config) int64 {
	m := cfg.LayerMemoryConfig()
	h, knn, v := int64(m.Heads), int64(m.KNN), int64(m.ValueDim(cfg.Dim))
	if m.PEER {
		v = 2 * int64(cfg.Dim) // up and down rows
	}
	perHead := int64(m.KDim) + 2*int64(m.NKeys) + knn*knn + 2*knn + knn*v
	return h*perHead + 3*v + 2*int64(cfg.Dim)
}

// MemoryError is a run that needs more memory than the machine has available.
type MemoryError struct {
	Need      MemoryEstimate
	Available int64
	// Fix, when set, replaces the advice derived from the largest part (e.g. a sweep's own flags).
	Fix string
}

func (e *MemoryError) Error() string {
	fix := e.Fix
	if fix == "" {
		fix = "lower " + e.Need.largestFirst()[0].Lower
	}
	return fmt.Sprintf("lab: this run needs about %s of memory for training, but %s is available; %s",
		e.Need, humanBytes(e.Available), fix)
}

// HostParts keeps the parts that live in host memory when the backend computes on an accelerator.
func (e MemoryEstimate) HostParts() MemoryEstimate {
	host := MemoryEstimate{Path: e.Path}
	for _, p := range e.Parts {
		if p.Host {
			host.Parts = append(host.Parts, p)
		}
	}
	return host
}

// CheckMemory estimates what training plan on its memory path with backend b needs in host memory (all of it
// for a backend that computes on the host, backend.ComputesOnHost) and returns a *MemoryError when that
// exceeds the memory available now. Where that is unknown (no /proc/meminfo) it checks nothing.
func CheckMemory(plan *Plan, b compute.Backend) error {
	need, err := EstimateMemory(plan, plan.Train.MemoryPath)
	if err != nil {
		return err
	}
	if !backend.ComputesOnHost(b) {
		need = need.HostParts()
	}
	avail, ok := AvailableMemory()
	if ok && len(need.Parts) > 0 && need.Total() > avail {
		return &MemoryError{Need: need, Available: avail}
	}
	return nil
}

// AvailableMemory returns the kernel's estimate of the memory that can be allocated without swapping
// (MemAvailable of /proc/meminfo); ok is false where it is unknown.
func AvailableMemory() (bytes int64, ok bool) {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	return parseMemAvailable(bufio.NewScanner(f))
}

// parseMemAvailable reads the "MemAvailable:   123456 kB" line of /proc/meminfo.
func parseMemAvailable(sc *bufio.Scanner) (int64, bool) {
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) == 3 && fields[0] == "MemAvailable:" && fields[2] == "kB" {
			kb, err := strconv.ParseInt(fields[1], 10, 64)
			return kb * 1024, err == nil && kb > 0
		}
	}
	return 0, false
}

// humanBytes formats a size as "512 MiB", "3.2 GiB" or "1.5 TiB".
func humanBytes(n int64) string {
	v := float64(n)
	for _, unit := range []string{"B", "KiB", "MiB", "GiB"} {
		if v < 1024 {
			if unit == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", v, unit)
		}
		v /= 1024
	}
	return fmt.Sprintf("%.1f TiB", v)
}
