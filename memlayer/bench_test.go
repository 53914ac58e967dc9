package memlayer

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/layers/activation"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// Benchmarks at the paper's small-layer sizes: model dim 256, 4 heads,
// k_dim 256, knn 32, v_dim 256, 2048 tokens; each reports tokens/s so that the
// memory layer and the SwiGLU FFN of the same width compare in one run:
//
//	GOEXPERIMENT=simd go test ./memlayer -run XXX -bench . -benchtime 3x
const (
	benchDim    = 256
	benchTokens = 2048
)

func benchConfig(nKeys int) Config {
	return Config{Heads: 4, KNN: 32, NKeys: nKeys, KDim: 256, VDim: 256, QueryBias: true}
}

// swiGLU is the dense FFN the memory layer replaces: W2(silu(W1 x) ⊙ W3 x).
func swiGLU(scope *model.Scope, x *Node, hidden int) *Node {
	g := x.Graph()
	dim := x.Shape().Dimensions[x.Rank()-1]
	w := func(name string, in, out int) *Node {
		init := initializer.RandomNormalFn(scope, 1/math.Sqrt(float64(in)))
		return scope.WithInitializer(init).VariableWithShape(name, shapesOf(x.DType(), in, out)).NodeValue(g)
	}
	h := Mul(activation.Swish(Dot(x, w("w1", dim, hidden)).Product()), Dot(x, w("w3", dim, hidden)).Product())
	return Dot(h, w("w2", hidden, dim)).Product()
}

// layerFn builds either forward only, or forward and the gradients of every
// variable and of the input.
func layerFn(layer func(*model.Scope, *Node) *Node, backward bool) func(*model.Scope, *Node) []*Node {
	return func(scope *model.Scope, x *Node) []*Node {
		out := layer(scope.In("layer"), x)
		if !backward {
			return []*Node{out}
		}
		loss := ReduceAllSum(out)
		wrt := []*Node{x}
		for v := range scope.Store().IterVariables() {
			wrt = append(wrt, v.NodeValue(x.Graph()))
		}
		return Gradient(loss, wrt...)
	}
}

func runLayerBench(b *testing.B, layer func(*model.Scope, *Node) *Node, backward bool) {
	backend := testBackend(b)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	rng := rand.New(rand.NewPCG(1, 2))
	x := tensors.FromFlatDataAndDimensions(float32s(randomSlice(rng, benchTokens*benchDim, 1)), benchTokens, benchDim)
	exec := model.MustNewExec(backend, store, layerFn(layer, backward))
	if _, err := exec.Exec(x); err != nil { // compile and initialise outside the timer
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		outs, err := exec.Exec(x)
		if err != nil {
			b.Fatal(err)
		}
		for _, o := range outs {
			o.FinalizeAll()
		}
	}
	b.ReportMetric(float64(benchTokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
}

func float32s(x []float64) []float32 {
	out := make([]float32, len(x))
	for i, v := range x {
		out[i] = float32(v)
	}
	return out
}

func BenchmarkMemoryLayer(b *testing.B) {
	for _, nKeys := range []int{128, 512} {
		for _, backward := range []bool{false, true} {
			name := fmt.Sprintf("n_keys=%d/%s", nKeys, map[bool]string{false: "fwd", true: "fwd+bwd"}[backward])
			b.Run(name, func(b *testing.B) {
				cfg := benchConfig(nKeys)
				runLayerBench(b, func(s *model.Scope, x *Node) *Node { return Layer(s, x, cfg) }, backward)
			})
		}
	}
}

// BenchmarkHostLayer is BenchmarkMemoryLayer on the host path (values in host
// memory, sparse gradient); "step" adds a HostAdam update of every parameter.
func BenchmarkHostLayer(b *testing.B) {
	for _, nKeys := range []int{128, 256, 512, 1024} {
		for _, mode := range []string{"fwd", "fwd+bwd", "step"} {
			b.Run(fmt.Sprintf("n_keys=%d/%s", nKeys, mode), func(b *testing.B) {
				cfg := benchConfig(nKeys)
				store := model.NewStore()
				store.SetParam(model.ParamInitialSeed, int64(1))
				l, err := NewHostLayer(testBackend(b), store, "/layer", cfg, benchDim, nil)
				if err != nil {
					b.Fatal(err)
				}
				rng := rand.New(rand.NewPCG(1, 2))
				x := tensors.FromFlatDataAndDimensions(float32s(randomSlice(rng, benchTokens*benchDim, 1)), benchTokens, benchDim)
				dy := tensors.FromFlatDataAndDimensions(float32s(randomSlice(rng, benchTokens*benchDim, 1)), benchTokens, benchDim)
				valueOpt := NewHostAdam(DefaultAdam(), 1e-3)
				newOpt := func() ValueOptimizer { return NewHostAdam(DefaultAdam(), 1e-3) }
				step := 0
				call := func() {
					if _, err := l.Forward(x); err != nil {
						b.Fatal(err)
					}
					if mode == "fwd" {
						return
					}
					g, err := l.Backward(dy)
					if err != nil {
						b.Fatal(err)
					}
					if mode == "step" {
						step++
						if err := l.Update(g, step, valueOpt, newOpt); err != nil {
							b.Fatal(err)
						}
					}
				}
				call() // compile and initialise outside the timer
				b.ResetTimer()
				for range b.N {
					call()
				}
				b.ReportMetric(float64(benchTokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
	}
}

func BenchmarkSwiGLU(b *testing.B) {
	for _, backward := range []bool{false, true} {
		b.Run(map[bool]string{false: "fwd", true: "fwd+bwd"}[backward], func(b *testing.B) {
			runLayerBench(b, func(s *model.Scope, x *Node) *Node { return swiGLU(s, x, 4*benchDim) }, backward)
		})
	}
}

var _ = dtypes.Float32

// Sizes of the host bag benchmarks: 2048 tokens × 128 rows of 256 floats from
// a 65536-row table, as in `memlab bench`.
const hostBagTokens, hostBagSize, hostBagRows, hostBagDim = 2048, 128, 65536, 256

// hostBagInputs returns a table and random reads of it with random weights.
func hostBagInputs(b *testing.B) (v *HostValues, idx []int32, w []float32, rng *rand.Rand) {
	v, err := NewHostValues(hostBagRows, hostBagDim, 1)
	if err != nil {
		b.Fatal(err)
	}
	rng = rand.New(rand.NewPCG(1, 3))
	idx = make([]int32, hostBagTokens*hostBagSize)
	w = make([]float32, len(idx))
	for i := range idx {
		idx[i] = int32(rng.IntN(hostBagRows))
		w[i] = rng.Float32()
	}
	return v, idx, w, rng
}

// BenchmarkHostBag times HostValues.Bag and reports the bytes of rows read per second.
func BenchmarkHostBag(b *testing.B) {
	v, idx, w, _ := hostBagInputs(b)
	out := make([]float32, hostBagTokens*hostBagDim)
	b.ResetTimer()
	for range b.N {
		v.Bag(idx, w, hostBagSize, out)
	}
	b.ReportMetric(float64(4*len(idx)*hostBagDim*b.N)/b.Elapsed().Seconds()/1e9, "GB/s")
}

// BenchmarkHostBagBackward times HostValues.BagBackward at BenchmarkHostBag's sizes.
func BenchmarkHostBagBackward(b *testing.B) {
	v, idx, w, rng := hostBagInputs(b)
	dOut := randomFloat32(rng, hostBagTokens*hostBagDim)
	var grad SparseRows
	b.ResetTimer()
	for range b.N {
		v.BagBackward(idx, w, hostBagSize, dOut, &grad)
	}
}
