package lm

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/memlayers/memlayers/memlayer"
)

// Accounting's TotalParams must equal the variables Forward creates, exactly,
// for every kind and for the options that change the variable set.
func TestCountMatchesVariables(t *testing.T) {
	type tc struct {
		name string
		cfg  Config
	}
	var cases []tc
	for _, k := range Kinds {
		cases = append(cases, tc{string(k), tinyConfig(t, k)})
	}
	tied := tinyConfig(t, KindMemoryPlus)
	tied.TiedEmbeddings = true
	tied.Memory.VDim = 8
	tied.Memory.Gated = true
	cases = append(cases, tc{"memory+ tied vdim=8 gated", tied})
	proj := tinyConfig(t, KindMemory)
	proj.Memory.VDim = 12
	proj.Memory.QueryBias = false
	proj.MemoryLayers = []int{0, 3}
	cases = append(cases, tc{"memory vdim=12 two layers own tables", proj})
	shared := proj
	shared.Memory.ValuesScope = "/shared_values"
	cases = append(cases, tc{"memory two layers shared table", shared})
	peer2 := tinyConfig(t, KindPEER)
	peer2.MemoryLayers = []int{1, 2}
	peer2.FFNHidden = 40
	cases = append(cases, tc{"peer two layers ffn_hidden=40", peer2})
	moe2 := tinyConfig(t, KindMoE)
	moe2.MoE.TopK = 2
	moe2.TiedEmbeddings = true
	cases = append(cases, tc{"moe top-2 tied", moe2})
	lora := tinyConfig(t, KindMemoryPlus)
	lora.LoRA = LoRAConfig{Rank: 3}
	cases = append(cases, tc{"memory+ with rank-3 adapters", lora})
	loraMoE := tinyConfig(t, KindMoE)
	loraMoE.LoRA = LoRAConfig{Rank: 2, Alpha: 4}
	cases = append(cases, tc{"moe with rank-2 adapters (attention only)", loraMoE})

	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store := newStore(42)
			forward(t, store, c.cfg, randomTokens(rng, 2, c.cfg.SeqLen, c.cfg.Vocab))
			total, values, byPath := paramCounts(store)
			acc := Count(c.cfg)
			if acc.TotalParams != total {
				t.Errorf("Count().TotalParams=%d, store holds %d parameters: %v", acc.TotalParams, total, byPath)
			}
			if acc.MemoryValueParams != values {
				t.Errorf("Count().MemoryValueParams=%d, value tables hold %d", acc.MemoryValueParams, values)
			}
			emb := byPath["/embedding/table"] + byPath["/output/weights"]
			if acc.EmbeddingParams != emb {
				t.Errorf("Count().EmbeddingParams=%d, embedding+head hold %d", acc.EmbeddingParams, emb)
			}
		})
	}
}

// Logits at positions <= t must not depend on tokens after t.
func TestCausality(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			cfg := tinyConfig(t, k)
			store := newStore(7)
			a := randomTokens(rng, 2, cfg.SeqLen, cfg.Vocab)
			b := make([][]int32, len(a))
			const cut = 3 // positions 0..cut stay, the rest change
			for i := range a {
				b[i] = slices.Clone(a[i])
				for j := cut + 1; j < len(b[i]); j++ {
					b[i][j] = (a[i][j] + 1 + int32(rng.IntN(cfg.Vocab-1))) % int32(cfg.Vocab)
				}
			}
			la, _ := forward(t, store, cfg, a)
			lb, _ := forward(t, store, cfg, b)
			v, n := cfg.Vocab, cfg.SeqLen
			changedLater := false
			for i := range a {
				for pos := range n {
					for w := range v {
						x, y := la[(i*n+pos)*v+w], lb[(i*n+pos)*v+w]
						if pos <= cut && math.Abs(float64(x-y)) > 1e-5 {
							t.Fatalf("batch %d position %d: logit %d changed from %g to %g when only later tokens changed",
								i, pos, w, x, y)
						}
						if pos > cut && x != y {
							changedLater = true
						}
					}
				}
			}
			if !changedLater {
				t.Errorf("logits after position %d did not change at all: the test is vacuous", cut)
			}
		})
	}
}

// Shorter inputs than SeqLen work; longer ones are rejected.
func TestShapes(t *testing.T) {
	cfg := tinyConfig(t, KindMemory)
	store := newStore(1)
	logits, aux := forward(t, store, cfg, [][]int32{{1, 2, 3}})
	if len(logits) != 3*cfg.Vocab {
		t.Errorf("got %d logits, want %d", len(logits), 3*cfg.Vocab)
	}
	if aux != 0 {
		t.Errorf("aux=%g for a memory model, want 0", aux)
	}
	for _, x := range logits {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			t.Fatalf("non-finite logit %g", x)
		}
	}
	err := catch(func() error {
		exec := model.MustNewExec(testBackend(t), store, func(scope *model.Scope, tok *Node) (*Node, *Node) {
			return Forward(scope, cfg, tok)
		})
		_, err := exec.Exec(tensors.FromValue(randomTokens(rand.New(rand.NewPCG(1, 1)), 1, cfg.SeqLen+1, cfg.Vocab)))
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "seq_len") {
		t.Errorf("a sequence longer than seq_len: got error %v, want one naming seq_len", err)
	}
}

