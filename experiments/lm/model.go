package lm

import (
	"fmt"
	"math"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/support/exceptions"
	"github.com/memlayers/memlayers/memlayer"
	"github.com/memlayers/memlayers/memlayer/expfree"
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
	if tokens.Rank() != 2 || !tokens.DType().IsInt() {
		exceptions.Panicf("lm.Forward: tokens must be [batch, seq] integers, got %s", tokens.Shape())
	}
	if t := tokens.Shape().Dimensions[1]; t > cfg.SeqLen {
		exceptions.Panicf("lm.Forward: sequence length %d exceeds seq_len=%d", t, cfg.SeqLen)
	}
	d := newDecoder(scope, cfg, tokens.Graph(), tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1])
	d.embed(tokens)
	for i := range cfg.Layers {
		d.attention(i)
		d.feedForward(i)
	}
	return d.head(), d.meanAux()
}

// decoder builds the residual stream h of a [B, T] batch in one graph, block
// by block: Forward builds every block, each piece of a SplitModel a run of them.
type decoder struct {
	scope       *model.Scope
	cfg         Config
	g           *Graph
	b, t        int
	residualStd float64
	cos, sin    *Node // rotary tables [1, T, 1, headDim/2]
	mask        *Node // causal bias [1, 1, T, T]
	memCfg      memlayer.Config
	emb         *Node                // the embedding table, once used
	layers      map[int]*model.Scope // each layer's scope, once entered
	h           *Node                // the residual stream [B, T, Dim]
	aux         *Node                // sum of the MoE layers' balance losses
}

// newDecoder prepares the constants of a [b, t] batch in g, for a model whose
// variables live under scope.
func newDecoder(scope *model.Scope, cfg Config, g *Graph, b, t int) *decoder {
	memCfg := cfg.LayerMemoryConfig()
	if cfg.Model == KindMemoryPlus && memCfg.ValuesScope == "" {
		memCfg.ValuesScope = model.JoinPath(scope.Scope(), DefaultValuesScope)
	}
	cos, sin := ropeTables(g, t, cfg.HeadDim(), cfg.Rope())
	return &decoder{scope: scope, cfg: cfg, g: g, b: b, t: t,
		residualStd: 1 / math.Sqrt(2*float64(cfg.Layers)),
		cos:         cos, sin: sin, mask: causalBias(g, t), memCfg: memCfg,
		layers: map[int]*model.Scope{}, aux: ScalarZero(g, dtypes.Float32)}
}

// embedding is the token embedding table [Vocab, Dim], also the output head
// when embeddings are tied.
func (d *decoder) embedding() *Node {
	if d.emb == nil {
		d.emb = normalVar(d.scope.In(ScopeEmbedding), VarEmbedding, 1/math.Sqrt(float64(d.cfg.Dim)), d.cfg.Vocab, d.cfg.Dim).NodeValue(d.g)
	}
	return d.emb
}

// layer is layer i's scope ("layer_03").
func (d *decoder) layer(i int) *model.Scope {
	if d.layers[i] == nil {
		d.layers[i] = d.scope.In(layerFmt, i)
	}
	return d.layers[i]
}

// embed starts the residual stream from tokens [B, T].
func (d *decoder) embed(tokens *Node) {
	d.h = Gather(d.embedding(), InsertAxes(ConvertDType(tokens, dtypes.Int32), -1)) // [B, T, Dim]
}

// attention adds layer i's attention block: h += Attn(RMSNorm(h)).
func (d *decoder) attention(i int) {
	ls := d.layer(i)
	x := rmsNorm(ls.In(ScopeAttnNorm), d.h, d.cfg.Eps())
	d.h = Add(d.h, attention(ls.In(ScopeAttn), d.cfg, x, d.cos, d.sin, d.mask, d.residualStd))
}

// ffnInput is RMSNorm(h) with layer i's feed-forward norm, the input of its
// feed-forward (or memory) block.
func (d *decoder) ffnInput(i int) *Node {
	return rmsNorm(d.layer(i).In(ScopeFFNNorm), d.h, d.cfg.Eps())
}

// memoryScope is the scope of layer i's memory block.
func (d *decoder) memoryScope(i int) *model.Scope { return d.layer(i).In(ScopeMemory) }

