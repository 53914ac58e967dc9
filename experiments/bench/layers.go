package bench

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/memlayer"
)

// LayerPoint is one block (a memory layer at one size, or the SwiGLU FFN) timed forward and
// forward+backward (gradients of Σ out·dy w.r.t. the input and every variable, value table included).
type LayerPoint struct {
	// Model is "memory" (memlayer.Layer), "memory-host" (memlayer.HostLayer) or "swiglu".
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

// LayerResult compares memory layers of growing size with the SwiGLU FFN of the same width, on each path
// of Config.Paths: Memory is the graph path, Host the host path (absent when not run).
type LayerResult struct {
	Tokens    int          `json:"tokens"`
	Dim       int          `json:"dim"`
	FFNHidden int          `json:"ffn_hidden"`
	FFN       LayerPoint   `json:"ffn"`
	Memory    []LayerPoint `json:"memory,omitempty"`
	Host      []LayerPoint `json:"host,omitempty"`
}

// blockFn builds one block under /block on the data variable x.
type blockFn func(scope *model.Scope, x *Node) *Node

const blockScope = "/block"

// layerInputs draws x and dy, [Tokens, Dim] each: the same for every block and both paths.
func layerInputs(c Config) (x, dy []float32) {
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 11))
	x = make([]float32, c.Tokens*c.Dim)
	dy = make([]float32, c.Tokens*c.Dim)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
		dy[i] = float32(rng.NormFloat64())
	}
	return x, dy
}

// layerData stores layerInputs' x and dy as data variables.
func layerData(c Config) func(store *model.Store) error {
	x, dy := layerInputs(c)
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

// record stores t as p's forward or forward+backward time with its tokens/s, and prints the progress line.
func (p *LayerPoint) record(c Config, what string, backward bool, t Timing) {
	tps := ratio(float64(c.Tokens), t.Seconds)
	if backward {
		p.ForwardBackward, p.ForwardBackwardTokensPerSecond = t, tps
	} else {
		p.Forward, p.ForwardTokensPerSecond = t, tps
	}
	c.progressf("  %-32s %9.2f ms  %9.0f tokens/s", what, 1e3*t.Seconds, tps)
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
		p.record(c, what, backward, t)
	}
	return p, nil
}

// newHostLayer builds the host path's layer at nKeys under blockScope of a fresh store seeded with c.Seed,
// its table from NewHostValues; Finalize the store when done.
func newHostLayer(b compute.Backend, c Config, nKeys int) (*memlayer.HostLayer, *model.Store, error) {
	cfg := c.layerConfig(nKeys)
	values, err := memlayer.NewHostValues(cfg.Rows(), cfg.ValueDim(c.Dim), uint64(c.Seed))
	if err != nil {
		return nil, nil, fmt.Errorf("bench: %w", err)
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, c.Seed)
	l, err := memlayer.NewHostLayer(b, store, blockScope, cfg, c.Dim, values)
	if err != nil {
		store.Finalize()
		return nil, nil, fmt.Errorf("bench: host n_keys=%d: %s", nKeys, firstLine(err.Error()))
	}
	return l, store, nil
}

// hostTensors returns layerInputs' x and dy·scale as host tensors.
func hostTensors(c Config, scale float32) (x, dy *tensors.Tensor) {
	xs, dys := layerInputs(c)
	for i := range dys {
		dys[i] *= scale
	}
	return tensors.FromFlatDataAndDimensions(xs, c.Tokens, c.Dim), tensors.FromFlatDataAndDimensions(dys, c.Tokens, c.Dim)
}

// finalizeGrads frees a backward's gradients, which the benchmark does not keep.
func finalizeGrads(g *memlayer.HostGrads) {
	g.X.FinalizeAll()
	for _, t := range g.Vars {
		t.FinalizeAll()
	}
}

