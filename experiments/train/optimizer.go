package train

import (
	"sort"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/memlayers/memlayers/memlayer"
)

// OptimizerScope is the store scope under which AdamW keeps its state: the moments of variable P are
// OptimizerScope+P+"/m" and ".../v". The step counter t is GoMLX's "/global_step" (also used by the
// checkpoint file names).
const OptimizerScope = "/optimizer"

// trainableVariables returns the float variables that the graph uses and that are trainable, sorted by
// path so that the order (and so the floating-point summation order of the gradient norm) does not
// depend on the order in which variables were created or loaded.
func trainableVariables(store *model.Store, g *Graph) []*model.Variable {
	var vars []*model.Variable
	for v := range store.IterVariables() {
		if !v.Trainable || !v.DType().IsFloat() || strings.HasPrefix(v.Path(), OptimizerScope+"/") {
			continue
		}
		if v.InUseByGraph(g) {
			vars = append(vars, v)
		}
	}
	sort.Slice(vars, func(i, j int) bool { return vars[i].Path() < vars[j].Path() })
	return vars
}

// momentVariables returns (creating them zero-initialised if needed) AdamW's first and second moments of v,
// in float32 whatever v's dtype.
func momentVariables(store *model.Store, v *model.Variable) (m, s *model.Variable) {
	scope := store.Scope(OptimizerScope + v.Path()).WithInitializer(initializer.Zero)
	shape := shapes.Make(dtypes.Float32, v.Shape().Dimensions...)
	m = scope.VariableWithShape("m", shape).SetTrainable(false)
	s = scope.VariableWithShape("v", shape).SetTrainable(false)
	return m, s
}

// adamWUpdate builds one AdamW step for every trainable variable used by loss's graph and returns the
// global gradient norm (before clipping). See applyAdamW.
func adamWUpdate(store *model.Store, loss, lr, valueLR *Node, cfg Config) (gradNorm *Node) {
	g := loss.Graph()
	vars := trainableVariables(store, g)
	if len(vars) == 0 {
		exceptions.Panicf("train: the model has no trainable float variables")
	}
	params := make([]*Node, len(vars))
	for i, v := range vars {
		params[i] = v.NodeValue(g)
	}
	gradNorm, _ = applyAdamW(store, vars, params, Gradient(loss, params...), ScalarZero(g, dtypes.Float32), lr, valueLR, cfg)
	return gradNorm
}

// applyAdamW builds one step of cfg's AdamW rule (memlayer.Adam) for vars, whose current values are
// params and gradients grads, and returns the global gradient norm (before clipping) and the factor the
// gradients were scaled by.
//
//   - lr and valueLR are float32 scalars: the scheduled learning rates of this step (the host multiplies
//     the peak rates by Config.LRFactor). Memory value tables (memlayer.IsValueVariable) use valueLR.
//   - extraSumSquares (float32 scalar) is the squared norm of gradients outside the graph (the host
//     path's value rows): the norm, and the clipping, cover them too.
//   - Gradients are clipped to a global norm of cfg.GradClip when it is > 0.
//   - Moments are bias-corrected with t = the incremented "/global_step".
//   - Weight decay applies to variables of rank >= 2 only.
//   - Value tables follow cfg's value-update rule: dense (every row, every step) or sparse
//     (memlayer.Adam.SparseGraphStep: rows without gradient keep their moments, as on the host path).
func applyAdamW(store *model.Store, vars []*model.Variable, params, grads []*Node, extraSumSquares, lr, valueLR *Node,
	cfg Config) (gradNorm, clipScale *Node) {
	g := lr.Graph()
	f32 := func(x float64) *Node { return Scalar(g, dtypes.Float32, x) }
	sumSquares := f32(0)
	for i, grad := range grads {
		if grad.DType() != dtypes.Float32 {
			grad = ConvertDType(grad, dtypes.Float32)
		}
		grads[i] = grad
		sumSquares = Add(sumSquares, ReduceAllSum(Square(grad)))
	}
	gradNorm = Sqrt(Add(sumSquares, extraSumSquares))
	clipScale = f32(1)
	if cfg.GradClip > 0 {
		clip := f32(cfg.GradClip)
		clipScale = Div(clip, Max(gradNorm, clip)) // 1 when the norm is within the limit.
		for i := range grads {
			grads[i] = Mul(grads[i], clipScale)
		}
	}

	t := optimizer.IncrementGlobalStep(g, dtypes.Float32)
	rule := cfg.adam()
	sparse := cfg.valueUpdates() == UpdatesSparse
	for i, v := range vars {
		mVar, sVar := momentVariables(store, v)
		var w, m, s *Node
		switch {
		case memlayer.IsValueVariable(v) && sparse:
			w, m, s = rule.SparseGraphStep(params[i], mVar.NodeValue(g), sVar.NodeValue(g), grads[i], valueLR, t)
		case memlayer.IsValueVariable(v):
			w, m, s = rule.GraphStep(params[i], mVar.NodeValue(g), sVar.NodeValue(g), grads[i], valueLR, t, true)
		default:
			w, m, s = rule.GraphStep(params[i], mVar.NodeValue(g), sVar.NodeValue(g), grads[i], lr, t, v.Shape().Rank() >= 2)
		}
		mVar.SetNodeValue(m)
		sVar.SetNodeValue(s)
		v.SetNodeValue(w)
	}
	return gradNorm, clipScale
}
