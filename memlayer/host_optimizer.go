package memlayer

import (
	"fmt"
	"math"
)

// ValueOptimizer updates a host value table from a sparse gradient, touching
// only the gradient's rows: a step costs O(touched rows · Dim), not O(table).
// Its learning rate is the value learning rate (Config.ValueLR; the paper
// keeps it at 1e-3 while the rest of the model follows its schedule).
type ValueOptimizer interface {
	Update(values *HostValues, grad *SparseRows) error
}

// SparseSGD is plain gradient descent on the touched rows: V[r] -= LR·g[r].
// Rows a batch did not read have zero gradient, so this equals dense SGD.
type SparseSGD struct{ LR float64 }

// Update implements ValueOptimizer.
func (o *SparseSGD) Update(values *HostValues, grad *SparseRows) error {
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

// SparseAdam is Adam whose moments advance only on the rows a step touched
// ("lazy" Adam, like PyTorch's SparseAdam): untouched rows keep their value
// and their moments. Bias correction uses the global step count. On a first
// step it equals dense Adam exactly; afterwards dense Adam would also move
// untouched rows with their old momentum, which costs O(table) per step.
type SparseAdam struct {
	LR, Beta1, Beta2, Epsilon float64

	step int
	m, v []float32 // first and second moments, allocated at the first update
}

// NewSparseAdam returns SparseAdam with β1 0.9, β2 0.999, ε 1e-8.
func NewSparseAdam(lr float64) *SparseAdam {
	return &SparseAdam{LR: lr, Beta1: 0.9, Beta2: 0.999, Epsilon: 1e-8}
}

// Update implements ValueOptimizer.
func (o *SparseAdam) Update(values *HostValues, grad *SparseRows) error {
	if err := checkGrad(values, grad); err != nil {
		return err
	}
	if o.m == nil {
		// Written once here, in parallel, so that later steps do not each pay
		// the OS for mapping the pages of the rows they touch first.
		o.m = make([]float32, len(values.Data))
		o.v = make([]float32, len(values.Data))
		adviseHugePages(o.m)
		adviseHugePages(o.v)
		parallelFor(values.Rows, func(lo, hi int) {
			clear(o.m[lo*values.Dim : hi*values.Dim])
			clear(o.v[lo*values.Dim : hi*values.Dim])
		})
	} else if len(o.m) != len(values.Data) {
		return fmt.Errorf("memlayer: SparseAdam was used with a %d-value table, now %d: use one optimizer per table", len(o.m), len(values.Data))
	}
	o.step++
	b1, b2 := float32(o.Beta1), float32(o.Beta2)
	c1 := float32(1 - math.Pow(o.Beta1, float64(o.step)))
	c2 := float32(1 - math.Pow(o.Beta2, float64(o.step)))
	lr, eps := float32(o.LR), float32(o.Epsilon)
	d := values.Dim
	parallelFor(len(grad.Rows), func(lo, hi int) {
		adamRows(values.Data, o.m, o.v, d, grad.Rows[lo:hi], grad.Grad[lo*d:hi*d], b1, b2, c1, c2, lr, eps)
	})
	return nil
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

// adamRowScalar applies one Adam step to a row: m ← β1·m + (1-β1)·g,
// v ← β2·v + (1-β2)·g², w ← w − lr·(m/c1)/(√(v/c2) + ε).
func adamRowScalar(w, m, v, g []float32, b1, b2, c1, c2, lr, eps float32) {
	for i, gi := range g {
		m[i] = b1*m[i] + (1-b1)*gi
		v[i] = b2*v[i] + (1-b2)*gi*gi
		w[i] -= lr * (m[i] / c1) / (float32(math.Sqrt(float64(v[i]/c2))) + eps)
	}
}