// measureHostLayer times the host path's layer at nKeys forward and forward+backward (Σ out·dy, the same x
// and dy as the graph path). Params counts its graph variables and its host table.
func measureHostLayer(ctx context.Context, b compute.Backend, c Config, nKeys int) (p LayerPoint, err error) {
	what := fmt.Sprintf("host n_keys=%d", nKeys)
	defer catchPanic(what, &err)
	l, store, err := newHostLayer(b, c, nKeys)
	if err != nil {
		return p, err
	}
	defer store.Finalize()
	x, dy := hostTensors(c, 1)
	for _, backward := range []bool{false, true} {
		t, err := measure(ctx, c.Warmup, c.Repeats, func() error {
			out, err := l.Forward(x)
			if err != nil {
				return fmt.Errorf("bench: %s forward: %s", what, firstLine(err.Error()))
			}
			if backward {
				g, err := l.Backward(dy)
				if err != nil {
					return fmt.Errorf("bench: %s backward: %s", what, firstLine(err.Error()))
				}
				finalizeGrads(g)
			}
			out.FinalizeAll()
			return nil
		})
		if err != nil {
			return p, err
		}
		if !backward {
			// The graph variables exist once a Forward ran.
			for _, v := range trainableUnder(store, blockScope+"/") {
				p.Params += int64(v.Shape().Size())
			}
			p.Params += int64(l.Values.Rows) * int64(l.Values.Dim)
		}
		p.record(c, what+map[bool]string{false: " forward", true: " forward+backward"}[backward], backward, t)
	}
	p.Model, p.NKeys = "memory-host", nKeys
	return p, nil
}

// MeasureLayers times the SwiGLU FFN and then the memory layer at each of c.NKeys on each path of c.Paths,
// forward and forward+backward, in one run.
func MeasureLayers(ctx context.Context, b compute.Backend, c Config) (*LayerResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	res := &LayerResult{Tokens: c.Tokens, Dim: c.Dim, FFNHidden: c.ffnHidden()}
	hidden := c.ffnHidden()
	ffn, err := measureBlock(ctx, b, c, fmt.Sprintf("swiglu (hidden %d)", hidden), func(s *model.Scope, x *Node) *Node {
		return lm.SwiGLU(s, x, hidden, 1)
	})
	if err != nil {
		return nil, err
	}
	ffn.Model = "swiglu"
	ffn.ForwardVsFFN, ffn.ForwardBackwardVsFFN = 1, 1
	res.FFN = ffn
	vsFFN := func(p *LayerPoint) {
		p.ForwardVsFFN = ratio(p.ForwardTokensPerSecond, ffn.ForwardTokensPerSecond)
		p.ForwardBackwardVsFFN = ratio(p.ForwardBackwardTokensPerSecond, ffn.ForwardBackwardTokensPerSecond)
	}
	// Both paths at one size before the next size: they share the machine's state as closely as possible.
	for _, nKeys := range c.NKeys {
		var graph *LayerPoint
		if c.runs(PathGraph) {
			cfg := c.layerConfig(nKeys)
			p, err := measureBlock(ctx, b, c, fmt.Sprintf("memory n_keys=%d", nKeys), func(s *model.Scope, x *Node) *Node {
				return memlayer.Layer(s, x, cfg)
			})
			if err != nil {
				return nil, err
			}
			p.Model, p.NKeys = "memory", nKeys
			vsFFN(&p)
			res.Memory = append(res.Memory, p)
			graph = &res.Memory[len(res.Memory)-1]
		}
		if c.runs(PathHost) {
			p, err := measureHostLayer(ctx, b, c, nKeys)
			if err != nil {
				return nil, err
			}
			// Both paths are one layer with two homes for its values: a different count is a bug here.
			if graph != nil && p.Params != graph.Params {
				return nil, fmt.Errorf("bench: host n_keys=%d has %d parameters, the graph layer %d", nKeys, p.Params, graph.Params)
			}
			vsFFN(&p)
			res.Host = append(res.Host, p)
		}
	}
	return res, nil
}
