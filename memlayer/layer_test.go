package memlayer

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// smallConfig is small enough for finite differences over every variable.
func smallConfig() Config {
	return Config{Heads: 2, KNN: 3, NKeys: 4, KDim: 4, QueryBias: true}
}

func newStore(seed int64) *model.Store {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return store
}

// projectedLoss is Σ out·r for a fixed pseudo-random r: a scalar whose
// gradient exercises every output element.
func projectedLoss(out *Node) *Node {
	r := make([]float64, out.Shape().Size())
	for i := range r {
		r[i] = math.Sin(float64(i)*0.7) + 0.1
	}
	proj := Const(out.Graph(), tensors.FromFlatDataAndDimensions(r, out.Shape().Dimensions...))
	return ReduceAllSum(Mul(out, proj))
}

func TestGradientsMatchFiniteDifferences(t *testing.T) {
	backend := testBackend(t)
	const tokens, dim = 5, 6
	rng := rand.New(rand.NewPCG(7, 7))
	x := tensors.FromFlatDataAndDimensions(randomSlice(rng, tokens*dim, 1), tokens, dim)
	base := smallConfig()
	plus := base
	plus.SwiLU, plus.QKNorm, plus.Gated = true, true, true
	proj := base
	proj.VDim = 3
	peer := base
	peer.PEER = true
	for name, cfg := range map[string]Config{"base": base, "memory+": plus, "v_dim!=dim": proj, "peer": peer} {
		t.Run(name, func(t *testing.T) {
			store := newStore(3)
			lossExec := model.MustNewExec(backend, store, func(scope *model.Scope, x *Node) *Node {
				return projectedLoss(Layer(scope.In("mem"), x, cfg))
			})
			if _, err := lossExec.Exec(x); err != nil { // creates the variables
				t.Fatal(err)
			}
			var vars []*model.Variable
			for v := range store.IterVariables() {
				if v.DType() == dtypes.Float64 { // skip the RNG state
					vars = append(vars, v)
				}
			}
			gradExec := model.MustNewExec(backend, store, func(scope *model.Scope, x *Node) []*Node {
				loss := projectedLoss(Layer(scope.In("mem"), x, cfg))
				wrt := make([]*Node, len(vars))
				for i, v := range vars {
					wrt[i] = v.NodeValue(x.Graph())
				}
				return Gradient(loss, wrt...)
			})
			grads, err := gradExec.Exec(x)
			if err != nil {
				t.Fatal(err)
			}
			loss := func() float64 {
				out, err := lossExec.Exec(x)
				if err != nil {
					t.Fatal(err)
				}
				return out[0].Value().(float64)
			}
			const eps = 1e-6
			for i, v := range vars {
				orig := tensors.MustCopyFlatData[float64](v.MustValue())
				analytic := tensors.MustCopyFlatData[float64](grads[i])
				set := func(vals []float64) {
					v.MustSetValue(tensors.FromFlatDataAndDimensions(vals, v.Shape().Dimensions...))
				}
				for j := range orig { // every element: the configs are tiny
					p := append([]float64(nil), orig...)
					p[j] += eps
					set(p)
					up := loss()
					p[j] -= 2 * eps
					set(p)
					down := loss()
					numeric := (up - down) / (2 * eps)
					if diff := math.Abs(numeric - analytic[j]); diff > 1e-6*math.Max(1, math.Abs(numeric)) {
						t.Errorf("%s[%d]: analytic gradient %.9g, finite difference %.9g", v.Path(), j, analytic[j], numeric)
					}
				}
				set(orig)
			}
		})
	}
}

