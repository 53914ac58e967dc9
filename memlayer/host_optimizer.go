package memlayer

import (
	"fmt"
	"math"
)

// ValueOptimizer updates a host value table from a sparse gradient, touching
// only the gradient's rows: a step costs O(touched rows · Dim), not O(table).
// Layers that share a table (Memory+) merge their gradients (MergeSparseRows)
// and update it once per step.
type ValueOptimizer interface {
	// Update applies optimizer step t (1, 2, …; one call per step) to the
	// rows of grad.
	Update(values *HostValues, grad *SparseRows, t int) error
}

// SparseSGD is plain gradient descent on the touched rows: V[r] -= LR·g[r].
// Rows a batch did not read have zero gradient, so this equals dense SGD.
type SparseSGD struct{ LR float64 }

// Update implements ValueOptimizer.
func (o *SparseSGD) Update(values *HostValues, grad *SparseRows, t int) error {
	if err := checkGrad(values, grad); err != nil {
		return err
	}
	lr := float32(o.LR)
	d := values.Dim
	parallelFor(len(grad.Rows), func(lo, hi int) {
		for u := lo; u < hi; u++ {
			axpy(-lr, grad.Grad[u*d:(u+1)*d], values.Row(grad.Rows[u]))
		}
	})
	return nil
}

// HostAdam applies the Adam rule (see Adam) to a host value table in its
// sparse form: at each step only the rows whose gradient is not zero advance
// their moments and take an Adam step ("lazy" Adam, like PyTorch's
// SparseAdam), with bias correction from the global step t, so a row's first
// update equals dense Adam's. Weight decay stays exact and cheap: every row
// decays on every step, but a row's decay is applied only when the row is
// next updated, or by Sync, from a running sum of log(1 − lr·wd).
//
// Its state (moments, decay bookkeeping, last step) is exported so that a
// checkpoint can save and restore it exactly.
type HostAdam struct {
	Adam
	// LR is the learning rate of the next Update (a schedule changes it).
	LR float64

	// M and V are the moments, allocated at the first update.
	M, V []float32
	// DecayLog is Σ log(1 − lr_s·wd) over the steps so far; RowDecayLog[r]
	// is its value when row r's decay was last applied (nil without decay).
	DecayLog    float64
	RowDecayLog []float64
	// Step is the last step applied (0 before the first).
	Step int
}

// NewHostAdam returns HostAdam with the given rule and learning rate.
func NewHostAdam(rule Adam, lr float64) *HostAdam { return &HostAdam{Adam: rule, LR: lr} }

// Update implements ValueOptimizer.
func (o *HostAdam) Update(values *HostValues, grad *SparseRows, t int) error {
	if err := checkGrad(values, grad); err != nil {
		return err
	}
	if t <= o.Step {
		return fmt.Errorf("memlayer: HostAdam step %d after step %d: one update per step (layers sharing a table merge their gradients with MergeSparseRows first)", t, o.Step)
	}
	if err := o.allocate(values); err != nil {
		return err
	}
	c1, c2 := o.corrections(t)
	k := adamConsts{b1: float32(o.Beta1), b2: float32(o.Beta2), c1: float32(c1), c2: float32(c2),
		lr: float32(o.LR), eps: float32(o.Epsilon)}
	if o.RowDecayLog != nil {
		o.DecayLog += math.Log1p(-o.LR * o.WeightDecay)
	}
	d := values.Dim
	parallelFor(len(grad.Rows), func(lo, hi int) {
		// Scalar bookkeeping first, then the vector kernel (see adamRows).
		rows, gradRows := make([]int32, 0, hi-lo), make([]int32, 0, hi-lo)
		var decay []float32
		for u := lo; u < hi; u++ {
			if isZeroRow(grad.Grad[u*d : (u+1)*d]) {
				continue
			}
			r := grad.Rows[u]
			rows, gradRows = append(rows, r), append(gradRows, int32(u))
			if o.RowDecayLog != nil {
				// The decay of the steps this row missed, and of this one.
				decay = append(decay, float32(math.Exp(o.DecayLog-o.RowDecayLog[r])))
				o.RowDecayLog[r] = o.DecayLog
			}
		}
		adamRows(values.Data, o.M, o.V, d, rows, gradRows, grad.Grad, decay, k)
	})
	o.Step = t
	return nil
}