// catch runs fn and returns its error, or the panic it raised as an error.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

func TestValidate(t *testing.T) {
	for _, k := range Kinds {
		if err := tinyConfig(t, k).Validate(); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	cases := []struct {
		want   string
		modify func(c *Config)
	}{
		{"vocab=1", func(c *Config) { c.Vocab = 1 }},
		{"dim=30: must be divisible by heads=4", func(c *Config) { c.Dim, c.Heads = 30, 4 }},
		{"dim=12: head dim", func(c *Config) { c.Dim, c.Heads = 12, 4 }},
		{"dim=0", func(c *Config) { c.Dim = 0 }},
		{"layers=0", func(c *Config) { c.Layers = 0 }},
		{"heads=0", func(c *Config) { c.Heads = 0 }},
		{"seq_len=0", func(c *Config) { c.SeqLen = 0 }},
		{"ffn_hidden=-1", func(c *Config) { c.FFNHidden = -1 }},
		{"rope_base=0.5", func(c *Config) { c.RopeBase = 0.5 }},
		{"norm_eps=-1", func(c *Config) { c.NormEps = -1 }},
		{`model="mamba"`, func(c *Config) { c.Model = "mamba" }},
		{"memory_layers=[1]: only used by", func(c *Config) { c.MemoryLayers = []int{1} }},
		{"memory_layers=[4]: layer 4 must be in 0..layers-1", func(c *Config) {
			c.Model, c.Memory, c.MemoryLayers = KindMemory, tinyMemory(), []int{4}
		}},
		{"memory_layers=[1 1]: layer 1 is listed twice", func(c *Config) {
			c.Model, c.Memory, c.MemoryLayers = KindMemory, tinyMemory(), []int{1, 1}
		}},
		{"lm: memory: memlayer: knn=0", func(c *Config) {
			c.Model, c.Memory = KindMemory, tinyMemory()
			c.Memory.KNN = 0
		}},
		{"memory.peer=true", func(c *Config) {
			c.Model, c.Memory = KindMemoryPlus, tinyMemory()
			c.Memory.PEER = true
		}},
		{"swilu=true: cannot be combined with peer", func(c *Config) {
			c.Model, c.Memory = KindPEER, tinyMemory()
			c.Memory.SwiLU = true
		}},
		{"moe.experts=1", func(c *Config) { c.Model, c.MoE = KindMoE, MoEConfig{Experts: 1, TopK: 1} }},
		{"moe.top_k=3", func(c *Config) { c.Model, c.MoE = KindMoE, MoEConfig{Experts: 4, TopK: 3} }},
		{"moe.balance_coef=-0.1", func(c *Config) {
			c.Model, c.MoE = KindMoE, MoEConfig{Experts: 4, TopK: 1, BalanceCoef: -0.1}
		}},
	}
	for _, c := range cases {
		cfg := tinyBase()
		c.modify(&cfg)
		err := cfg.Validate()
		if err == nil {
			t.Errorf("%s: accepted", c.want)
			continue
		}
		if !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %q does not contain %q", err, c.want)
		}
		if !strings.HasPrefix(err.Error(), "lm: ") {
			t.Errorf("error %q does not start with \"lm: \"", err)
		}
	}
}

func TestPlacement(t *testing.T) {
	cases := []struct {
		kind   Kind
		layers int
		given  []int
		want   []int
	}{
		{KindMemoryPlus, 24, nil, []int{4, 12, 20}},
		{KindMemoryPlus, 12, nil, []int{2, 6, 10}},
		{KindMemoryPlus, 4, nil, []int{1, 2, 3}},
		{KindMemoryPlus, 2, nil, []int{0, 1}},
		{KindMemoryPlus, 1, nil, []int{0}},
		{KindMemory, 24, nil, []int{12}},
		{KindPEER, 5, nil, []int{2}},
		{KindMemory, 8, []int{5, 1}, []int{1, 5}},
		{KindDense, 8, nil, nil},
		{KindMoE, 8, nil, nil},
	}
	for _, c := range cases {
		cfg := Config{Layers: c.layers, Model: c.kind, MemoryLayers: c.given}
		if got := cfg.Placement(); !slices.Equal(got, c.want) {
			t.Errorf("%s with %d layers, given %v: placement %v, want %v", c.kind, c.layers, c.given, got, c.want)
		}
	}
}

