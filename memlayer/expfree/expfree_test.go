package expfree

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	"github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"

	"github.com/memlayers/memlayers/internal/testbackend"
)

// randomLogits is a [4, 6, 9] tensor of N(0, scale²) values.
func randomLogits(seed uint64, scale float64) *tensors.Tensor {
	rng := rand.New(rand.NewPCG(seed, 7))
	x := make([]float32, 4*6*9)
	for i := range x {
		x[i] = float32(scale * rng.NormFloat64())
	}
	return tensors.FromFlatDataAndDimensions(x, 4, 6, 9)
}

// valueAndGradient returns f(x) and the gradient of Σ f(x)⊙w with respect
// to x, for a fixed random weighting w: the vector-Jacobian product.
func valueAndGradient(t *testing.T, f func(x *graph.Node) *graph.Node, x *tensors.Tensor) (value, grad []float32) {
	t.Helper()
	exec := graph.MustNewExec(testbackend.Get(t), func(x *graph.Node) []*graph.Node {
		y := f(x)
		w := graph.Sin(graph.MulScalar(graph.Iota(x.Graph(), y.Shape(), y.Rank()-1), 1.7)) // fixed, varied weights
		return []*graph.Node{y, graph.Gradient(graph.ReduceAllSum(graph.Mul(y, w)), x)[0]}
	})
	out, err := exec.Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	return tensors.MustCopyFlatData[float32](out[0]), tensors.MustCopyFlatData[float32](out[1])
}

func assertClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); !(d <= tol*(1+math.Abs(float64(want[i])))) {
			t.Fatalf("%s[%d] = %g, GoMLX gives %g", what, i, got[i], want[i])
		}
	}
}

// Each function gives GoMLX's values and gradients, for small and large inputs.
func TestMatchesGoMLX(t *testing.T) {
	targets := func(x *graph.Node) *graph.Node { // fixed targets in [0, 9)
		return graph.ModScalar(graph.Iota(x.Graph(), shapes.Make(dtypes.Int32, 4, 6), 1), 9)
	}
	cases := []struct {
		name      string
		ours, ref func(x *graph.Node) *graph.Node
	}{
		{"Softmax", func(x *graph.Node) *graph.Node { return Softmax(x, -1) }, func(x *graph.Node) *graph.Node { return graph.Softmax(x, -1) }},
		{"Softmax(axis 1)", func(x *graph.Node) *graph.Node { return Softmax(x, 1) }, func(x *graph.Node) *graph.Node { return graph.Softmax(x, 1) }},
		{"Sigmoid", Sigmoid, graph.Sigmoid},
		{"Swish", Swish, activation.Swish},
		{"TokenNLL", func(x *graph.Node) *graph.Node { return TokenNLL(x, targets(x)) },
			func(x *graph.Node) *graph.Node { return logSoftmaxNLL(x, targets(x)) }},
	}
	for _, c := range cases {
		for _, scale := range []float64{1, 30} {
			x := randomLogits(uint64(scale), scale)
			gotV, gotG := valueAndGradient(t, c.ours, x)
			wantV, wantG := valueAndGradient(t, c.ref, x)
			assertClose(t, c.name+" value", gotV, wantV, 1e-5)
			assertClose(t, c.name+" gradient", gotG, wantG, 1e-5)
		}
	}
}
