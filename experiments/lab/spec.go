package lab

import (
	"fmt"
	"strings"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
	"github.com/memlayers/memlayers/memlayer"
)

// Spec names one run: which model, on which data, at which scale and seed.
// Zero fields take the preset's values.
type Spec struct {
	Name    string  `json:"name"` // used in result file names; derived when empty
	Preset  string  `json:"preset"`
	Model   lm.Kind `json:"model"`
	Dataset string  `json:"dataset"` // "bios" (default), "unicode", "languages", "regions" or "tsv:PATH"
	Seed    int64   `json:"seed"`

	// Overrides of the preset.
	Steps      int     `json:"steps,omitempty"`
	People     int     `json:"people,omitempty"`
	NKeys      int     `json:"n_keys,omitempty"`
	KNN        int     `json:"knn,omitempty"`
	MemHeads   int     `json:"mem_heads,omitempty"`
	VDim       int     `json:"v_dim,omitempty"`
	LR         float64 `json:"lr,omitempty"`              // base learning rate (0: the preset's)
	ValueLRx   float64 `json:"value_lr_factor,omitempty"` // value LR = factor × LR
	SwiLU      *bool   `json:"swilu,omitempty"`           // memory+ only: override the gate
	QKNorm     *bool   `json:"qk_norm,omitempty"`         // memory+ only
	MemLayers  []int   `json:"memory_layers,omitempty"`   // explicit placement
	Layers     int     `json:"layers,omitempty"`          // base depth override
	Dim        int     `json:"dim,omitempty"`             // base width override
	DenseScale float64 `json:"dense_scale,omitempty"`     // dense only: FLOPs ×factor of the base…
	ScaleBy    string  `json:"scale_by,omitempty"`        // …by "width" or "depth"
	MoEExperts int     `json:"moe_experts,omitempty"`     // moe only: 0 = matched to the memory model
	Facts      int     `json:"facts,omitempty"`           // real-fact datasets: how many facts (0 = all); random-facts: how many (required)
	// Capacity regime (the memorize sweep): training runs for this many
	// exposures of every document (epochs) instead of the preset's steps, and
	// the last evaluation scores every seen fact (see memorize.go).
	Exposures  int `json:"exposures,omitempty"`
	ValueWords int `json:"value_words,omitempty"` // random-facts: words per answer (0: data.DefaultValueWords)
	KDim       int `json:"k_dim,omitempty"`       // memory key dimension override
	BatchSize  int `json:"batch_size,omitempty"`  // training batch override
	SeqLen     int `json:"seq_len,omitempty"`     // training window (and model context) override
	// MemoryPath is where memory layers run (train.PathGraph or train.PathHost); empty means the default
	// for the model (DefaultMemoryPath with the pure-Go backend). Models without a host path (dense, MoE,
	// PEER) always run on the graph path.
	MemoryPath string `json:"memory_path,omitempty"`
	// CheckpointEvery overrides how often a run checkpoints (0: the preset's, at most its steps).
	CheckpointEvery int `json:"checkpoint_every,omitempty"`
	// LenientTSV skips the bad lines of a tsv: dataset instead of failing (data.TSVOptions.Lenient).
	LenientTSV bool `json:"lenient_tsv,omitempty"`
}

