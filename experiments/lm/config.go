package lm

import (
	"fmt"
	"slices"
	"strings"

	"github.com/memlayers/memlayers/memlayer"
)

// Kind selects what replaces (or keeps) the feed-forward block of a layer.
type Kind string

// The five model kinds compared in the paper (§4.1).
const (
	// KindDense is the plain LLaMA-style baseline: a SwiGLU FFN in every layer.
	KindDense Kind = "dense"
	// KindMoE replaces the FFN of every layer by MoE.Experts SwiGLU experts
	// with token-choice top-k routing.
	KindMoE Kind = "moe"
	// KindPEER replaces the FFN of the placed layers by a PEER memory layer
	// (memlayer with PEER=true).
	KindPEER Kind = "peer"
	// KindMemory replaces the FFN of the placed layers (default: the middle
	// one) by a product-key memory layer.
	KindMemory Kind = "memory"
	// KindMemoryPlus replaces the FFN of the placed layers (default: three
	// layers) by Memory+ layers: SwiLU output gate, qk-norm and ONE value
	// table shared by all of them.
	KindMemoryPlus Kind = "memory+"
)

// Kinds lists every valid Kind, in the paper's order.
var Kinds = []Kind{KindDense, KindMoE, KindPEER, KindMemory, KindMemoryPlus}

// IsMemory reports whether k places memlayer blocks (peer, memory, memory+).
func (k Kind) IsMemory() bool {
	return k == KindPEER || k == KindMemory || k == KindMemoryPlus
}

// MoEConfig configures the MoE feed-forward blocks (KindMoE only).
type MoEConfig struct {
	// Experts is the number of SwiGLU experts per layer (each of hidden size
	// Config.Hidden()), >= 2.
	Experts int `json:"experts"`
	// TopK is how many experts each token is routed to: 1 (Switch) or 2.
	TopK int `json:"top_k"`
	// BalanceCoef multiplies the Switch load-balancing loss
	// E·Σ_e f_e·P_e that Forward returns as aux (0 disables it).
	BalanceCoef float64 `json:"balance_coef"`
}

// Defaults used when the corresponding Config field is zero.
const (
	DefaultRopeBase = 10000.0
	DefaultNormEps  = 1e-5
	// DefaultValuesScope is the sub-scope (under the scope given to Forward)
	// that holds the value table shared by the Memory+ layers when
	// Config.Memory.ValuesScope is empty.
	DefaultValuesScope = "memory_values"
)

// Config describes a tiny LLaMA-style decoder: pre-norm blocks of RMSNorm,
// causal multi-head attention with rotary positions, and a feed-forward block
// that is a SwiGLU FFN, an MoE, or a memory layer depending on Model and
// MemoryLayers.
//
// Zero values of FFNHidden, RopeBase, NormEps and MemoryLayers mean "use the
// default" (see Hidden, Rope, Eps and Placement).
type Config struct {
	Vocab  int `json:"vocab"`
	Dim    int `json:"dim"`
	Layers int `json:"layers"`
	Heads  int `json:"heads"`
	// SeqLen is the maximum number of positions; Forward rejects longer
	// inputs and the FLOPs accounting uses it for attention's T-dependent part.
	SeqLen int `json:"seq_len"`
	// FFNHidden is the SwiGLU hidden size (also each MoE expert's); 0 means
	// the LLaMA rule, 8/3·Dim rounded up to a multiple of 8 (see Hidden).
	FFNHidden int `json:"ffn_hidden"`
	// TiedEmbeddings reuses the token embedding table as the output head.
	TiedEmbeddings bool    `json:"tied_embeddings"`
	RopeBase       float64 `json:"rope_base"`
	NormEps        float64 `json:"norm_eps"`

	// Model is the block variant: dense, moe, peer, memory or memory+.
	Model Kind `json:"model"`
	// MemoryLayers are the 0-based layers whose FFN is replaced by a memory
	// (or PEER) block; empty means the default placement (see Placement).
	// Only valid for peer, memory and memory+.
	MemoryLayers []int `json:"memory_layers,omitempty"`
	// Memory configures the memory/PEER blocks. Forward derives the effective
	// per-layer config from it with LayerMemoryConfig (PEER=true for peer;
	// SwiLU, QKNorm and a shared table for memory+).
	Memory memlayer.Config `json:"memory"`
	// MoE configures the MoE blocks (Model == moe only).
	MoE MoEConfig `json:"moe"`
	// LoRA adds low-rank adapters to the attention and SwiGLU weights (finetuning; see LoRAConfig).
	LoRA LoRAConfig `json:"lora,omitzero"`
}

