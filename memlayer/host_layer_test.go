package memlayer

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

func randomFloat32(rng *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(rng.NormFloat64())
	}
	return s
}

// TestSearchOnHostMatchesGraph runs the host search and ProductKeySearch on the
// same sub-key scores, including many exact ties (scores rounded to a coarse
// grid), and requires the same slots in the same order.
func TestSearchOnHostMatchesGraph(t *testing.T) {
	backend := testBackend(t)
	for _, tc := range []struct {
		name                      string
		tokens, heads, nKeys, knn int
		grid                      float32 // 0: continuous scores
	}{
		{"continuous", 7, 3, 16, 5, 0},
		{"ties", 9, 2, 12, 6, 0.5},
		{"knn=n_keys", 4, 1, 6, 6, 0.25},
		{"knn=1", 5, 2, 9, 1, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, uint64(tc.knn)))
			half := randomFloat32(rng, tc.tokens*tc.heads*2*tc.nKeys)
			if tc.grid > 0 {
				for i := range half {
					half[i] = float32(math.Round(float64(half[i]/tc.grid))) * tc.grid
				}
			}
			host, err := SearchOnHost(half, tc.tokens, tc.heads, tc.nKeys, tc.knn)
			if err != nil {
				t.Fatal(err)
			}
			outs := MustExecOnceN(backend, func(half *Node) []*Node {
				// The graph search takes [T, H, 2, NKeys]; the host [H, 2, T, NKeys].
				scores, indices := searchTokenMajor(TransposeAllDims(half, 2, 0, 1, 3), tc.knn)
				return []*Node{indices, Softmax(scores, -1)}
			}, tensors.FromFlatDataAndDimensions(half, tc.heads, 2, tc.tokens, tc.nKeys))
			idx := tensors.MustCopyFlatData[int32](outs[0])
			w := tensors.MustCopyFlatData[float32](outs[1])
			if !slices.Equal(idx, host.Indices) {
				t.Fatalf("indices differ:\ngraph %v\nhost  %v", idx, host.Indices)
			}
			for i := range w {
				if math.Abs(float64(w[i]-host.Weights[i])) > 1e-6 {
					t.Fatalf("weight %d: graph %g, host %g", i, w[i], host.Weights[i])
				}
			}
		})
	}
	if _, err := SearchOnHost(make([]float32, 10), 1, 1, 4, 2); err == nil {
		t.Error("wrong-sized scores accepted")
	}
}

// graphReference runs Layer in the graph and returns its output and the
// gradients of Σ out·dy with respect to x and every variable of the layer.
func graphReference(t *testing.T, store *model.Store, cfg Config, x, dy *tensors.Tensor) (out, dx *tensors.Tensor, grads map[string]*tensors.Tensor) {
	t.Helper()
	backend := testBackend(t)
	fwd := fetch(t, store, x, func(scope *model.Scope, x *Node) []*Node {
		return []*Node{Layer(scope.In("mem"), x, cfg)}
	})
	var vars []*model.Variable
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Path(), "/mem/") && v.DType() == dtypes.Float32 {
			vars = append(vars, v)
		}
	}
	exec := model.MustNewExec(backend, store, func(scope *model.Scope, x, dy *Node) []*Node {
		loss := ReduceAllSum(Mul(Layer(scope.In("mem"), x, cfg), dy))
		wrt := []*Node{x}
		for _, v := range vars {
			wrt = append(wrt, v.NodeValue(x.Graph()))
		}
		return Gradient(loss, wrt...)
	})
	outs, err := exec.Exec(x, dy)
	if err != nil {
		t.Fatal(err)
	}
	grads = map[string]*tensors.Tensor{}
	for i, v := range vars {
		grads[v.Path()] = outs[1+i]
	}
	return fwd[0], outs[0], grads
}

// hostLayerOn builds a host layer on the variables graphReference left under
// /mem, its table a copy of the graph layer's.
func hostLayerOn(t *testing.T, store *model.Store, cfg Config, dim int) *HostLayer {
	t.Helper()
	values, err := HostValuesFromTensor(store.GetVariable("/mem/values").MustValue())
	if err != nil {
		t.Fatal(err)
	}
	l, err := NewHostLayer(testBackend(t), store, "/mem", cfg, dim, values)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func requireClose(t *testing.T, what string, want, got []float32, tol float64) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 0.0
	for _, v := range want {
		scale = math.Max(scale, math.Abs(float64(v)))
	}
	for i := range want {
		if d := math.Abs(float64(want[i] - got[i])); d > tol*math.Max(scale, 1e-3) {
			t.Fatalf("%s[%d]: graph %.7g, host %.7g (|diff| %.2g, scale %.2g)", what, i, want[i], got[i], d, scale)
		}
	}
}