// Validate rejects negative overrides and unknown scaling modes (zero means
// "the preset's value").
func (s Spec) Validate() error {
	var errs []string
	for _, f := range []struct {
		name string
		v    int
	}{{"steps", s.Steps}, {"people", s.People}, {"n_keys", s.NKeys}, {"knn", s.KNN}, {"mem_heads", s.MemHeads},
		{"v_dim", s.VDim}, {"layers", s.Layers}, {"dim", s.Dim}, {"moe_experts", s.MoEExperts}, {"facts", s.Facts},
		{"exposures", s.Exposures}, {"value_words", s.ValueWords}, {"k_dim", s.KDim}, {"batch_size", s.BatchSize},
		{"seq_len", s.SeqLen}, {"checkpoint_every", s.CheckpointEvery}} {
		if f.v < 0 {
			errs = append(errs, fmt.Sprintf("lab: %s=%d: must be >= 0 (0 means the preset's value)", f.name, f.v))
		}
	}
	if s.DenseScale < 0 || s.ValueLRx < 0 || s.LR < 0 {
		errs = append(errs, fmt.Sprintf("lab: dense_scale=%g, value_lr_factor=%g, lr=%g: must be >= 0", s.DenseScale, s.ValueLRx, s.LR))
	}
	if s.ScaleBy != "" && s.ScaleBy != "width" && s.ScaleBy != "depth" {
		errs = append(errs, fmt.Sprintf("lab: scale_by=%q: must be width or depth", s.ScaleBy))
	}
	if s.DenseScale > 0 && s.Model != "" && s.Model != lm.KindDense {
		errs = append(errs, fmt.Sprintf("lab: dense_scale=%g: only for the dense model, not %s", s.DenseScale, s.Model))
	}
	switch s.MemoryPath {
	case "", train.PathGraph:
	case train.PathHost:
		if !HasHostPath(s.Model) {
			errs = append(errs, fmt.Sprintf("lab: memory_path=host: model %s has no memory layers to run on the host path (memory, memory+ and peer do); use memory_path=graph", s.modelOrDense()))
		}
	default:
		errs = append(errs, fmt.Sprintf("lab: memory_path=%q: must be graph or host", s.MemoryPath))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// modelOrDense is the spec's model, dense when unset.
func (s Spec) modelOrDense() lm.Kind {
	if s.Model == "" {
		return lm.KindDense
	}
	return s.Model
}

// HasHostPath reports whether models of kind can train on the host path: those with memory layers
// (memory, memory+, peer). Dense and MoE models train on the graph path.
func HasHostPath(kind lm.Kind) bool { return kind.IsMemory() }

// DefaultMemoryPath is the path a model of kind trains on when a spec does not say: the host path for
// models that have one on the pure-Go backend (where in-graph value tables are slow), else the graph path
// (XLA/GPU backends, and models without a host path).
func DefaultMemoryPath(kind lm.Kind, goBackend bool) string {
	if goBackend && HasHostPath(kind) {
		return train.PathHost
	}
	return train.PathGraph
}

// Label is a short human-readable name of the run.
func (s Spec) Label() string {
	if s.Name != "" {
		return s.Name
	}
	parts := []string{string(s.Model)}
	if s.Model == "" {
		parts[0] = string(lm.KindDense)
	}
	if s.DenseScale > 0 {
		parts = append(parts, fmt.Sprintf("x%g-%s", s.DenseScale, s.ScaleBy))
	}
	if s.NKeys > 0 {
		parts = append(parts, fmt.Sprintf("nkeys%d", s.NKeys))
	}
	if s.People > 0 {
		parts = append(parts, fmt.Sprintf("people%d", s.People))
	}
	return strings.Join(parts, "-")
}

// memoryConfig resolves the memory layer of a spec from its preset.
func (s Spec) memoryConfig(p Preset) memlayer.Config {
	m := p.Memory
	if s.NKeys > 0 {
		m.NKeys = s.NKeys
	}
	if s.KNN > 0 {
		m.KNN = s.KNN
	}
	if s.MemHeads > 0 {
		m.Heads = s.MemHeads
	}
	if s.VDim > 0 {
		m.VDim = s.VDim
	}
	if s.KDim > 0 {
		m.KDim = s.KDim
	}
	if m.KNN > m.NKeys { // only the preset's knn: checkKNN refuses a larger explicit one
		m.KNN = m.NKeys
	}
	return m
}

// checkKNN refuses an explicit knn above n_keys (each memory head keeps its top knn scores of each
// half-key's n_keys, so it cannot pick more) and returns a warning when the preset's knn is lowered to a
// smaller explicit n_keys.
func (s Spec) checkKNN(p Preset) (warning string, err error) {
	nKeys := p.Memory.NKeys
	if s.NKeys > 0 {
		nKeys = s.NKeys
	}
	switch {
	case s.KNN > nKeys:
		return "", fmt.Errorf("lab: knn=%d: must be <= n_keys=%d (each head picks its knn best of n_keys scores per half-key); lower knn or raise n_keys", s.KNN, nKeys)
	case s.KNN == 0 && p.Memory.KNN > nKeys && s.Model != lm.KindDense:
		return fmt.Sprintf("knn lowered from the preset's %d to n_keys=%d (a head cannot pick more slots than n_keys)", p.Memory.KNN, nKeys), nil
	}
	return "", nil
}