// fetch runs fn on x with a store and returns all outputs.
func fetch(t *testing.T, store *model.Store, x *tensors.Tensor, fn func(*model.Scope, *Node) []*Node) []*tensors.Tensor {
	t.Helper()
	out, err := model.MustNewExec(testBackend(t), store, fn).Exec(x)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLayerEqualsHostComputation recomputes the layer output on the host from
// the lookup it reports and the variables' values: the embedding bag, the
// PEER experts and the output projections all follow the paper's formulas.
func TestLayerEqualsHostComputation(t *testing.T) {
	const tokens, dim = 6, 8
	rng := rand.New(rand.NewPCG(1, 9))
	x := tensors.FromFlatDataAndDimensions(randomSlice(rng, tokens*dim, 1), tokens, dim)
	xs := tensors.MustCopyFlatData[float64](x)
	for name, cfg := range map[string]Config{
		"plain": {Heads: 2, KNN: 3, NKeys: 5, KDim: 6},
		"peer":  {Heads: 3, KNN: 2, NKeys: 4, KDim: 4, PEER: true},
	} {
		t.Run(name, func(t *testing.T) {
			store := newStore(5)
			out := fetch(t, store, x, func(scope *model.Scope, x *Node) []*Node {
				y, l := LayerWithLookup(scope.In("mem"), x, cfg)
				return []*Node{y, l.Indices, l.Weights}
			})
			y := tensors.MustCopyFlatData[float64](out[0])
			idx := tensors.MustCopyFlatData[int32](out[1])
			w := tensors.MustCopyFlatData[float64](out[2])
			values := tensors.MustCopyFlatData[float64](store.GetVariable("/mem/values").MustValue())
			var up []float64
			if cfg.PEER {
				up = tensors.MustCopyFlatData[float64](store.GetVariable("/mem/peer_up").MustValue())
			}
			bag := cfg.Heads * cfg.KNN
			for tok := range tokens {
				for head := range cfg.Heads {
					var sum float64
					for k := range cfg.KNN {
						sum += w[tok*bag+head*cfg.KNN+k]
					}
					if math.Abs(sum-1) > 1e-9 {
						t.Fatalf("token %d head %d: softmax weights sum to %g", tok, head, sum)
					}
				}
				for d := range dim {
					var want float64
					for j := range bag {
						row := int(idx[tok*bag+j])
						coef := w[tok*bag+j]
						if cfg.PEER {
							var dot float64
							for e := range dim {
								dot += xs[tok*dim+e] * up[row*dim+e]
							}
							coef *= 0.5 * dot * (1 + math.Erf(dot/math.Sqrt2)) // exact gelu
						}
						want += coef * values[row*dim+d]
					}
					if got := y[tok*dim+d]; math.Abs(got-want) > 1e-6 {
						t.Fatalf("token %d dim %d: layer gives %g, host recomputation %g", tok, d, got, want)
					}
				}
			}
		})
	}
}

func TestSharedValuesAreOneTable(t *testing.T) {
	const tokens, dim = 4, 8
	rng := rand.New(rand.NewPCG(2, 2))
	x := tensors.FromFlatDataAndDimensions(randomSlice(rng, tokens*dim, 1), tokens, dim)
	cfg := Config{Heads: 2, KNN: 2, NKeys: 4, KDim: 4, SwiLU: true, QKNorm: true, ValuesScope: "/shared_values"}
	store := newStore(11)
	twoLayers := func(scope *model.Scope, x *Node) []*Node {
		return []*Node{Layer(scope.In("a"), x, cfg), Layer(scope.In("b"), x, cfg)}
	}
	before := fetch(t, store, x, twoLayers)
	count := 0
	for v := range store.IterVariables() {
		if IsValueVariable(v) {
			count++
			if v.Path() != "/shared_values/values" {
				t.Errorf("value table at %s, want /shared_values/values", v.Path())
			}
		}
	}
	if count != 1 {
		t.Fatalf("found %d value tables, want exactly 1 shared table", count)
	}
	// One SGD step on layer a's loss only, applied to the shared table.
	fetch(t, store, x, func(scope *model.Scope, x *Node) []*Node {
		loss := projectedLoss(Layer(scope.In("a"), x, cfg))
		values := store.GetVariable("/shared_values/values")
		grad := Gradient(loss, values.NodeValue(x.Graph()))[0]
		values.SetNodeValue(Sub(values.NodeValue(x.Graph()), MulScalar(grad, 10)))
		return []*Node{loss}
	})
	after := fetch(t, store, x, twoLayers)
	if maxAbsDiff(t, before[1], after[1]) < 1e-6 {
		t.Fatal("updating the shared values through layer a did not change what layer b reads")
	}
}

func maxAbsDiff(t *testing.T, a, b *tensors.Tensor) float64 {
	t.Helper()
	x, y := tensors.MustCopyFlatData[float64](a), tensors.MustCopyFlatData[float64](b)
	var m float64
	for i := range x {
		m = math.Max(m, math.Abs(x[i]-y[i]))
	}
	return m
}

func TestSameSeedSameOutputs(t *testing.T) {
	const tokens, dim = 4, 8
	rng := rand.New(rand.NewPCG(3, 3))
	x := tensors.FromFlatDataAndDimensions(randomSlice(rng, tokens*dim, 1), tokens, dim)
	cfg := Config{Heads: 2, KNN: 2, NKeys: 8, KDim: 4, QueryBias: true}
	run := func(seed int64) *tensors.Tensor {
		return fetch(t, newStore(seed), x, func(scope *model.Scope, x *Node) []*Node {
			return []*Node{Layer(scope.In("mem"), x, cfg)}
		})[0]
	}
	if d := maxAbsDiff(t, run(42), run(42)); d != 0 {
		t.Fatalf("same seed gave outputs differing by %g", d)
	}
	if d := maxAbsDiff(t, run(42), run(43)); d == 0 {
		t.Fatal("different seeds gave identical outputs")
	}
}

func TestValidateRejectsEachBadField(t *testing.T) {
	good := DefaultConfig(64)
	if err := good.Validate(); err != nil {
		t.Fatalf("default config rejected: %v", err)
	}
	for _, tc := range []struct {
		field string
		edit  func(*Config)
	}{
		{"heads", func(c *Config) { c.Heads = 0 }},
		{"knn", func(c *Config) { c.KNN = 0 }},
		{"knn", func(c *Config) { c.KNN = 65 }},
		{"n_keys", func(c *Config) { c.NKeys = 0 }},
		{"n_keys", func(c *Config) { c.NKeys = 1 << 16 }},
		{"k_dim", func(c *Config) { c.KDim = 7 }},
		{"k_dim", func(c *Config) { c.KDim = 0 }},
		{"v_dim", func(c *Config) { c.VDim = -1 }},
		{"input_dropout", func(c *Config) { c.InputDropout = 1 }},
		{"query_dropout", func(c *Config) { c.QueryDropout = -0.1 }},
		{"value_dropout", func(c *Config) { c.ValueDropout = 1.5 }},
		{"values_scope", func(c *Config) { c.ValuesScope = "relative" }},
		{"swilu", func(c *Config) { c.PEER, c.SwiLU = true, true }},
	} {
		cfg := good
		tc.edit(&cfg)
		err := cfg.Validate()
		if err == nil {
			t.Errorf("%s: bad config %+v accepted", tc.field, cfg)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, tc.field+"=") || strings.Contains(msg, "\n") {
			t.Errorf("%s: error %q should be one line naming the field and its value", tc.field, msg)
		}
	}
}

func TestLayerPanicsWithValidationError(t *testing.T) {
	defer func() {
		r := recover()
		if r == nil || !strings.Contains(toString(r), "knn=0") {
			t.Fatalf("expected a panic naming knn=0, got %v", r)
		}
	}()
	g := NewGraph(testBackend(t), "bad")
	x := Parameter(g, "x", shapesOf(dtypes.Float32, 2, 4))
	Layer(model.NewStore().RootScope(), x, Config{Heads: 1, KNN: 0, NKeys: 4, KDim: 4})
}

func toString(r any) string {
	if err, ok := r.(error); ok {
		return err.Error()
	}
	if s, ok := r.(string); ok {
		return s
	}
	return ""
}

func TestUsageOf(t *testing.T) {
	u, err := UsageOf([]int32{0, 0, 1, 3}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if u.Touched != 3 || u.Fraction != 0.75 || u.Reads != 4 {
		t.Fatalf("got %+v", u)
	}
	// p = (1/2, 1/4, 0, 1/4): KL = ½ln2 + ¼ln1 + ¼ln1.
	if want := 0.5 * math.Log(2); math.Abs(u.KL-want) > 1e-12 {
		t.Fatalf("KL %g, want %g", u.KL, want)
	}
	uniform, _ := UsageOf([]int32{0, 1, 2, 3}, 4)
	if uniform.KL != 0 || uniform.Fraction != 1 {
		t.Fatalf("uniform use: %+v", uniform)
	}
	if _, err := UsageOf([]int32{4}, 4); err == nil {
		t.Fatal("out-of-range index accepted")
	}
}
