package memlayer

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// HostLayer is a memory layer whose value table lives in host memory
// (HostValues) while its query projection, keys and output projections stay
// GoMLX variables in a model.Store, under the same names as Layer's.
//
// A step is split where the graph is slow and the host is fast:
//
//	graph: x → sub-key scores (dense matmuls)       HostScores
//	host:  top-k, merge, softmax, embedding bag      HostBag
//	graph: bag → output (Memory+ gate, projections)  OutputStage, when the config has one
//
// Backward runs the same pieces in reverse, handing gradients across: the
// graph gives dLoss/dbag, the host turns it into a sparse gradient of the
// touched rows and into gradients of the queries and sub-keys (through the
// chosen scores only), and the graph backpropagates those into the query
// projection, the keys and the input. Given the same
// variables it computes the same numbers as Layer (tests check it), so it is
// one layer with two homes for its values: use Layer inside a GoMLX model and
// on XLA/GPU, where the table is an on-device variable; use HostLayer for a
// pure-Go layer step whose cost does not grow with the table.
//
// The host path is deterministic: it supports neither dropout nor PEER.
type HostLayer struct {
	cfg       Config
	dim, vDim int
	// Values is the host table, [cfg.Rows(), v_dim].
	Values *HostValues
	bag    *HostBag

	store     *model.Store
	scopePath string
	scores    *model.Exec // x → half scores, query halves, sub-keys
	scoresVJP *model.Exec // x, d(query halves), d(sub-keys) → dx, d(query, query_bias, keys)
	output    *model.Exec // x, bag → out; nil when out = bag
	outputVJP *model.Exec // x, bag, dy → dx, dbag, d(output variables)
	varOpts   map[string]ValueOptimizer

	// Saved by Forward for Backward.
	x, bagOut *tensors.Tensor
}

// HostGrads are the gradients of one Backward.
type HostGrads struct {
	// X is dLoss/dx, [tokens, dim].
	X *tensors.Tensor
	// Vars are the gradients of the layer's graph variables, by variable path.
	Vars map[string]*tensors.Tensor
	// Values is the gradient of the value table: the touched rows only.
	Values *SparseRows
}