// feedForward adds layer i's feed-forward block: h += FFN(RMSNorm(h)), where
// FFN is a SwiGLU, an MoE or, on placed layers, a memory layer.
func (d *decoder) feedForward(i int) {
	x := d.ffnInput(i)
	ls := d.layer(i)
	var y *Node
	switch {
	case d.cfg.IsMemoryLayer(i):
		y = memlayer.Layer(d.memoryScope(i), x, d.memCfg)
	case d.cfg.Model == KindMoE:
		var layerAux *Node
		y, layerAux = moe(ls.In(ScopeFFN), d.cfg, x, d.residualStd)
		d.aux = Add(d.aux, layerAux)
	default:
		y = swiGLU(ls.In(ScopeFFN), x, d.cfg.Hidden(), d.residualStd, d.cfg.LoRA)
	}
	d.h = Add(d.h, y)
}

// head applies the final norm and the output head: logits [B, T, Vocab].
func (d *decoder) head() *Node {
	h := rmsNorm(d.scope.In(ScopeFinalNorm), d.h, d.cfg.Eps())
	var logits *Node
	if d.cfg.TiedEmbeddings {
		logits = Einsum("btd,vd->btv", h, d.embedding())
	} else {
		head := normalVar(d.scope.In(ScopeOutput), VarHead, 1/math.Sqrt(float64(d.cfg.Dim)), d.cfg.Dim, d.cfg.Vocab).NodeValue(d.g)
		logits = linear(h, head)
	}
	logits.AssertDims(d.b, d.t, d.cfg.Vocab)
	return logits
}

// meanAux is the mean over MoE layers of their balance losses (zero for
// other kinds).
func (d *decoder) meanAux() *Node {
	if d.cfg.Model == KindMoE {
		return DivScalar(d.aux, float64(d.cfg.Layers))
	}
	return d.aux
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
	proj := func(name string, s float64) *Node { return adaptedWeight(scope, g, cfg.LoRA, name, s, d, d) }
	q := rope(Reshape(linear(x, proj(VarWQ, std)), b, t, h, hd), cos, sin)
	k := rope(Reshape(linear(x, proj(VarWK, std)), b, t, h, hd), cos, sin)
	v := Reshape(linear(x, proj(VarWV, std)), b, t, h, hd)
	scores := MulScalar(Einsum("bqhd,bkhd->bhqk", q, k), 1/math.Sqrt(float64(hd)))
	probs := expfree.Softmax(Add(scores, mask), -1)
	out := Reshape(Einsum("bhqk,bkhd->bqhd", probs, v), b, t, d)
	return linear(out, proj(VarWO, std*residualStd))
}

// SwiGLU is LLaMA's feed-forward block, W2(silu(W1 x) ⊙ W3 x) without biases, on x [..., d] with a
// hidden width hidden: the block a memory layer replaces. W1 and W3 are initialised N(0, 1/√d), W2
// N(0, residualStd/√hidden). (Not to be confused with Memory+'s "swilu" gate, memlayer.Config.SwiLU,
// which multiplies a memory's bag by silu(W1 x).)
func SwiGLU(scope *model.Scope, x *Node, hidden int, residualStd float64) *Node {
	return swiGLU(scope, x, hidden, residualStd, LoRAConfig{})
}

// swiGLU is SwiGLU with low-rank adapters on its weights (none when lora.Rank is 0).
func swiGLU(scope *model.Scope, x *Node, hidden int, residualStd float64, lora LoRAConfig) *Node {
	g := x.Graph()
	d := x.Shape().Dimensions[x.Rank()-1]
	w1 := adaptedWeight(scope, g, lora, VarExpertsW1, 1/math.Sqrt(float64(d)), d, hidden)
	w3 := adaptedWeight(scope, g, lora, VarExpertsW3, 1/math.Sqrt(float64(d)), d, hidden)
	w2 := adaptedWeight(scope, g, lora, VarExpertsW2, residualStd/math.Sqrt(float64(hidden)), hidden, d)
	a := Mul(expfree.Swish(linear(x, w1)), linear(x, w3))
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
	probs := expfree.Softmax(Dot(flat, router).Product(), -1) // [N, E], float32
	idx := memlayer.TopKIndices(probs, k)                     // [N, k] int32
	gates := memlayer.TakeAlongLastAxis(probs, idx)           // [N, k]
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
	a := Mul(expfree.Swish(Einsum("nd,edf->nef", flat, w1)), Einsum("nd,edf->nef", flat, w3)) // [N, E, F]
	a = Mul(a, InsertAxes(combine, -1))
	out = Einsum("nef,efd->nd", a, w2)
	return Reshape(out, dims...), aux
}
