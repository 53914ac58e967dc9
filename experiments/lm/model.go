package lm

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
	"github.com/memlayers/memlayers/memlayer"
)

// Scope and variable names. A model's variables read like
// "/layer_03/attn/wq", "/layer_03/ffn/w1", "/layer_03/memory/keys".
const (
	ScopeEmbedding = "embedding"
	ScopeFinalNorm = "final_norm"
	ScopeOutput    = "output"
	ScopeAttn      = "attn"
	ScopeAttnNorm  = "attn_norm"
	ScopeFFN       = "ffn"
	ScopeFFNNorm   = "ffn_norm"
	ScopeMemory    = "memory"

	VarEmbedding = "table"   // [Vocab, Dim]
	VarScale     = "scale"   // RMSNorm gain [Dim]
	VarHead      = "weights" // untied output head [Dim, Vocab]
	VarRouter    = "router"  // MoE router [Dim, Experts]
	VarExpertsW1 = "w1"      // MoE: [Experts, Dim, Hidden]; dense: [Dim, Hidden]
	VarExpertsW3 = "w3"      // MoE: [Experts, Dim, Hidden]; dense: [Dim, Hidden]
	VarExpertsW2 = "w2"      // MoE: [Experts, Hidden, Dim]; dense: [Hidden, Dim]
	VarWQ        = "wq"      // [Dim, Dim]
	VarWK        = "wk"      // [Dim, Dim]
	VarWV        = "wv"      // [Dim, Dim]
	VarWO        = "wo"      // [Dim, Dim]
	attnMaskFill = -1e9      // added to the logits of future positions
	layerFmt     = "layer_%02d"
)

// LayerScope is the scope name of layer i ("layer_03").
func LayerScope(i int) string { return fmt.Sprintf(layerFmt, i) }

// Forward runs the decoder on tokens ([B, T] int32, T <= SeqLen) and returns
// logits [B, T, Vocab] (float32) and aux, a float32 scalar auxiliary loss:
// the mean over MoE layers of BalanceCoef · E·Σ_e f_e·P_e (so it equals
// BalanceCoef when routing is uniform), and zero for other kinds. Add aux to
// the training loss.
//
// Each block is pre-norm: h += Attn(RMSNorm(h)); h += FFN(RMSNorm(h)), where
// FFN is a SwiGLU, an MoE, or memlayer.Layer on placed layers of memory kinds.
// Initialisation: embedding table and untied head N(0, 1/√Dim), projections
// and router N(0, 1/√fan_in), the residual output projections (attn wo,
// ffn/expert w2) further scaled by 1/√(2·Layers) (GPT-2 style), norm gains 1;
// memlayer initialises its own variables. All variables are float32.
//
// Like GoMLX layers it panics on an invalid cfg: call cfg.Validate() first
// to get an error instead.
func Forward(scope *model.Scope, cfg Config, tokens *Node) (logits, aux *Node) {
	if err := cfg.Validate(); err != nil {
		exceptions.Panicf("%v", err)
	}
	g := tokens.Graph()
	if tokens.Rank() != 2 || !tokens.DType().IsInt() {
		exceptions.Panicf("lm.Forward: tokens must be [batch, seq] integers, got %s", tokens.Shape())
	}
	b, t := tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1]
	if t > cfg.SeqLen {
		exceptions.Panicf("lm.Forward: sequence length %d exceeds seq_len=%d", t, cfg.SeqLen)
	}
	d := cfg.Dim
	dtype := dtypes.Float32
	residualStd := 1 / math.Sqrt(2*float64(cfg.Layers))

	embScope := scope.In(ScopeEmbedding)
	emb := normalVar(embScope, VarEmbedding, 1/math.Sqrt(float64(d)), cfg.Vocab, d).NodeValue(g)
	h := Gather(emb, InsertAxes(ConvertDType(tokens, dtypes.Int32), -1)) // [B, T, d]

	memCfg := cfg.LayerMemoryConfig()
	if cfg.Model == KindMemoryPlus && memCfg.ValuesScope == "" {
		memCfg.ValuesScope = model.JoinPath(scope.Scope(), DefaultValuesScope)
	}
	cos, sin := ropeTables(g, t, cfg.HeadDim(), cfg.Rope())
	mask := causalBias(g, t)
	aux = ScalarZero(g, dtype)
	for i := range cfg.Layers {
		ls := scope.In(layerFmt, i)
		x := rmsNorm(ls.In(ScopeAttnNorm), h, cfg.Eps())
		h = Add(h, attention(ls.In(ScopeAttn), cfg, x, cos, sin, mask, residualStd))
		x = rmsNorm(ls.In(ScopeFFNNorm), h, cfg.Eps())
		var y *Node
		switch {
		case cfg.IsMemoryLayer(i):
			y = memlayer.Layer(ls.In(ScopeMemory), x, memCfg)
		case cfg.Model == KindMoE:
			var layerAux *Node
			y, layerAux = moe(ls.In(ScopeFFN), cfg, x, residualStd)
			aux = Add(aux, layerAux)
		default:
			y = swiGLU(ls.In(ScopeFFN), x, cfg.Hidden(), residualStd)
		}
		h = Add(h, y)
	}
	if cfg.Model == KindMoE {
		aux = DivScalar(aux, float64(cfg.Layers))
	}
	h = rmsNorm(scope.In(ScopeFinalNorm), h, cfg.Eps())
	if cfg.TiedEmbeddings {
		logits = Einsum("btd,vd->btv", h, emb)
	} else {
		head := normalVar(scope.In(ScopeOutput), VarHead, 1/math.Sqrt(float64(d)), d, cfg.Vocab).NodeValue(g)
		logits = linear(h, head)
	}
	logits.AssertDims(b, t, cfg.Vocab)
	return logits, aux
}