// Hidden returns the SwiGLU hidden size: FFNHidden, or by default the LLaMA
// rule ⌊8·Dim/3⌋ rounded up to a multiple of 8 (e.g. 64 → 176, 128 → 344).
func (c Config) Hidden() int {
	if c.FFNHidden > 0 {
		return c.FFNHidden
	}
	h := 8 * c.Dim / 3
	return (h + 7) / 8 * 8
}

// Rope returns the rotary base (RopeBase or DefaultRopeBase).
func (c Config) Rope() float64 {
	if c.RopeBase > 0 {
		return c.RopeBase
	}
	return DefaultRopeBase
}

// Eps returns the RMSNorm epsilon (NormEps or DefaultNormEps).
func (c Config) Eps() float64 {
	if c.NormEps > 0 {
		return c.NormEps
	}
	return DefaultNormEps
}

// HeadDim is Dim/Heads.
func (c Config) HeadDim() int { return c.Dim / c.Heads }

// Placement returns the sorted list of layers that get a memory/PEER block:
// MemoryLayers if set, otherwise the default rule, and nil for dense and moe.
//
// Default rule, with m = Layers/2 (the middle layer, integer division):
//   - memory and peer: {m}, the paper's "one layer in place of the middle FFN";
//   - memory+: {m-s, m, m+s} with stride s = max(1, Layers/3), clipped to
//     [0, Layers) and deduplicated. This reproduces the paper's placements:
//     24 layers → {4, 12, 20} (stride 8, the 373m/1.3b configs) and
//     12 layers → {2, 6, 10} (stride 4, the 134m config); 4 layers → {1, 2, 3};
//     2 layers → {0, 1}.
func (c Config) Placement() []int {
	if !c.Model.IsMemory() {
		return nil
	}
	if len(c.MemoryLayers) > 0 {
		out := slices.Clone(c.MemoryLayers)
		slices.Sort(out)
		return slices.Compact(out)
	}
	m := c.Layers / 2
	if c.Model != KindMemoryPlus {
		return []int{m}
	}
	s := max(1, c.Layers/3)
	var out []int
	for _, l := range []int{m - s, m, m + s} {
		if l >= 0 && l < c.Layers && !slices.Contains(out, l) {
			out = append(out, l)
		}
	}
	return out
}

// IsMemoryLayer reports whether layer gets a memory/PEER block.
func (c Config) IsMemoryLayer(layer int) bool {
	return slices.Contains(c.Placement(), layer)
}

// LayerMemoryConfig returns the memlayer.Config used by each placed layer:
//   - peer: Memory with PEER=true;
//   - memory: Memory as given;
//   - memory+: Memory with SwiLU=true and QKNorm=true. Its ValuesScope is left
//     as given; when empty, Forward shares the table under
//     "<Forward's scope>/memory_values" (DefaultValuesScope).
func (c Config) LayerMemoryConfig() memlayer.Config {
	m := c.Memory
	switch c.Model {
	case KindPEER:
		m.PEER = true
	case KindMemoryPlus:
		m.SwiLU = true
		m.QKNorm = true
	}
	return m
}

// SharesValues reports whether the memory layers share one value table:
// always for memory+, and for memory/peer when Memory.ValuesScope is set.
func (c Config) SharesValues() bool {
	return c.Model == KindMemoryPlus || (c.Model.IsMemory() && c.Memory.ValuesScope != "")
}