// TestHostLayerMatchesLayer: with the same variables, the host path computes
// the graph layer's output, input gradient, variable gradients and value-table
// gradient (dense in the graph, sparse on the host).
func TestHostLayerMatchesLayer(t *testing.T) {
	const tokens, dim = 24, 16
	base := Config{Heads: 2, KNN: 4, NKeys: 8, KDim: 8, QueryBias: true}
	plus := base
	plus.SwiLU, plus.QKNorm, plus.Gated = true, true, true
	proj := base
	proj.VDim = 12
	wide := base // 64-float rows: the AVX-512 row kernels' block path
	wide.VDim = 64
	for name, cfg := range map[string]Config{"base": base, "memory+": plus, "v_dim!=dim": proj, "v_dim=64": wide} {
		t.Run(name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 5))
			x := tensors.FromFlatDataAndDimensions(randomFloat32(rng, tokens*dim), tokens, dim)
			dy := tensors.FromFlatDataAndDimensions(randomFloat32(rng, tokens*dim), tokens, dim)
			store := newStore(4)
			wantOut, wantDx, wantGrads := graphReference(t, store, cfg, x, dy)

			l := hostLayerOn(t, store, cfg, dim)
			out, err := l.Forward(x)
			if err != nil {
				t.Fatal(err)
			}
			requireClose(t, "output", tensors.MustCopyFlatData[float32](wantOut), tensors.MustCopyFlatData[float32](out), 1e-5)
			grads, err := l.Backward(dy)
			if err != nil {
				t.Fatal(err)
			}
			requireClose(t, "dx", tensors.MustCopyFlatData[float32](wantDx), tensors.MustCopyFlatData[float32](grads.X), 1e-5)
			for path, want := range wantGrads {
				if path == "/mem/values" {
					requireClose(t, path, tensors.MustCopyFlatData[float32](want), grads.Values.Dense(cfg.Rows()), 1e-5)
					continue
				}
				got, ok := grads.Vars[path]
				if !ok {
					t.Fatalf("host path has no gradient for %s", path)
				}
				requireClose(t, path, tensors.MustCopyFlatData[float32](want), tensors.MustCopyFlatData[float32](got), 1e-5)
			}
			if len(grads.Vars) != len(wantGrads)-1 {
				t.Fatalf("host path gradients %d variables, graph %d (plus the table)", len(grads.Vars), len(wantGrads)-1)
			}
			// Only the rows the lookup read carry gradient.
			read := map[int32]bool{}
			for _, r := range l.Lookup().Indices {
				read[r] = true
			}
			if len(grads.Values.Rows) != len(read) {
				t.Fatalf("sparse gradient has %d rows, the lookup read %d", len(grads.Values.Rows), len(read))
			}
		})
	}
}

// TestHostLayerSGDStepMatchesGraph: one SGD step on the host (sparse for the
// table) leaves the same variables as the same step in the graph (dense).
func TestHostLayerSGDStepMatchesGraph(t *testing.T) {
	const tokens, dim, lr = 16, 8, 0.1
	cfg := Config{Heads: 2, KNN: 3, NKeys: 6, KDim: 4, QueryBias: true}
	rng := rand.New(rand.NewPCG(2, 2))
	x := tensors.FromFlatDataAndDimensions(randomFloat32(rng, tokens*dim), tokens, dim)
	dy := tensors.FromFlatDataAndDimensions(randomFloat32(rng, tokens*dim), tokens, dim)
	store := newStore(9)
	_, _, grads := graphReference(t, store, cfg, x, dy)
	want := map[string][]float32{}
	for path, g := range grads {
		w := tensors.MustCopyFlatData[float32](store.GetVariable(path).MustValue())
		gf := tensors.MustCopyFlatData[float32](g)
		for i := range w {
			w[i] -= lr * gf[i]
		}
		want[path] = w
	}

	l := hostLayerOn(t, store, cfg, dim)
	if _, err := l.Forward(x); err != nil {
		t.Fatal(err)
	}
	hg, err := l.Backward(dy)
	if err != nil {
		t.Fatal(err)
	}
	sgd := func() ValueOptimizer { return &SparseSGD{LR: lr} }
	if err := l.Update(hg, 1, sgd(), sgd); err != nil {
		t.Fatal(err)
	}
	for path, w := range want {
		got := l.Values.Data
		if path != "/mem/values" {
			got = tensors.MustCopyFlatData[float32](store.GetVariable(path).MustValue())
		}
		requireClose(t, path+" after SGD", w, got, 1e-5)
	}
}

func TestNewHostLayerRejects(t *testing.T) {
	backend := testBackend(t)
	good := Config{Heads: 1, KNN: 2, NKeys: 4, KDim: 4}
	wrongTable, _ := NewHostValues(5, 8, 1)
	for _, tc := range []struct {
		want   string
		cfg    func(*Config)
		values *HostValues
		scope  string
	}{
		{want: "peer=true", cfg: func(c *Config) { c.PEER = true }},
		{want: "dropout", cfg: func(c *Config) { c.QueryDropout = 0.1 }},
		{want: "knn=0", cfg: func(c *Config) { c.KNN = 0 }},
		{want: "16×8", values: wrongTable},
		{want: "must be absolute", scope: "mem"},
	} {
		cfg := good
		if tc.cfg != nil {
			tc.cfg(&cfg)
		}
		scope := "/mem"
		if tc.scope != "" {
			scope = tc.scope
		}
		_, err := NewHostLayer(backend, newStore(1), scope, cfg, 8, tc.values)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("want a one-line error mentioning %q, got %v", tc.want, err)
		}
	}
}