// linear multiplies x [..., in] by w [in, out] as one 2-D matrix product.
func linear(x, w *Node) *Node {
	dims := x.Shape().Dimensions
	in := dims[len(dims)-1]
	out := w.Shape().Dimensions[1]
	y := Dot(Reshape(x, x.Shape().Size()/in, in), w).Product()
	return Reshape(y, append(dims[:len(dims)-1:len(dims)-1], out)...)
}

// normalVar creates (or returns) a float32 variable initialised N(0, std).
func normalVar(scope *model.Scope, name string, std float64, dims ...int) *model.Variable {
	return scope.WithInitializer(initializer.RandomNormalFn(scope, std)).
		VariableWithShape(name, shapes.Make(dtypes.Float32, dims...))
}

// rmsNorm returns x / √(mean(x²) + eps) · scale over the last axis, with a
// learned gain "scale" [dim] initialised to 1.
func rmsNorm(scope *model.Scope, x *Node, eps float64) *Node {
	dim := x.Shape().Dimensions[x.Rank()-1]
	scale := scope.WithInitializer(initializer.One).
		VariableWithShape(VarScale, shapes.Make(x.DType(), dim)).NodeValue(x.Graph())
	ms := ReduceAndKeep(Square(x), ReduceMean, -1)
	y := Div(x, Sqrt(AddScalar(ms, eps))) // (Rsqrt has no gradient in GoMLX)
	return Mul(y, ExpandLeftToRank(scale, y.Rank()))
}

// ropeTables returns cos and sin of the rotary angles, [1, T, 1, headDim/2]:
// angle(t, i) = t · base^(-2i/headDim).
func ropeTables(g *Graph, t, headDim int, base float64) (cos, sin *Node) {
	half := headDim / 2
	c := make([]float32, t*half)
	s := make([]float32, t*half)
	for pos := range t {
		for i := range half {
			angle := float64(pos) * math.Pow(base, -2*float64(i)/float64(headDim))
			c[pos*half+i] = float32(math.Cos(angle))
			s[pos*half+i] = float32(math.Sin(angle))
		}
	}
	cos = Reshape(Const(g, c), 1, t, 1, half)
	sin = Reshape(Const(g, s), 1, t, 1, half)
	return cos, sin
}

// rope rotates x ([B, T, H, headDim]) by position, pairing dimension i with
// i+headDim/2 (the "rotate half" layout of LLaMA implementations):
// [x1·cos − x2·sin, x2·cos + x1·sin].
func rope(x, cos, sin *Node) *Node {
	half := x.Shape().Dimensions[3] / 2
	x1 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(0, half))
	x2 := Slice(x, AxisRange(), AxisRange(), AxisRange(), AxisRange(half))
	return Concatenate([]*Node{
		Sub(Mul(x1, cos), Mul(x2, sin)),
		Add(Mul(x2, cos), Mul(x1, sin)),
	}, -1)
}

// causalBias is [1, 1, T, T]: 0 where key <= query, attnMaskFill elsewhere.
func causalBias(g *Graph, t int) *Node {
	m := make([]float32, t*t)
	for q := range t {
		for k := q + 1; k < t; k++ {
			m[q*t+k] = attnMaskFill
		}
	}
	return Reshape(Const(g, m), 1, 1, t, t)
}

