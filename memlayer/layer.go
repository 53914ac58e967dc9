package memlayer

import (
	"math"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/memlayers/memlayers/memlayer/expfree"
)

// Variable names used by the layer. Value tables are recognised by name so
// that optimizers can give them their own learning rate (see IsValueVariable).
const (
	VarQuery     = "query"
	VarQueryBias = "query_bias"
	VarKeys      = "keys"
	VarValues    = "values"
	VarSwiLUW1   = "swilu_w1"
	VarSwiLUW2   = "swilu_w2"
	VarValueProj = "value_proj"
	VarGate      = "gate"
	VarPEERUp    = "peer_up"
)

// Layer applies a product-key memory layer to x ([..., dim]) and returns an
// output of the same shape, so it can replace a feed-forward block.
//
// Variables live under scope (query projection, keys, projections); the value
// table lives under scope too, or under cfg.ValuesScope when several layers
// share one table (Memory+). Following GoMLX's graph-building convention it
// panics on an invalid cfg: call cfg.Validate() first to get an error instead.
func Layer(scope *model.Scope, x *Node, cfg Config) *Node {
	out, _ := LayerWithLookup(scope, x, cfg)
	return out
}

// Lookup is what one memory lookup chose: slot indices (int32) and their
// softmax weights, both [T, Heads, KNN] with T = number of input vectors.
// Use it to inspect a layer or to compute usage statistics.
type Lookup struct {
	Indices, Weights *Node
}

// LayerWithLookup is Layer that also returns the lookup it made.
func LayerWithLookup(scope *model.Scope, x *Node, cfg Config) (*Node, Lookup) {
	if err := cfg.Validate(); err != nil {
		exceptions.Panicf("%v", err)
	}
	g := x.Graph()
	dims := x.Shape().Dimensions
	dim := dims[len(dims)-1]
	tokens := x.Shape().Size() / dim
	dtype := x.DType()
	vDim := cfg.ValueDim(dim)
	if cfg.PEER {
		vDim = dim
	}

	flat := Reshape(x, tokens, dim)
	input, q, keys := queriesTokenMajor(scope, flat, cfg)

	scores, indices := ProductKeySearch(q, keys, cfg.KNN)
	// Softmax over each head's knn survivors, in at least float32 precision
	// (paper §3: half-precision models upcast here).
	softmaxDType := dtype
	if dtype.Size() < 4 {
		softmaxDType = dtypes.Float32
	}
	weights := ConvertDType(expfree.Softmax(ConvertDType(scores, softmaxDType), -1), dtype)
	lookup := Lookup{Indices: indices, Weights: weights}

	bagSize := cfg.Heads * cfg.KNN
	flatIdx := Reshape(indices, tokens, bagSize)
	flatW := Reshape(weights, tokens, bagSize)
	valuesScope := scope
	if cfg.ValuesScope != "" {
		valuesScope = scope.Store().Scope(cfg.ValuesScope)
	}
	values := valueTable(valuesScope, VarValues, cfg.Rows(), vDim, dtype).NodeValue(g)

	var out *Node
	if cfg.PEER {
		// PEER: each slot is a single-neuron expert (u_i, v_i):
		// out = Σ_i w_i · gelu(x·u_i) · v_i.
		up := valueTable(valuesScope, VarPEERUp, cfg.Rows(), dim, dtype).NodeValue(g)
		upRows := Gather(up, InsertAxes(flatIdx, -1))               // [T, B, dim]
		act := activation.Gelu(Einsum("td,tbd->tb", input, upRows)) // [T, B]
		out = EmbeddingBag(values, flatIdx, Mul(flatW, act))
	} else {
		out = EmbeddingBag(values, flatIdx, flatW) // [T, vDim]
	}
	out = OutputStage(scope, input, out, cfg)
	return Reshape(out, dims...), lookup
}

