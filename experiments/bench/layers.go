package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/memlayers/memlayers/memlayer"
)

// LayerPoint is one block (a memory layer at one size, or the SwiGLU FFN) timed forward and
// forward+backward (gradients of Σ out·dy w.r.t. the input and every variable, value table included).
type LayerPoint struct {
	// Model is "memory" or "swiglu".
	Model string `json:"model"`
	// NKeys is the memory's half-key count (0 for the FFN); the table has NKeys² rows.
	NKeys  int   `json:"n_keys,omitempty"`
	Params int64 `json:"params"`

	Forward         Timing `json:"forward"`
	ForwardBackward Timing `json:"forward_backward"`
	// Tokens per second of each.
	ForwardTokensPerSecond         float64 `json:"forward_tokens_per_second"`
	ForwardBackwardTokensPerSecond float64 `json:"forward_backward_tokens_per_second"`
	// ForwardVsFFN and ForwardBackwardVsFFN are this block's tokens/s divided by the FFN's, measured in
	// the same run (1 for the FFN itself; below 1 means slower than the FFN).
	ForwardVsFFN         float64 `json:"forward_vs_ffn"`
	ForwardBackwardVsFFN float64 `json:"forward_backward_vs_ffn"`
}

// LayerResult compares memory layers of growing size with the SwiGLU FFN of the same width.
type LayerResult struct {
	Tokens    int          `json:"tokens"`
	Dim       int          `json:"dim"`
	FFNHidden int          `json:"ffn_hidden"`
	FFN       LayerPoint   `json:"ffn"`
	Memory    []LayerPoint `json:"memory"`
}

// swiGLU is the dense block a memory layer replaces: W2(silu(W1 x) ⊙ W3 x), without biases.
func swiGLU(scope *model.Scope, x *Node, hidden int) *Node {
	g := x.Graph()
	dim := x.Shape().Dimensions[x.Rank()-1]
	w := func(name string, in, out int) *Node {
		init := initializer.RandomNormalFn(scope, 1/math.Sqrt(float64(in)))
		return scope.WithInitializer(init).VariableWithShape(name, shapeOf(in, out)).NodeValue(g)
	}
	h := Mul(activation.Swish(Dot(x, w("w1", dim, hidden)).Product()), Dot(x, w("w3", dim, hidden)).Product())
	return Dot(h, w("w2", hidden, dim)).Product()
}

// blockFn builds one block under /block on the data variable x.
type blockFn func(scope *model.Scope, x *Node) *Node

const blockScope = "/block"

// layerData stores x and dy, [Tokens, Dim] each.
func layerData(c Config) func(store *model.Store) error {
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 11))
	x := make([]float32, c.Tokens*c.Dim)
	dy := make([]float32, c.Tokens*c.Dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		dy[i] = float32(rng.NormFloat64())
	}
	return func(store *model.Store) error {
		if err := addData(store, "x", tensors.FromFlatDataAndDimensions(x, c.Tokens, c.Dim)); err != nil {
			return err
		}
		return addData(store, "dy", tensors.FromFlatDataAndDimensions(dy, c.Tokens, c.Dim))
	}
}

// blockGraph returns the graph of block forward, or forward and the gradients of Σ out·dy with respect
// to x and every variable of the block.
func blockGraph(block blockFn, backward bool) func(*model.Scope, *Graph) []*Node {
	return func(scope *model.Scope, g *Graph) []*Node {
		x := data(scope, g, "x")
		out := block(scope.Store().Scope(blockScope), x)
		if !backward {
			return []*Node{out}
		}
		loss := ReduceAllSum(Mul(out, data(scope, g, "dy")))
		wrt := []*Node{x}
		for _, v := range trainableUnder(scope.Store(), blockScope+"/") {
			wrt = append(wrt, v.NodeValue(g))
		}
		return Gradient(loss, wrt...)
	}
}

// measureBlock times block forward and forward+backward on Tokens tokens.
func measureBlock(ctx context.Context, b compute.Backend, c Config, name string, block blockFn) (LayerPoint, error) {
	p := LayerPoint{}
	for _, backward := range []bool{false, true} {
		what := name + map[bool]string{false: " forward", true: " forward+backward"}[backward]
		r, err := newRunner(b, what, c.Seed, layerData(c), blockGraph(block, backward))
		if err != nil {
			return p, err
		}
		t, err := r.time(ctx, c)
		if err == nil && !backward {
			for _, v := range trainableUnder(r.store, blockScope+"/") {
				p.Params += int64(v.Shape().Size())
			}
		}
		r.close()
		if err != nil {
			return p, err
		}
		tps := ratio(float64(c.Tokens), t.Seconds)
		if backward {
			p.ForwardBackward, p.ForwardBackwardTokensPerSecond = t, tps
		} else {
			p.Forward, p.ForwardTokensPerSecond = t, tps
		}
		c.progressf("  %-32s %9.2f ms  %9.0f tokens/s", what, 1e3*t.Seconds, tps)
	}
	return p, nil
}

// MeasureLayers times the SwiGLU FFN and then the memory layer at each of c.NKeys, forward and
// forward+backward, in one run.
func MeasureLayers(ctx context.Context, b compute.Backend, c Config) (*LayerResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	res := &LayerResult{Tokens: c.Tokens, Dim: c.Dim, FFNHidden: c.ffnHidden()}
	hidden := c.ffnHidden()
	ffn, err := measureBlock(ctx, b, c, fmt.Sprintf("swiglu (hidden %d)", hidden), func(s *model.Scope, x *Node) *Node {
		return swiGLU(s, x, hidden)
	})
	if err != nil {
		return nil, err
	}
	ffn.Model = "swiglu"
	ffn.ForwardVsFFN, ffn.ForwardBackwardVsFFN = 1, 1
	res.FFN = ffn
	for _, nKeys := range c.NKeys {
		cfg := c.layerConfig(nKeys)
		p, err := measureBlock(ctx, b, c, fmt.Sprintf("memory n_keys=%d", nKeys), func(s *model.Scope, x *Node) *Node {
			return memlayer.Layer(s, x, cfg)
		})
		if err != nil {
			return nil, err
		}
		p.Model, p.NKeys = "memory", nKeys
		p.ForwardVsFFN = ratio(p.ForwardTokensPerSecond, ffn.ForwardTokensPerSecond)
		p.ForwardBackwardVsFFN = ratio(p.ForwardBackwardTokensPerSecond, ffn.ForwardBackwardTokensPerSecond)
		res.Memory = append(res.Memory, p)
	}
	return res, nil
}