// Sync applies every row's pending weight decay, so that values holds the
// table of the last step (call it before reading the whole table).
func (o *HostAdam) Sync(values *HostValues) {
	if o.RowDecayLog == nil {
		return
	}
	d := values.Dim
	parallelFor(values.Rows, func(lo, hi int) {
		for r := lo; r < hi; r++ {
			if o.RowDecayLog[r] == o.DecayLog {
				continue
			}
			f := float32(math.Exp(o.DecayLog - o.RowDecayLog[r]))
			row := values.Data[r*d : (r+1)*d]
			for i := range row {
				row[i] *= f
			}
			o.RowDecayLog[r] = o.DecayLog
		}
	})
}

// allocate creates the moments (and the decay bookkeeping when the rule
// decays) for values, or checks that they fit it.
func (o *HostAdam) allocate(values *HostValues) error {
	if err := o.Adam.Validate(); err != nil {
		return err
	}
	if o.M != nil {
		if len(o.M) != len(values.Data) || len(o.V) != len(values.Data) {
			return fmt.Errorf("memlayer: HostAdam holds moments of %d values, the table has %d: use one optimizer per table", len(o.M), len(values.Data))
		}
		if o.WeightDecay > 0 && len(o.RowDecayLog) != values.Rows {
			return fmt.Errorf("memlayer: HostAdam holds decay state of %d rows, the table has %d", len(o.RowDecayLog), values.Rows)
		}
		return nil
	}
	// Written once here, in parallel, so that later steps do not each pay the
	// OS for mapping the pages of the rows they touch first.
	o.M = make([]float32, len(values.Data))
	o.V = make([]float32, len(values.Data))
	adviseHugePages(o.M)
	adviseHugePages(o.V)
	parallelFor(values.Rows, func(lo, hi int) {
		clear(o.M[lo*values.Dim : hi*values.Dim])
		clear(o.V[lo*values.Dim : hi*values.Dim])
	})
	if o.WeightDecay > 0 {
		o.RowDecayLog = make([]float64, values.Rows)
		for r := range o.RowDecayLog {
			o.RowDecayLog[r] = o.DecayLog
		}
	}
	return nil
}

// isZeroRow reports whether every element of g is ±0, comparing bits (no
// floating-point instruction, see adamRows).
func isZeroRow(g []float32) bool {
	for _, x := range g {
		if math.Float32bits(x)<<1 != 0 {
			return false
		}
	}
	return true
}

func checkGrad(values *HostValues, grad *SparseRows) error {
	if grad.Dim != values.Dim || len(grad.Grad) != len(grad.Rows)*grad.Dim {
		return fmt.Errorf("memlayer: sparse gradient of %d rows × %d does not fit a table of dim %d", len(grad.Rows), grad.Dim, values.Dim)
	}
	for _, r := range grad.Rows {
		if r < 0 || int(r) >= values.Rows {
			return fmt.Errorf("memlayer: sparse gradient row %d outside the table's %d rows", r, values.Rows)
		}
	}
	return nil
}

// adamConsts are one step's constants of the Adam rule in float32: β1, β2,
// the bias corrections 1−β1ᵗ and 1−β2ᵗ, the learning rate and ε.
type adamConsts struct{ b1, b2, c1, c2, lr, eps float32 }

// adamRowScalar applies one step to a row: m ← β1·m + (1-β1)·g,
// v ← β2·v + (1-β2)·g², w ← w·decay − lr·(m/c1)/(√(v/c2) + ε).
func adamRowScalar(w, m, v, g []float32, decay float32, k adamConsts) {
	for i, gi := range g {
		m[i] = k.b1*m[i] + (1-k.b1)*gi
		v[i] = k.b2*v[i] + (1-k.b2)*gi*gi
		w[i] = w[i]*decay - k.lr*(m[i]/k.c1)/(float32(math.Sqrt(float64(v[i]/k.c2)))+k.eps)
	}
}

// decayOf is decay[i], or 1 when decay is nil.
func decayOf(decay []float32, i int) float32 {
	if decay == nil {
		return 1
	}
	return decay[i]
}