// Validate reports every field that breaks a rule, each naming the field,
// its value and the rule (e.g. "lm: dim=30: must be divisible by heads=4"),
// joined in one error; nil if the config is valid.
func (c Config) Validate() error {
	var errs []string
	bad := func(field string, value any, rule string, args ...any) {
		errs = append(errs, fmt.Sprintf("lm: %s=%v: %s", field, value, fmt.Sprintf(rule, args...)))
	}
	if c.Vocab < 2 {
		bad("vocab", c.Vocab, "must be >= 2")
	}
	if c.Layers < 1 {
		bad("layers", c.Layers, "must be >= 1")
	}
	if c.Heads < 1 {
		bad("heads", c.Heads, "must be >= 1")
	}
	switch {
	case c.Dim < 2:
		bad("dim", c.Dim, "must be >= 2")
	case c.Heads >= 1 && c.Dim%c.Heads != 0:
		bad("dim", c.Dim, "must be divisible by heads=%d", c.Heads)
	case c.Heads >= 1 && (c.Dim/c.Heads)%2 != 0:
		bad("dim", c.Dim, "head dim dim/heads=%d must be even (rotary positions rotate pairs)", c.Dim/c.Heads)
	}
	if c.SeqLen < 1 {
		bad("seq_len", c.SeqLen, "must be >= 1")
	}
	if c.FFNHidden < 0 {
		bad("ffn_hidden", c.FFNHidden, "must be >= 0 (0 means 8/3·dim rounded up to a multiple of 8)")
	}
	if c.RopeBase < 0 || (c.RopeBase > 0 && c.RopeBase <= 1) {
		bad("rope_base", c.RopeBase, "must be > 1, or 0 for the default %g", DefaultRopeBase)
	}
	if c.NormEps < 0 {
		bad("norm_eps", c.NormEps, "must be >= 0 (0 means the default %g)", DefaultNormEps)
	}
	if !slices.Contains(Kinds, c.Model) {
		bad("model", fmt.Sprintf("%q", c.Model), "must be one of %q", Kinds)
	}

	if len(c.MemoryLayers) > 0 && !c.Model.IsMemory() {
		bad("memory_layers", c.MemoryLayers, "only used by model=peer, memory or memory+ (model=%q)", c.Model)
	}
	if c.Model.IsMemory() {
		seen := map[int]bool{}
		for _, l := range c.MemoryLayers {
			if l < 0 || l >= c.Layers {
				bad("memory_layers", c.MemoryLayers, "layer %d must be in 0..layers-1 (layers=%d)", l, c.Layers)
			} else if seen[l] {
				bad("memory_layers", c.MemoryLayers, "layer %d is listed twice", l)
			}
			seen[l] = true
		}
		if c.Model == KindMemory && c.Memory.PEER {
			bad("memory.peer", c.Memory.PEER, `not allowed with model="memory" (use model="peer")`)
		}
		if c.Model == KindMemoryPlus && c.Memory.PEER {
			bad("memory.peer", c.Memory.PEER, `not allowed with model="memory+" (use model="peer")`)
		}
		if err := c.LayerMemoryConfig().Validate(); err != nil {
			errs = append(errs, "lm: memory: "+err.Error())
		}
	}

	errs = append(errs, c.LoRA.validate(c.Dim)...)
	if c.Model == KindMoE {
		if c.MoE.Experts < 2 {
			bad("moe.experts", c.MoE.Experts, "must be >= 2")
		}
		if c.MoE.TopK != 1 && c.MoE.TopK != 2 {
			bad("moe.top_k", c.MoE.TopK, "must be 1 or 2")
		} else if c.MoE.Experts >= 2 && c.MoE.TopK > c.MoE.Experts {
			bad("moe.top_k", c.MoE.TopK, "must be <= moe.experts=%d", c.MoE.Experts)
		}
		if c.MoE.BalanceCoef < 0 {
			bad("moe.balance_coef", c.MoE.BalanceCoef, "must be >= 0")
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}