func TestHiddenDefault(t *testing.T) {
	for dim, want := range map[int]int{64: 176, 128: 344, 16: 48, 96: 256} {
		if got := (Config{Dim: dim}).Hidden(); got != want {
			t.Errorf("dim %d: hidden %d, want %d", dim, got, want)
		}
	}
	if got := (Config{Dim: 64, FFNHidden: 100}).Hidden(); got != 100 {
		t.Errorf("explicit ffn_hidden: got %d", got)
	}
}

// The variables of each kind: memory+ has exactly one value table shared by
// its placed layers, each of which has its own query, keys and SwiLU; the
// other layers keep their FFN.
func TestVariablesPerKind(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	names := func(cfg Config) map[string]int64 {
		store := newStore(42)
		forward(t, store, cfg, randomTokens(rng, 1, cfg.SeqLen, cfg.Vocab))
		_, _, byPath := paramCounts(store)
		return byPath
	}
	mustHave := func(t *testing.T, vars map[string]int64, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if _, ok := vars[p]; !ok {
				t.Errorf("missing variable %s", p)
			}
		}
	}
	mustNotHave := func(t *testing.T, vars map[string]int64, paths ...string) {
		t.Helper()
		for _, p := range paths {
			if _, ok := vars[p]; ok {
				t.Errorf("unexpected variable %s", p)
			}
		}
	}
	countNamed := func(vars map[string]int64, name string) (n int) {
		for p := range vars {
			if model.BasePath(p) == name {
				n++
			}
		}
		return n
	}

	t.Run("memory+", func(t *testing.T) {
		cfg := tinyConfig(t, KindMemoryPlus)
		vars := names(cfg)
		if n := countNamed(vars, memlayer.VarValues); n != 1 {
			t.Errorf("%d value tables, want exactly 1 shared: %v", n, vars)
		}
		mustHave(t, vars, "/memory_values/values")
		for _, l := range cfg.Placement() {
			p := "/" + LayerScope(l) + "/memory/"
			mustHave(t, vars, p+"query", p+"keys", p+"swilu_w1", p+"swilu_w2")
			mustNotHave(t, vars, "/"+LayerScope(l)+"/ffn/w1")
		}
		mustHave(t, vars, "/layer_00/ffn/w1", "/layer_00/ffn/w2", "/layer_00/ffn/w3")
		if got := vars["/memory_values/values"]; got != int64(cfg.Memory.Rows()*cfg.Dim) {
			t.Errorf("shared table has %d values, want %d", got, cfg.Memory.Rows()*cfg.Dim)
		}
	})
	t.Run("memory", func(t *testing.T) {
		cfg := tinyConfig(t, KindMemory)
		vars := names(cfg)
		mustHave(t, vars, "/layer_02/memory/values", "/layer_02/memory/keys", "/layer_02/memory/query",
			"/layer_02/memory/query_bias", "/layer_01/ffn/w1", "/layer_03/ffn/w1")
		mustNotHave(t, vars, "/layer_02/ffn/w1", "/layer_02/memory/swilu_w1", "/layer_02/memory/peer_up")
		if n := countNamed(vars, memlayer.VarValues); n != 1 {
			t.Errorf("%d value tables, want 1", n)
		}
	})
	t.Run("peer", func(t *testing.T) {
		vars := names(tinyConfig(t, KindPEER))
		mustHave(t, vars, "/layer_02/memory/values", "/layer_02/memory/peer_up", "/layer_02/memory/keys")
		mustNotHave(t, vars, "/layer_02/ffn/w1")
	})
	t.Run("moe", func(t *testing.T) {
		cfg := tinyConfig(t, KindMoE)
		vars := names(cfg)
		for l := range cfg.Layers {
			p := "/" + LayerScope(l) + "/ffn/"
			mustHave(t, vars, p+"router", p+"w1", p+"w2", p+"w3")
		}
		if got, want := vars["/layer_00/ffn/w1"], int64(cfg.MoE.Experts*cfg.Dim*cfg.Hidden()); got != want {
			t.Errorf("experts w1 has %d values, want %d", got, want)
		}
	})
	t.Run("dense", func(t *testing.T) {
		vars := names(tinyConfig(t, KindDense))
		mustHave(t, vars, "/embedding/table", "/output/weights", "/final_norm/scale",
			"/layer_00/attn/wq", "/layer_00/attn/wk", "/layer_00/attn/wv", "/layer_00/attn/wo",
			"/layer_00/attn_norm/scale", "/layer_00/ffn_norm/scale")
	})
}

