package lm

import (
	"fmt"
	"math"

	"github.com/memlayers/memlayers/memlayer"
)

// ScaleTolerance is how far (relative) DenseScaled may land from the
// requested FLOPs factor before it reports an error.
const ScaleTolerance = 0.15

// DefaultBalanceCoef is the MoE load-balancing coefficient MoEMatched uses
// when the base config has none (Switch Transformer's 1e-2).
const DefaultBalanceCoef = 0.01

// FLOPsRatio is Count(cfg).FLOPsPerToken / Count(base).FLOPsPerToken.
func FLOPsRatio(cfg, base Config) float64 {
	return float64(Count(cfg).FLOPsPerToken) / float64(Count(base).FLOPsPerToken)
}

// asDense is base with a dense FFN in every layer.
func asDense(base Config) Config {
	c := base
	c.Model = KindDense
	c.MemoryLayers = nil
	c.Memory = memlayer.Config{}
	c.MoE = MoEConfig{}
	return c
}

// DenseScaled returns a dense config whose FLOPsPerToken is as close as
// possible (in ratio) to factor × base's, the "dense model with 2–4× the
// compute" of the paper's comparisons. by chooses what grows:
//   - "width": Dim, in steps of 2·Heads (heads are kept; head dim stays
//     even); an explicit FFNHidden is scaled in proportion (rounded to a
//     multiple of 8), a zero one keeps following the default rule;
//   - "depth": Layers.
//
// Everything else (vocab, seq_len, embeddings) is kept. The achieved ratio
// is FLOPsRatio(result, base); DenseScaled fails if it is more than
// ScaleTolerance away from factor (tiny models cannot hit every factor by
// depth) or if base is invalid.
func DenseScaled(base Config, factor float64, by string) (Config, error) {
	if err := base.Validate(); err != nil {
		return Config{}, err
	}
	if !(factor > 0) || math.IsInf(factor, 0) {
		return Config{}, fmt.Errorf("lm: factor=%v: must be a finite number > 0", factor)
	}
	target := factor * float64(Count(base).FLOPsPerToken)
	cand := asDense(base)
	var set func(step int) // sets the step-th candidate
	switch by {
	case "width":
		unit := 2 * base.Heads
		set = func(step int) {
			cand.Dim = step * unit
			if base.FFNHidden > 0 {
				f := float64(base.FFNHidden) * float64(cand.Dim) / float64(base.Dim)
				cand.FFNHidden = max(8, int(math.Round(f/8))*8)
			}
		}
	case "depth":
		set = func(step int) { cand.Layers = step }
	default:
		return Config{}, fmt.Errorf(`lm: by=%q: must be "width" or "depth"`, by)
	}
	best, bestErr := Config{}, math.Inf(1)
	// FLOPs grow monotonically with either knob: stop once past 2× target.
	for step := 1; ; step++ {
		set(step)
		flops := float64(Count(cand).FLOPsPerToken)
		if e := math.Abs(math.Log(flops / target)); e < bestErr {
			best, bestErr = cand, e
		}
		if flops > 2*target {
			break
		}
	}
	got := FLOPsRatio(best, base)
	if math.Abs(got/factor-1) > ScaleTolerance {
		return best, fmt.Errorf("lm: factor=%v: closest dense config by %s reaches %.3f× the FLOPs of the base (more than %.0f%% away)",
			factor, by, got, 100*ScaleTolerance)
	}
	return best, best.Validate()
}

// MoEMatched returns the MoE version of base with the fewest experts whose
// TotalParams is >= target: the paper's rule for its MoE baseline ("the
// fewest experts whose parameter count exceeds Memory's"). Every layer's FFN
// becomes an MoE; TopK and BalanceCoef come from base.MoE (defaults 1 and
// DefaultBalanceCoef). At least 2 experts (and at least TopK) are used.
func MoEMatched(base Config, target int64) (Config, error) {
	c := asDense(base)
	c.Model = KindMoE
	c.MoE = base.MoE
	if c.MoE.TopK == 0 {
		c.MoE.TopK = 1
	}
	if c.MoE.BalanceCoef == 0 {
		c.MoE.BalanceCoef = DefaultBalanceCoef
	}
	minE := max(2, c.MoE.TopK)
	c.MoE.Experts = minE
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	// Each expert adds one router column and one SwiGLU per layer.
	p0 := Count(c).TotalParams
	perExpert := int64(c.Layers) * (int64(c.Dim) + 3*int64(c.Dim)*int64(c.Hidden()))
	if target > p0 {
		extra := (target - p0 + perExpert - 1) / perExpert
		if extra > 1<<24 {
			return Config{}, fmt.Errorf("lm: target=%d: needs %d experts, more than %d", target, extra+int64(minE), 1<<24)
		}
		c.MoE.Experts = minE + int(extra)
	}
	return c, nil
}

// Variant builds the paper's baseline of the given kind from one base
// config (whose Model is ignored) and one memory config:
//   - dense: base with a SwiGLU FFN in every layer;
//   - memory: the FFN of the placed layers (default: the middle one)
//     replaced by a memory layer with config mem;
//   - memory+: Memory+ layers (SwiLU, qk-norm, shared values) with mem in
//     the default three layers;
//   - peer: a PEER layer with mem's heads, knn and key dim, and the fewest
//     half-keys (>= knn) whose model has at least the TotalParams of the
//     memory variant (paper: 768 half-keys against Memory's 1024);
//   - moe: MoEMatched(base, TotalParams of the memory variant).
//
// base.MemoryLayers is kept for peer, memory and memory+.
func Variant(base Config, kind Kind, mem memlayer.Config) (Config, error) {
	c := asDense(base)
	var err error
	switch kind {
	case KindDense:
	case KindMemory, KindMemoryPlus:
		c.Model, c.Memory, c.MemoryLayers = kind, mem, base.MemoryLayers
	case KindPEER:
		var ref Config
		if ref, err = Variant(base, KindMemory, mem); err != nil {
			return Config{}, err
		}
		target := Count(ref).TotalParams
		c.Model, c.Memory, c.MemoryLayers = KindPEER, mem, base.MemoryLayers
		c.Memory.PEER, c.Memory.SwiLU = true, false
		lo, hi := max(1, mem.KNN), max(1, mem.KNN)
		for c.Memory.NKeys = hi; Count(c).TotalParams < target; c.Memory.NKeys = hi {
			lo, hi = hi, 2*hi
		}
		for lo < hi { // smallest n in [lo, hi] with params >= target
			c.Memory.NKeys = (lo + hi) / 2
			if Count(c).TotalParams >= target {
				hi = c.Memory.NKeys
			} else {
				lo = c.Memory.NKeys + 1
			}
		}
		c.Memory.NKeys = lo
	case KindMoE:
		var ref Config
		if ref, err = Variant(base, KindMemory, mem); err != nil {
			return Config{}, err
		}
		return MoEMatched(base, Count(ref).TotalParams)
	default:
		return Config{}, fmt.Errorf("lm: model=%q: must be one of %q", kind, Kinds)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// Variants returns Variant(base, k, mem) for every kind in Kinds, in order.
func Variants(base Config, mem memlayer.Config) ([]Config, error) {
	out := make([]Config, 0, len(Kinds))
	for _, k := range Kinds {
		c, err := Variant(base, k, mem)
		if err != nil {
			return nil, fmt.Errorf("lm: variant %s: %w", k, err)
		}
		out = append(out, c)
	}
	return out, nil
}