// NewHostLayer prepares a host-values memory layer on inputs of width dim,
// with its graph variables under the absolute scope path scopePath of store
// (created at the first Forward if missing, as Layer would). values is the
// table; nil creates one initialised N(0, v_dim^-½) with seed 1. Layers that
// share a table (Memory+) are given the same HostValues, merge their value
// gradients with MergeSparseRows and update the table once per step;
// cfg.ValuesScope only matters to Layer.
func NewHostLayer(backend compute.Backend, store *model.Store, scopePath string, cfg Config, dim int, values *HostValues) (*HostLayer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	var errs []string
	if cfg.PEER {
		errs = append(errs, "memlayer: peer=true: the host path supports product-key memory layers only; use memlayer.Layer for PEER")
	}
	if cfg.InputDropout > 0 || cfg.QueryDropout > 0 || cfg.ValueDropout > 0 {
		errs = append(errs, "memlayer: input_dropout/query_dropout/value_dropout must be 0 on the host path (it has no training mode); use memlayer.Layer for dropout")
	}
	if dim < 1 {
		errs = append(errs, fmt.Sprintf("memlayer: dim=%d: must be >= 1", dim))
	}
	if !strings.HasPrefix(scopePath, "/") {
		errs = append(errs, fmt.Sprintf("memlayer: scope path %q: must be absolute, e.g. \"/memory\"", scopePath))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	vDim := cfg.ValueDim(dim)
	if values == nil {
		var err error
		if values, err = NewHostValues(cfg.Rows(), vDim, 1); err != nil {
			return nil, err
		}
	} else if values.Rows != cfg.Rows() || values.Dim != vDim {
		return nil, fmt.Errorf("memlayer: host value table is %d×%d, but n_keys=%d and v_dim=%d need %d×%d",
			values.Rows, values.Dim, cfg.NKeys, vDim, cfg.Rows(), vDim)
	}
	bag, err := NewHostBag(cfg, values)
	if err != nil {
		return nil, err
	}
	l := &HostLayer{cfg: cfg, dim: dim, vDim: vDim, Values: values, bag: bag, store: store, scopePath: scopePath,
		varOpts: map[string]ValueOptimizer{}}
	if l.scores, err = model.NewExec(backend, store, func(root *model.Scope, x *Node) []*Node {
		scores, halves, keys := HostScores(l.scope(root), x, cfg)
		return []*Node{scores, halves, keys}
	}); err != nil {
		return nil, err
	}
	if l.scoresVJP, err = model.NewExec(backend, store, func(root *model.Scope, x, dHalves, dKeys *Node) []*Node {
		scope := l.scope(root)
		return Gradient(HostScoresVJP(scope, x, dHalves, dKeys, cfg),
			append([]*Node{x}, l.varNodes(scope, x.Graph(), VarQuery, VarQueryBias, VarKeys)...)...)
	}); err != nil {
		return nil, err
	}
	if !cfg.HasOutputStage(dim) {
		return l, nil
	}
	if l.output, err = model.NewExec(backend, store, func(root *model.Scope, x, bag *Node) *Node {
		return OutputStage(l.scope(root), x, bag, cfg)
	}); err != nil {
		return nil, err
	}
	if l.outputVJP, err = model.NewExec(backend, store, func(root *model.Scope, x, bag, dy *Node) []*Node {
		scope := l.scope(root)
		loss := ReduceAllSum(Mul(OutputStage(scope, x, bag, cfg), dy))
		wrt := append([]*Node{x, bag}, l.varNodes(scope, x.Graph(), VarSwiLUW1, VarSwiLUW2, VarValueProj, VarGate)...)
		return Gradient(loss, wrt...)
	}); err != nil {
		return nil, err
	}
	return l, nil
}

func (l *HostLayer) scope(root *model.Scope) *model.Scope { return root.Store().Scope(l.scopePath) }

// varNodes returns the nodes of those of names that exist under scope.
func (l *HostLayer) varNodes(scope *model.Scope, g *Graph, names ...string) []*Node {
	var nodes []*Node
	for _, name := range names {
		if v := scope.GetVariable(name); v != nil {
			nodes = append(nodes, v.NodeValue(g))
		}
	}
	return nodes
}

// varsOf returns the existing variables among names, in that order.
func (l *HostLayer) varsOf(names ...string) []*model.Variable {
	var vars []*model.Variable
	scope := l.store.Scope(l.scopePath)
	for _, name := range names {
		if v := scope.GetVariable(name); v != nil {
			vars = append(vars, v)
		}
	}
	return vars
}

// Forward returns the layer's output for x ([tokens, dim] float32) and keeps
// what Backward needs.
func (l *HostLayer) Forward(x *tensors.Tensor) (*tensors.Tensor, error) {
	if x.DType() != dtypes.Float32 || x.Rank() != 2 || x.Shape().Dimensions[1] != l.dim {
		return nil, fmt.Errorf("memlayer: host layer input %s: want float32 [tokens, %d]", x.Shape(), l.dim)
	}
	tokens := x.Shape().Dimensions[0]
	outs, err := l.scores.Exec(x)
	if err != nil {
		return nil, err
	}
	flat := make([][]float32, len(outs))
	for i, o := range outs {
		if flat[i], err = tensors.CopyFlatData[float32](o); err != nil {
			return nil, err
		}
		o.FinalizeAll()
	}
	bag, err := l.bag.Forward(flat[0], flat[1], flat[2], tokens)
	if err != nil {
		return nil, err
	}
	l.x, l.bagOut = x, tensors.FromFlatDataAndDimensions(bag, tokens, l.vDim)
	if l.output == nil {
		return l.bagOut, nil
	}
	outs, err = l.output.Exec(x, l.bagOut)
	if err != nil {
		return nil, err
	}
	return outs[0], nil
}

// Lookup returns what the last Forward chose (nil before the first).
func (l *HostLayer) Lookup() *HostLookup { return l.bag.Lookup() }

// Backward returns the gradients of Σ out·dy (dy = dLoss/dout, [tokens, dim])
// for the input of the last Forward. Its Values gradient is valid until the
// next Backward.
func (l *HostLayer) Backward(dy *tensors.Tensor) (*HostGrads, error) {
	if l.x == nil {
		return nil, fmt.Errorf("memlayer: host layer Backward called before Forward")
	}
	tokens := l.x.Shape().Dimensions[0]
	if !dy.Shape().Equal(l.x.Shape()) {
		return nil, fmt.Errorf("memlayer: host layer dy %s: want the output's shape %s", dy.Shape(), l.x.Shape())
	}
	grads := &HostGrads{Vars: map[string]*tensors.Tensor{}}
	dBag, dxOut := dy, (*tensors.Tensor)(nil)
	if l.outputVJP != nil {
		outs, err := l.outputVJP.Exec(l.x, l.bagOut, dy)
		if err != nil {
			return nil, err
		}
		dxOut, dBag = outs[0], outs[1]
		for i, v := range l.varsOf(VarSwiLUW1, VarSwiLUW2, VarValueProj, VarGate) {
			grads.Vars[v.Path()] = outs[2+i]
		}
	}

	var dHalves, dKeys []float32
	var err error
	if err := tensors.ConstFlatData(dBag, func(d []float32) {
		dHalves, dKeys, grads.Values, err = l.bag.Backward(d)
	}); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	half := l.cfg.KDim / 2
	outs, err := l.scoresVJP.Exec(l.x,
		tensors.FromFlatDataAndDimensions(dHalves, l.cfg.Heads, 2, tokens, half),
		tensors.FromFlatDataAndDimensions(dKeys, l.cfg.Heads, 2, l.cfg.NKeys, half))
	if err != nil {
		return nil, err
	}
	grads.X = outs[0]
	for i, v := range l.varsOf(VarQuery, VarQueryBias, VarKeys) {
		grads.Vars[v.Path()] = outs[1+i]
	}
	if dxOut != nil {
		if err := addInto(grads.X, dxOut); err != nil {
			return nil, err
		}
	}
	return grads, nil
}

// Update applies optimizer step t (1, 2, …): the value table with valueOpt
// (touched rows only), every graph variable with its own optimizer made by
// newOpt at its first update (a variable is a one-row table to it). A table
// shared with other layers is updated once per step by whoever merges the
// layers' gradients: pass a nil valueOpt here then.
func (l *HostLayer) Update(grads *HostGrads, t int, valueOpt ValueOptimizer, newOpt func() ValueOptimizer) error {
	if valueOpt != nil {
		if err := valueOpt.Update(l.Values, grads.Values, t); err != nil {
			return err
		}
	}
	for path, g := range grads.Vars {
		v := l.store.GetVariable(path)
		if v == nil {
			return fmt.Errorf("memlayer: no variable %s to update", path)
		}
		opt := l.varOpts[path]
		if opt == nil {
			opt = newOpt()
			l.varOpts[path] = opt
		}
		w, err := tensors.CopyFlatData[float32](v.MustValue())
		if err != nil {
			return err
		}
		gFlat, err := tensors.CopyFlatData[float32](g)
		if err != nil {
			return err
		}
		table := &HostValues{Rows: 1, Dim: len(w), Data: w}
		if err := opt.Update(table, &SparseRows{Dim: len(w), Rows: []int32{0}, Grad: gFlat}, t); err != nil {
			return err
		}
		if err := v.SetValue(tensors.FromFlatDataAndDimensions(w, v.Shape().Dimensions...)); err != nil {
			return err
		}
	}
	return nil
}

// addInto adds b to a (both float32, same shape).
func addInto(a, b *tensors.Tensor) error {
	return tensors.MutableFlatData(a, func(x []float32) {
		tensors.MustConstFlatData(b, func(y []float32) {
			for i := range x {
				x[i] += y[i]
			}
		})
	})
}