func TestSameSeedSameLogits(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 9))
	for _, k := range []Kind{KindDense, KindMemoryPlus} {
		cfg := tinyConfig(t, k)
		tok := randomTokens(rng, 2, cfg.SeqLen, cfg.Vocab)
		a, _ := forward(t, newStore(42), cfg, tok)
		b, _ := forward(t, newStore(42), cfg, tok)
		c, _ := forward(t, newStore(43), cfg, tok)
		if !slices.Equal(a, b) {
			t.Errorf("%s: same seed gave different logits", k)
		}
		if slices.Equal(a, c) {
			t.Errorf("%s: seeds 42 and 43 gave identical logits", k)
		}
	}
}

// setVar overwrites a variable's value in place.
func setVar(t *testing.T, store *model.Store, path string, value *tensors.Tensor) {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	if err := v.SetValue(value); err != nil {
		t.Fatal(err)
	}
}

// The load-balancing loss is BalanceCoef when the router is uniform (zero
// router weights), and always within [0, BalanceCoef·E].
func TestMoEAux(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, topK := range []int{1, 2} {
		cfg := tinyConfig(t, KindMoE)
		cfg.MoE.TopK = topK
		cfg.MoE.BalanceCoef = 0.5
		store := newStore(42)
		tok := randomTokens(rng, 2, cfg.SeqLen, cfg.Vocab)
		_, aux := forward(t, store, cfg, tok)
		if hi := cfg.MoE.BalanceCoef * float64(cfg.MoE.Experts); aux < 0 || float64(aux) > hi {
			t.Errorf("top-%d: aux=%g outside [0, %g]", topK, aux, hi)
		}
		for l := range cfg.Layers {
			zeros := tensors.FromFlatDataAndDimensions(make([]float32, cfg.Dim*cfg.MoE.Experts), cfg.Dim, cfg.MoE.Experts)
			setVar(t, store, "/"+LayerScope(l)+"/ffn/router", zeros)
		}
		_, aux = forward(t, store, cfg, tok)
		if math.Abs(float64(aux)-cfg.MoE.BalanceCoef) > 1e-6 {
			t.Errorf("top-%d uniform router: aux=%g, want balance_coef=%g", topK, aux, cfg.MoE.BalanceCoef)
		}
	}
}

// With every expert a copy of one SwiGLU, a top-2 MoE (gates renormalised to
// sum to 1) computes exactly the dense model with that SwiGLU; this checks
// routing, combination and the expert layout together.
func TestMoEEqualsDenseWhenExpertsAreCopies(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	dense := tinyConfig(t, KindDense)
	moeCfg := tinyConfig(t, KindMoE)
	moeCfg.MoE.TopK = 2
	tok := randomTokens(rng, 2, dense.SeqLen, dense.Vocab)

	denseStore, moeStore := newStore(1), newStore(2)
	want, _ := forward(t, denseStore, dense, tok)
	before, _ := forward(t, moeStore, moeCfg, tok)
	for v := range denseStore.IterVariables() {
		if strings.HasPrefix(v.Name(), "#") {
			continue
		}
		value := v.MustValue()
		if !strings.Contains(v.Path(), "/ffn/") {
			clone, err := value.Clone()
			if err != nil {
				t.Fatal(err)
			}
			setVar(t, moeStore, v.Path(), clone)
			continue
		}
		// Repeat the dense weight for every expert.
		flat := tensors.MustCopyFlatData[float32](value)
		rep := make([]float32, 0, len(flat)*moeCfg.MoE.Experts)
		for range moeCfg.MoE.Experts {
			rep = append(rep, flat...)
		}
		dims := append([]int{moeCfg.MoE.Experts}, value.Shape().Dimensions...)
		setVar(t, moeStore, v.Path(), tensors.FromFlatDataAndDimensions(rep, dims...))
	}
	got, _ := forward(t, moeStore, moeCfg, tok)
	if slices.Equal(before, got) {
		t.Fatal("copying weights changed nothing: the test is vacuous")
	}
	for i := range want {
		if math.Abs(float64(want[i]-got[i])) > 1e-4 {
			t.Fatalf("logit %d: MoE of copies %g, dense %g", i, got[i], want[i])
		}
	}
}

// Configs survive a JSON round trip (results files store them).
func TestConfigJSON(t *testing.T) {
	for _, k := range Kinds {
		c := tinyConfig(t, k)
		c.MemoryLayers = map[bool][]int{true: {1, 3}}[k.IsMemory()]
		data, err := json.Marshal(c)
		if err != nil {
			t.Fatal(err)
		}
		var back Config
		if err := json.Unmarshal(data, &back); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(c, back) {
			t.Errorf("%s: round trip changed the config:\n%+v\n%+v", k, c, back)
		}
		if !strings.Contains(string(data), `"model":"`+string(k)+`"`) {
			t.Errorf("%s: JSON %s does not name the model", k, data)
		}
	}
}
