package memlayer

import (
	"fmt"
	"math"
)

// HostPEER is the host half of a PEER layer on the host path, as HostBag is
// for a product-key memory layer: the same search of the sub-key scores, then
// each chosen slot i is a single-neuron expert with an input row u_i (the
// "peer_up" table U) and an output row v_i (the value table V):
//
//	out_t = Σ_i w_ti · gelu(x_t·u_i) · v_i
//
// Both tables live in host memory and only the rows a batch read receive a
// gradient; the backward also returns the gradient of the layer input x.
type HostPEER struct {
	cfg        Config
	up, values *HostValues

	// Saved by Forward for Backward.
	lookup          *HostLookup
	halves, keys, x []float32
	pre, coef       []float32 // x_t·u_i and w_ti·gelu(x_t·u_i), [tokens, Heads·KNN]
	// The tables' gradients of the last Backward, reused between steps.
	upGrad, valueGrad SparseRows
}

// NewHostPEER returns the host half of a PEER layer with config cfg (PEER
// set) reading up (U) and values (V), each cfg.Rows() rows of the layer's
// width.
func NewHostPEER(cfg Config, up, values *HostValues) (*HostPEER, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	switch {
	case !cfg.PEER:
		return nil, fmt.Errorf("memlayer: HostPEER needs peer=true; use HostBag for a product-key memory layer")
	case up == nil || values == nil || up.Rows != cfg.Rows() || values.Rows != cfg.Rows() || up.Dim != values.Dim:
		return nil, fmt.Errorf("memlayer: PEER tables must both have n_keys²=%d rows of the layer's width", cfg.Rows())
	}
	return &HostPEER{cfg: cfg, up: up, values: values}, nil
}

// Forward searches halfScores (as HostBag.Forward) and returns the layer's
// output [tokens, dim] for its input x ([tokens, dim]; kept, not copied).
func (p *HostPEER) Forward(halfScores, halves, keys, x []float32, tokens int) ([]float32, error) {
	c, d := p.cfg, p.up.Dim
	if len(x) != tokens*d {
		return nil, fmt.Errorf("memlayer: host PEER input has %d values, want tokens·dim = %d", len(x), tokens*d)
	}
	lookup, err := SearchOnHost(halfScores, tokens, c.Heads, c.NKeys, c.KNN)
	if err != nil {
		return nil, err
	}
	bag := c.Heads * c.KNN
	p.pre, p.coef = grow(p.pre, tokens*bag), grow(p.coef, tokens*bag)
	parallelFor(tokens, func(lo, hi int) {
		scratch := make([]float32, 16*bag)
		for t := lo; t < hi; t++ {
			rowDots(p.up.Data, lookup.Indices[t*bag:(t+1)*bag], x[t*d:(t+1)*d], p.pre[t*bag:(t+1)*bag], scratch)
		}
		for e := lo * bag; e < hi*bag; e++ {
			p.coef[e] = lookup.Weights[e] * gelu(p.pre[e])
		}
	})
	out := make([]float32, tokens*d)
	p.values.Bag(lookup.Indices, p.coef, bag, out)
	p.lookup, p.halves, p.keys, p.x = lookup, halves, keys, x
	return out, nil
}

// Backward takes dOut = dLoss/dout ([tokens, dim]) of the last Forward and
// returns the gradients of the query halves and sub-keys (HostScores'
// layouts) and of the input x; the tables' gradients are Gradients'.
func (p *HostPEER) Backward(dOut []float32) (dHalves, dKeys, dX []float32, err error) {
	if p.lookup == nil {
		return nil, nil, nil, fmt.Errorf("memlayer: host PEER Backward called before Forward")
	}
	d, bag := p.up.Dim, p.cfg.Heads*p.cfg.KNN
	if len(dOut) != p.lookup.Tokens*d {
		return nil, nil, nil, fmt.Errorf("memlayer: host PEER Backward: %d gradient values, want tokens·dim = %d", len(dOut), p.lookup.Tokens*d)
	}
	// out = Σ coef·v: dcoef = dOut·v, and V's rows get coef·dOut.
	dCoef := p.values.BagBackward(p.lookup.Indices, p.coef, bag, dOut, &p.valueGrad)
	// coef = w·gelu(pre): the weights get dcoef·gelu(pre), pre gets dcoef·w·gelu'(pre).
	dWeights, dPre := make([]float32, len(dCoef)), make([]float32, len(dCoef))
	parallelFor(len(dCoef), func(lo, hi int) {
		for e := lo; e < hi; e++ {
			dWeights[e] = dCoef[e] * gelu(p.pre[e])
			dPre[e] = dCoef[e] * p.lookup.Weights[e] * geluDerivative(p.pre[e])
		}
	})
	// pre = x·u: U's rows get dpre·x, and x gets Σ dpre·u.
	sparseRowGradient(p.lookup.Indices, dPre, bag, p.x, d, &p.upGrad)
	dX = make([]float32, len(p.x))
	p.up.Bag(p.lookup.Indices, dPre, bag, dX)
	dHalves, dKeys = make([]float32, len(p.halves)), make([]float32, len(p.keys))
	p.lookup.QueryKeyGrads(dWeights, p.halves, p.keys, dHalves, dKeys)
	return dHalves, dKeys, dX, nil
}

// Gradients are the tables' gradients of the last Backward (rows sorted,
// valid until the next Backward).
func (p *HostPEER) Gradients() (up, values *SparseRows) { return &p.upGrad, &p.valueGrad }

// Lookup returns what the last Forward chose (nil before the first).
func (p *HostPEER) Lookup() *HostLookup { return p.lookup }

// gelu is the exact GELU, x·Φ(x), as GoMLX's activation.Gelu.
func gelu(x float32) float32 {
	v := float64(x)
	return float32(v * 0.5 * (1 + math.Erf(v/math.Sqrt2)))
}

// geluDerivative is Φ(x) + x·φ(x).
func geluDerivative(x float32) float32 {
	v := float64(x)
	return float32(0.5*(1+math.Erf(v/math.Sqrt2)) + v*math.Exp(-v*v/2)/math.Sqrt(2*math.Pi))
}
