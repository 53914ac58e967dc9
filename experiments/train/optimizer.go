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
// global gradient norm (before clipping).
//
//   - lr and valueLR are float32 scalars: the scheduled learning rates of this step (the host multiplies
//     the peak rates by Config.LRFactor). Memory value tables (memlayer.IsValueVariable) use valueLR.
//   - Gradients are clipped to a global norm of cfg.GradClip when it is > 0.
//   - Moments are bias-corrected with t = the incremented "/global_step".
//   - Weight decay is decoupled, w ← w·(1 − rate·wd), applied only to variables of rank >= 2.
//
// The update is dense: every row of a value table is rewritten each step, even rows whose gradient is
// zero (Adam's momentum keeps moving rows touched earlier, as PyTorch's dense AdamW does in the reference
// code). The cost is O(table size) per step; a sparse row update is left to a later performance change.
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
	grads := Gradient(loss, params...)

	f32 := func(x float64) *Node { return Scalar(g, dtypes.Float32, x) }
	sumSquares := f32(0)
	for i, grad := range grads {
		if grad.DType() != dtypes.Float32 {
			grad = ConvertDType(grad, dtypes.Float32)
		}
		grads[i] = grad
		sumSquares = Add(sumSquares, ReduceAllSum(Square(grad)))
	}
	gradNorm = Sqrt(sumSquares)
	if cfg.GradClip > 0 {
		clip := f32(cfg.GradClip)
		scale := Div(clip, Max(gradNorm, clip)) // 1 when the norm is within the limit.
		for i := range grads {
			grads[i] = Mul(grads[i], scale)
		}
	}

	t := optimizer.IncrementGlobalStep(g, dtypes.Float32)
	beta1, beta2 := f32(cfg.Beta1), f32(cfg.Beta2)
	oneMinusBeta1, oneMinusBeta2 := f32(1-cfg.Beta1), f32(1-cfg.Beta2)
	correction1 := OneMinus(Pow(beta1, t))
	correction2 := OneMinus(Pow(beta2, t))
	eps := f32(cfg.Eps)

	for i, v := range vars {
		mVar, sVar := momentVariables(store, v)
		grad := grads[i]
		m := Add(Mul(beta1, mVar.NodeValue(g)), Mul(oneMinusBeta1, grad))
		s := Add(Mul(beta2, sVar.NodeValue(g)), Mul(oneMinusBeta2, Square(grad)))
		mVar.SetNodeValue(m)
		sVar.SetNodeValue(s)
		update := Div(Div(m, correction1), Add(Sqrt(Div(s, correction2)), eps))

		rate := lr
		if memlayer.IsValueVariable(v) {
			rate = valueLR
		}
		w := params[i]
		if w.DType() != dtypes.Float32 {
			w = ConvertDType(w, dtypes.Float32)
		}
		if cfg.WeightDecay > 0 && v.Shape().Rank() >= 2 {
			w = Mul(w, OneMinus(Mul(rate, f32(cfg.WeightDecay))))
		}
		w = Sub(w, Mul(rate, update))
		if w.DType() != v.DType() {
			w = ConvertDType(w, v.DType())
		}
		v.SetNodeValue(w)
	}
	return gradNorm
}
