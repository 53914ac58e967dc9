package memlayer

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
)

// Adam is AdamW (Adam with decoupled weight decay): the project's one
// optimizer rule. GraphStep applies it to variables inside a graph; HostAdam
// applies it to the rows of a host value table. At step t (1, 2, …) with
// learning rate lr and gradient g:
//
//	m ← β1·m + (1−β1)·g
//	v ← β2·v + (1−β2)·g²
//	w ← w·(1 − lr·wd) − lr · (m / (1−β1ᵗ)) / (√(v / (1−β2ᵗ)) + ε)
//
// Weight decay applies to matrices only (the caller says which; value tables
// are matrices). The "sparse" form of the rule, used for value tables on the
// host path and optionally on the graph path (SparseGraphStep), moves the
// moments and takes the Adam step only on rows whose gradient is not zero,
// while weight decay still shrinks every row on every step. Bias correction
// uses the global step t in both forms, so a row's first update equals dense
// Adam's.
type Adam struct {
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Epsilon     float64 `json:"eps"`
	WeightDecay float64 `json:"weight_decay"`
}

// DefaultAdam is β1 0.9, β2 0.999, ε 1e-8 and no weight decay.
func DefaultAdam() Adam { return Adam{Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8} }

// Validate reports every hyperparameter outside its range on one line.
func (a Adam) Validate() error {
	var errs []string
	if !(a.Beta1 >= 0 && a.Beta1 < 1) {
		errs = append(errs, fmt.Sprintf("memlayer: adam beta1=%v: must be in [0, 1)", a.Beta1))
	}
	if !(a.Beta2 >= 0 && a.Beta2 < 1) {
		errs = append(errs, fmt.Sprintf("memlayer: adam beta2=%v: must be in [0, 1)", a.Beta2))
	}
	if !(a.Epsilon > 0) || math.IsInf(a.Epsilon, 0) {
		errs = append(errs, fmt.Sprintf("memlayer: adam eps=%v: must be a finite number > 0", a.Epsilon))
	}
	if !(a.WeightDecay >= 0) || math.IsInf(a.WeightDecay, 0) {
		errs = append(errs, fmt.Sprintf("memlayer: adam weight_decay=%v: must be a finite number >= 0", a.WeightDecay))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// corrections returns the bias corrections 1−β1ᵗ and 1−β2ᵗ.
func (a Adam) corrections(t int) (c1, c2 float64) {
	return 1 - math.Pow(a.Beta1, float64(t)), 1 - math.Pow(a.Beta2, float64(t))
}

// GraphStep returns w, m and v after one dense step of the rule. w, m, v and
// g have one shape (w in any float dtype; m, v and g float32); lr and t are
// float32 scalars; decay selects weight decay.
func (a Adam) GraphStep(w, m, v, g, lr, t *Node, decay bool) (newW, newM, newV *Node) {
	newM, newV, step := a.moments(m, v, g, t)
	return a.apply(w, step, lr, decay), newM, newV
}

// SparseGraphStep is GraphStep in the sparse form, for a value table
// ([rows, dim]): rows whose gradient is all zeros keep their moments and take
// no Adam step, but still decay. It computes what HostAdam computes, at the
// cost of the whole table.
func (a Adam) SparseGraphStep(w, m, v, g, lr, t *Node) (newW, newM, newV *Node) {
	m2, v2, step := a.moments(m, v, g, t)
	touched := GreaterThan(ReduceAndKeep(Abs(g), ReduceMax, -1), ScalarZero(g.Graph(), g.DType()))
	touched = BroadcastToShape(touched, g.Shape())
	newM = Where(touched, m2, m)
	newV = Where(touched, v2, v)
	step = Where(touched, step, ZerosLike(step))
	return a.apply(w, step, lr, true), newM, newV
}

// moments advances m and v by g and returns them with the bias-corrected
// Adam step (before the learning rate).
func (a Adam) moments(m, v, g, t *Node) (newM, newV, step *Node) {
	f32 := func(x float64) *Node { return Scalar(g.Graph(), dtypes.Float32, x) }
	newM = Add(Mul(f32(a.Beta1), m), Mul(f32(1-a.Beta1), g))
	newV = Add(Mul(f32(a.Beta2), v), Mul(f32(1-a.Beta2), Square(g)))
	c1 := OneMinus(Pow(f32(a.Beta1), t))
	c2 := OneMinus(Pow(f32(a.Beta2), t))
	step = Div(Div(newM, c1), Add(Sqrt(Div(newV, c2)), f32(a.Epsilon)))
	return newM, newV, step
}

// apply returns w·(1 − lr·wd) − lr·step (without the decay factor when decay
// is false or the rule has none), in w's dtype.
func (a Adam) apply(w, step, lr *Node, decay bool) *Node {
	dtype := w.DType()
	if dtype != dtypes.Float32 {
		w = ConvertDType(w, dtypes.Float32)
	}
	if decay && a.WeightDecay > 0 {
		w = Mul(w, OneMinus(Mul(lr, Scalar(w.Graph(), dtypes.Float32, a.WeightDecay))))
	}
	w = Sub(w, Mul(lr, step))
	if dtype != dtypes.Float32 {
		w = ConvertDType(w, dtype)
	}
	return w
}
