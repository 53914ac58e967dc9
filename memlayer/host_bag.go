package memlayer

import "fmt"

// HostBag is the host half of a memory layer on the host path. From the
// sub-key scores that the graph computed (HostScores) it finds each query's
// slots (SearchOnHost) and reads their weighted sum from the value table
// (the bag); on the way back it turns the loss's gradient with respect to the
// bag into the table's sparse gradient (the rows the bag read) and into the
// gradients of the query halves and sub-keys (through the chosen scores
// only), which the graph backpropagates further (HostScoresVJP).
//
// Several HostBags may read one table (Memory+): each keeps its own gradient,
// and the table takes one optimizer step on their sum (MergeSparseRows).
type HostBag struct {
	cfg    Config
	values *HostValues

	// Saved by Forward for Backward.
	lookup       *HostLookup
	halves, keys []float32
	// grad is the table's gradient of the last Backward, reused between steps.
	grad SparseRows
}

// NewHostBag returns the host half of a layer with config cfg reading values
// (cfg.Rows() rows).
func NewHostBag(cfg Config, values *HostValues) (*HostBag, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.PEER {
		return nil, fmt.Errorf("memlayer: peer=true: the host path supports product-key memory layers only; use memlayer.Layer for PEER")
	}
	if values == nil || values.Rows != cfg.Rows() {
		rows := 0
		if values != nil {
			rows = values.Rows
		}
		return nil, fmt.Errorf("memlayer: host value table has %d rows, but n_keys=%d needs %d", rows, cfg.NKeys, cfg.Rows())
	}
	return &HostBag{cfg: cfg, values: values}, nil
}

// Values is the table the bag reads.
func (b *HostBag) Values() *HostValues { return b.values }

// Config is the layer's config.
func (b *HostBag) Config() Config { return b.cfg }

// Gradient is the table's gradient of the last Backward (rows sorted, valid
// until the next Backward).
func (b *HostBag) Gradient() *SparseRows { return &b.grad }

// Lookup returns what the last Forward chose (nil before the first).
func (b *HostBag) Lookup() *HostLookup { return b.lookup }

// Forward searches halfScores ([Heads, 2, tokens, NKeys]) and returns the bag
// [tokens, v_dim]. halves ([Heads, 2, tokens, KDim/2]) and keys ([Heads, 2,
// NKeys, KDim/2]) are HostScores' other outputs: Backward needs them (they are
// kept, not copied).
func (b *HostBag) Forward(halfScores, halves, keys []float32, tokens int) ([]float32, error) {
	c := b.cfg
	half := c.KDim / 2
	if len(halves) != c.Heads*2*tokens*half || len(keys) != c.Heads*2*c.NKeys*half {
		return nil, fmt.Errorf("memlayer: host bag: %d query-half and %d key values, want %d and %d",
			len(halves), len(keys), c.Heads*2*tokens*half, c.Heads*2*c.NKeys*half)
	}
	lookup, err := SearchOnHost(halfScores, tokens, c.Heads, c.NKeys, c.KNN)
	if err != nil {
		return nil, err
	}
	bag := make([]float32, tokens*b.values.Dim)
	b.values.Bag(lookup.Indices, lookup.Weights, c.Heads*c.KNN, bag)
	b.lookup, b.halves, b.keys = lookup, halves, keys
	return bag, nil
}

// Backward takes dBag = dLoss/dbag ([tokens, v_dim]) of the last Forward and
// returns the gradients of its query halves and sub-keys (HostScores'
// layouts) and the table's gradient, valid until the next Backward.
func (b *HostBag) Backward(dBag []float32) (dHalves, dKeys []float32, values *SparseRows, err error) {
	if b.lookup == nil {
		return nil, nil, nil, fmt.Errorf("memlayer: host bag Backward called before Forward")
	}
	if want := b.lookup.Tokens * b.values.Dim; len(dBag) != want {
		return nil, nil, nil, fmt.Errorf("memlayer: host bag Backward: %d gradient values, want tokens·v_dim = %d", len(dBag), want)
	}
	dWeights := b.values.BagBackward(b.lookup.Indices, b.lookup.Weights, b.cfg.Heads*b.cfg.KNN, dBag, &b.grad)
	dHalves, dKeys = make([]float32, len(b.halves)), make([]float32, len(b.keys))
	b.lookup.QueryKeyGrads(dWeights, b.halves, b.keys, dHalves, dKeys)
	return dHalves, dKeys, &b.grad, nil
}