// queriesTokenMajor applies the input dropout and builds the parts of the
// layer that every path shares: the query projection q ([T, Heads, KDim],
// after query bias, dropout and qk-norm) and the sub-keys ([Heads, 2, NKeys,
// KDim/2]). flat is [T, dim]; input is flat after input dropout.
func queriesTokenMajor(scope *model.Scope, flat *Node, cfg Config) (input, q, keys *Node) {
	g := flat.Graph()
	tokens, dim := flat.Shape().Dimensions[0], flat.Shape().Dimensions[1]
	dtype := flat.DType()
	input = layers.DropoutStatic(scope, flat, cfg.InputDropout)

	// Query projection: [T, H, KDim].
	wq := scope.WithInitializer(initializer.XavierUniformFn(scope)).
		VariableWithShape(VarQuery, shapesOf(dtype, dim, cfg.Heads*cfg.KDim)).NodeValue(g)
	q = Dot(input, wq).Product()
	if cfg.QueryBias {
		bq := scope.WithInitializer(initializer.Zero).
			VariableWithShape(VarQueryBias, shapesOf(dtype, cfg.Heads*cfg.KDim)).NodeValue(g)
		q = Add(q, InsertAxes(bq, 0))
	}
	q = layers.DropoutStatic(scope, q, cfg.QueryDropout)
	q = Reshape(q, tokens, cfg.Heads, cfg.KDim)

	// Sub-keys: [H, 2, NKeys, KDim/2], uniform ±1/√KDim as in the reference.
	bound := 1 / math.Sqrt(float64(cfg.KDim))
	keys = scope.WithInitializer(initializer.RandomUniformFn(scope, -bound, bound)).
		VariableWithShape(VarKeys, shapesOf(dtype, cfg.Heads, 2, cfg.NKeys, cfg.KDim/2)).NodeValue(g)
	if cfg.QKNorm {
		q = Reshape(L2NormalizeWithEpsilon(Reshape(q, tokens, cfg.Heads, 2, cfg.KDim/2), 1e-6, -1),
			tokens, cfg.Heads, cfg.KDim)
		keys = L2NormalizeWithEpsilon(keys, 1e-6, -1)
	}
	return input, q, keys
}

// OutputStage maps the bag ([T, vDim]) to the layer output ([T, dim]) given
// the layer's input ([T, dim]): value dropout, then the Memory+ SwiLU gate and
// projection, or the value projection when vDim != dim, then the optional
// per-token gate. It returns the bag itself when the config has none of
// these (HasOutputStage). The host path runs it in the graph after HostBag.
func OutputStage(scope *model.Scope, input, bag *Node, cfg Config) *Node {
	g := input.Graph()
	dim := input.Shape().Dimensions[1]
	vDim := bag.Shape().Dimensions[1]
	dtype := input.DType()
	out := layers.DropoutStatic(scope, bag, cfg.ValueDropout)
	normal := func(name string, shape ...int) *Node {
		return scope.WithInitializer(initializer.RandomNormalFn(scope, 1/math.Sqrt(float64(dim)))).
			VariableWithShape(name, shapesOf(dtype, shape...)).NodeValue(g)
	}
	switch {
	case cfg.SwiLU:
		// Memory+: out = W2((bag) ⊙ silu(W1 x)).
		gate := expfree.Swish(Dot(input, normal(VarSwiLUW1, dim, vDim)).Product())
		out = Dot(Mul(out, gate), normal(VarSwiLUW2, vDim, dim)).Product()
	case vDim != dim:
		out = Dot(out, normal(VarValueProj, vDim, dim)).Product()
	}
	if cfg.Gated {
		out = Mul(out, expfree.Sigmoid(Dot(input, normal(VarGate, dim, 1)).Product()))
	}
	return out
}

// HasOutputStage reports whether OutputStage does more than return the bag
// for a layer of width dim.
func (c Config) HasOutputStage(dim int) bool {
	return c.SwiLU || c.Gated || c.ValueDim(dim) != dim || c.ValueDropout > 0
}

// valueTable returns the [rows, dim] table variable `name` under scope,
// initialised N(0, dim^-½) as in the reference. A second layer asking for the
// same shared table gets the same variable; a shape mismatch panics.
func valueTable(scope *model.Scope, name string, rows, dim int, dtype dtypes.DType) *model.Variable {
	if v := scope.GetVariable(name); v != nil {
		want := shapesOf(dtype, rows, dim)
		if !v.Shape().Equal(want) {
			exceptions.Panicf("memlayer: shared value table %s has shape %s, but this layer needs %s "+
				"(layers sharing values must agree on n_keys and v_dim)", v.Path(), v.Shape(), want)
		}
		return v
	}
	return scope.WithInitializer(initializer.RandomNormalFn(scope, 1/math.Sqrt(float64(dim)))).
		VariableWithShape(name, shapesOf(dtype, rows, dim))
}

// IsValueVariable reports whether v is a memory value table (the values of a
// memory layer, or a PEER expert table): the variables whose rows are touched
// sparsely, and to which a trainer gives the value learning rate.
func IsValueVariable(v *model.Variable) bool {
	n := v.Name()
	return n == VarValues || n == VarPEERUp
}
