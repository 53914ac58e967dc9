package lm

import "github.com/memlayers/memlayers/memlayer"

// Accounting is what a config costs, computed from the config alone (no
// graph): parameter counts and forward compute per token.
type Accounting struct {
	// TotalParams is the number of trainable numbers in the store after
	// Forward: embeddings, every layer, final norm, output head, and each
	// memory value table once (a shared Memory+ table counts once).
	TotalParams int64 `json:"total_params"`
	// EmbeddingParams is the token embedding table plus the output head when
	// it is not tied (each Vocab·Dim).
	EmbeddingParams int64 `json:"embedding_params"`
	// MemoryValueParams is the size of the memory value tables (for PEER also
	// the "up" tables of the single-neuron experts), counted once when shared.
	MemoryValueParams int64 `json:"memory_value_params"`
	// ActiveParamsPerToken is how many parameters one token reads in the
	// forward pass: one embedding row; all attention, norm and head weights;
	// the SwiGLU FFN, or for MoE the router plus its top-k experts only; and
	// for each memory layer its query projection, all its sub-keys (every
	// query is scored against them), the Heads·KNN value rows it gathers
	// (twice that for PEER: up and down rows) and its dense projections.
	ActiveParamsPerToken int64 `json:"active_params_per_token"`
	// FLOPsPerToken is the forward cost of one token at context SeqLen,
	// 2 FLOPs per multiply-add, counting matrix products only (norms,
	// activations, softmax, RoPE and top-k selection are left out):
	//
	//	FLOPs = 2·[ Σ_layers (4·d² + 2·T·d + ffn) + d·V ]
	//
	// with d = Dim, T = SeqLen, V = Vocab, 4·d² the q/k/v/o projections,
	// 2·T·d the scores q·kᵀ and the mixing probs·v over all T key positions
	// (the causal mask is applied to a full T×T product, as Forward
	// computes it), and ffn per layer:
	//   - dense: 3·d·F (F = Hidden());
	//   - MoE: d·E + k·3·d·F (router + top-k experts, not all E);
	//   - memory: d·H·K (query) + H·N·K (both halves of every head scored
	//     against N sub-keys of size K/2) + H·knn·v (bag) + 2·d·v (Memory+
	//     SwiLU W1, W2) or v·d (value projection when v ≠ d) + d (gate);
	//   - PEER: as memory with v = d and an extra H·knn·d for x·u_i.
	// The embedding lookup costs nothing; the output head costs d·V.
	// A training step costs about 3× this (forward + backward).
	FLOPsPerToken int64 `json:"flops_per_token"`
	// LoRAParams is the number of low-rank adapter parameters (Config.LoRA), part of TotalParams. The
	// forward adds each adapter's product to its weight, so FLOPsPerToken leaves them out.
	LoRAParams int64 `json:"lora_params,omitempty"`
	// AttentionFLOPsPerToken is the T-dependent part of FLOPsPerToken:
	// 2·Layers·2·SeqLen·Dim.
	AttentionFLOPsPerToken int64 `json:"attention_flops_per_token"`
}

// NonEmbeddingParams is TotalParams minus embeddings and memory values:
// the "dense" weights of the model.
func (a Accounting) NonEmbeddingParams() int64 {
	return a.TotalParams - a.EmbeddingParams - a.MemoryValueParams
}

// memoryCost is one memory layer's parameters and per-token reads/MACs.
type memoryCost struct {
	params int64 // parameters owned by the layer (not its value tables)
	values int64 // size of its value tables (shared or not)
	active int64 // parameters read per token, values included
	macs   int64 // multiply-adds per token
}

func memoryLayerCost(m memlayer.Config, d int) memoryCost {
	h, knn, n, kd := int64(m.Heads), int64(m.KNN), int64(m.NKeys), int64(m.KDim)
	dd := int64(d)
	v := int64(m.ValueDim(d))
	if m.PEER {
		v = dd
	}
	var c memoryCost
	query := dd * h * kd
	if m.QueryBias {
		query += h * kd
	}
	keys := h * n * kd // h · 2 halves · n · kd/2
	c.params = query + keys
	c.values = n * n * v
	bag := h * knn * v
	c.active = query + keys + bag
	c.macs = dd*h*kd + h*n*kd + bag
	if m.PEER {
		c.values += n * n * dd
		c.active += h * knn * dd
		c.macs += h * knn * dd
	}
	var proj int64
	switch {
	case m.SwiLU:
		proj = 2 * dd * v
	case v != dd:
		proj = v * dd
	}
	if m.Gated {
		proj += dd
	}
	c.params += proj
	c.active += proj
	c.macs += proj
	return c
}

// Count returns the accounting of cfg, which should be valid (see Validate).
// TotalParams equals the number of parameters Forward creates, exactly.
func Count(cfg Config) Accounting {
	d, v, t := int64(cfg.Dim), int64(cfg.Vocab), int64(cfg.SeqLen)
	f := int64(cfg.Hidden())
	var a Accounting
	var macs int64

	// Token embedding: one row read per token, no compute.
	a.EmbeddingParams = v * d
	a.ActiveParamsPerToken = d

	mem := memoryLayerCost(cfg.LayerMemoryConfig(), cfg.Dim)
	valuesCounted := false
	var layerParams int64
	for i := range cfg.Layers {
		attn := 4 * d * d
		norms := 2 * d
		layerParams += attn + norms
		a.LoRAParams += 4 * cfg.LoRA.params(d, d)
		a.ActiveParamsPerToken += attn + norms
		macs += attn + 2*t*d
		switch {
		case cfg.IsMemoryLayer(i):
			layerParams += mem.params
			a.ActiveParamsPerToken += mem.active
			macs += mem.macs
			if !valuesCounted || !cfg.SharesValues() {
				a.MemoryValueParams += mem.values
				valuesCounted = true
			}
		case cfg.Model == KindMoE:
			e, k := int64(cfg.MoE.Experts), int64(cfg.MoE.TopK)
			layerParams += d*e + e*3*d*f
			a.ActiveParamsPerToken += d*e + k*3*d*f
			macs += d*e + k*3*d*f
		default:
			layerParams += 3 * d * f
			a.LoRAParams += 2*cfg.LoRA.params(d, f) + cfg.LoRA.params(f, d)
			a.ActiveParamsPerToken += 3 * d * f
			macs += 3 * d * f
		}
	}
	// Final norm and output head.
	layerParams += d
	a.ActiveParamsPerToken += d + v*d
	macs += v * d
	if !cfg.TiedEmbeddings {
		a.EmbeddingParams += v * d
	}
	a.TotalParams = a.EmbeddingParams + a.MemoryValueParams + layerParams + a.LoRAParams
	a.FLOPsPerToken = 2 * macs
	a.AttentionFLOPsPerToken = 2 * int64(cfg.Layers) * 2 * t * d
	return a
}