// attention is causal multi-head self-attention with rotary positions on q
// and k; x is [B, T, d].
func attention(scope *model.Scope, cfg Config, x, cos, sin, mask *Node, residualStd float64) *Node {
	g := x.Graph()
	dims := x.Shape().Dimensions
	b, t, d := dims[0], dims[1], dims[2]
	h, hd := cfg.Heads, cfg.HeadDim()
	std := 1 / math.Sqrt(float64(d))
	proj := func(name string, s float64) *Node { return normalVar(scope, name, s, d, d).NodeValue(g) }
	q := rope(Reshape(linear(x, proj(VarWQ, std)), b, t, h, hd), cos, sin)
	k := rope(Reshape(linear(x, proj(VarWK, std)), b, t, h, hd), cos, sin)
	v := Reshape(linear(x, proj(VarWV, std)), b, t, h, hd)
	scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), 1/math.Sqrt(float64(hd)))
	probs := Softmax(Add(scores, mask), -1)
	out := Reshape(Einsum("bhqk,bkhd->bqhd", probs, v), b, t, d)
	return linear(out, proj(VarWO, std*residualStd))
}

// swiGLU is W2(silu(W1 x) ⊙ W3 x).
func swiGLU(scope *model.Scope, x *Node, hidden int, residualStd float64) *Node {
	g := x.Graph()
	d := x.Shape().Dimensions[x.Rank()-1]
	w1 := normalVar(scope, VarExpertsW1, 1/math.Sqrt(float64(d)), d, hidden).NodeValue(g)
	w3 := normalVar(scope, VarExpertsW3, 1/math.Sqrt(float64(d)), d, hidden).NodeValue(g)
	w2 := normalVar(scope, VarExpertsW2, residualStd/math.Sqrt(float64(hidden)), hidden, d).NodeValue(g)
	a := Mul(activation.Swish(linear(x, w1)), linear(x, w3))
	return linear(a, w2)
}

// moe is a token-choice mixture of SwiGLU experts; x is [B, T, d].
//
// Router probabilities p = softmax(x·W_r) over E experts; each token goes to
// its top-k experts. Top-1 weighs the expert's output by p_e (Switch); top-2
// renormalises the two chosen probabilities to sum to 1 (GShard/Mixtral).
// All experts are computed densely for every token and the unchosen ones are
// weighted 0: at this scale that is simpler and not slower than dispatching.
//
// aux = BalanceCoef · E · Σ_e f_e·P_e (Switch Transformer), with f_e the
// fraction of routing assignments (token, choice) that went to e and P_e the
// mean router probability of e. It is BalanceCoef when the router is
// uniform, and within [0, BalanceCoef·E] always.
func moe(scope *model.Scope, cfg Config, x *Node, residualStd float64) (out, aux *Node) {
	g := x.Graph()
	dims := x.Shape().Dimensions
	d := dims[len(dims)-1]
	n := x.Shape().Size() / d
	e, k, hidden := cfg.MoE.Experts, cfg.MoE.TopK, cfg.Hidden()
	flat := Reshape(x, n, d)

	router := normalVar(scope, VarRouter, 1/math.Sqrt(float64(d)), d, e).NodeValue(g)
	probs := Softmax(Dot(flat, router).Product(), -1) // [N, E], float32
	idx := memlayer.TopKIndices(probs, k)             // [N, k] int32
	gates := memlayer.TakeAlongLastAxis(probs, idx)   // [N, k]
	if k > 1 {
		gates = Div(gates, ReduceAndKeep(gates, ReduceSum, -1))
	}
	onehot := OneHot(idx, e, probs.DType())                      // [N, k, E]
	combine := Einsum("nk,nke->ne", gates, onehot)               // [N, E]
	fraction := DivScalar(ReduceSum(onehot, 0, 1), float64(n*k)) // [E]
	meanProb := ReduceMean(probs, 0)                             // [E]
	aux = MulScalar(ReduceAllSum(Mul(StopGradient(fraction), meanProb)), cfg.MoE.BalanceCoef*float64(e))

	std := 1 / math.Sqrt(float64(d))
	w1 := normalVar(scope, VarExpertsW1, std, e, d, hidden).NodeValue(g)
	w3 := normalVar(scope, VarExpertsW3, std, e, d, hidden).NodeValue(g)
	w2 := normalVar(scope, VarExpertsW2, residualStd/math.Sqrt(float64(hidden)), e, hidden, d).NodeValue(g)
	a := Mul(activation.Swish(Einsum("nd,edf->nef", flat, w1)), Einsum("nd,edf->nef", flat, w3)) // [N, E, F]
	a = Mul(a, InsertAxes(combine, -1))
	out = Einsum("nef,efd->nd", a, w2)
	return Reshape(out, dims...), aux
}
