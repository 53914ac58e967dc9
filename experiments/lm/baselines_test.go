package lm

import (
	"math"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/memlayer"
)

// A mid-sized base (never built, only counted).
func countBase() Config {
	return Config{Vocab: 512, Dim: 64, Layers: 8, Heads: 4, SeqLen: 128, Model: KindDense}
}

func countMemory() memlayer.Config {
	return memlayer.Config{Heads: 4, KNN: 16, NKeys: 64, KDim: 32, QueryBias: true}
}

// Hand-computed FLOPs and active parameters of a dense model, and the
// relations between kinds that the accounting must respect.
func TestCountFormulas(t *testing.T) {
	c := Config{Vocab: 100, Dim: 8, Layers: 2, Heads: 2, SeqLen: 10, FFNHidden: 16, Model: KindDense}
	// Per layer: 4·64 (attn) + 2·10·8 (scores, mixing) + 3·8·16 (ffn) = 256+160+384 = 800 MACs.
	// Head: 8·100 = 800 MACs. Total 2·800 + 800 = 2400 MACs = 4800 FLOPs.
	a := Count(c)
	if a.FLOPsPerToken != 4800 {
		t.Errorf("dense FLOPs %d, want 4800", a.FLOPsPerToken)
	}
	if a.AttentionFLOPsPerToken != 2*2*160 {
		t.Errorf("attention FLOPs %d, want 640", a.AttentionFLOPsPerToken)
	}
	// Params: emb 800 + head 800 + 2·(256+16+384) + final norm 8 = 2920.
	if a.TotalParams != 2920 || a.EmbeddingParams != 1600 || a.MemoryValueParams != 0 {
		t.Errorf("dense params %+v, want total 2920, embedding 1600", a)
	}
	// Active: 1 embedding row (8) + all layers 2·656 + final norm 8 + head 800.
	if a.ActiveParamsPerToken != 8+1312+8+800 {
		t.Errorf("dense active params %d, want %d", a.ActiveParamsPerToken, 8+1312+8+800)
	}

	base := countBase()
	mem := countMemory()
	dense := Count(base)

	// MoE: total grows with experts, active and FLOPs only with top-k.
	m4, _ := MoEMatched(base, 0)
	m4.MoE.Experts = 4
	m8 := m4
	m8.MoE.Experts = 8
	a4, a8 := Count(m4), Count(m8)
	if a8.TotalParams <= a4.TotalParams {
		t.Errorf("8 experts have %d params, 4 have %d", a8.TotalParams, a4.TotalParams)
	}
	routerDiff := int64(base.Layers * base.Dim * 4)
	if a8.ActiveParamsPerToken-a4.ActiveParamsPerToken != routerDiff || a8.FLOPsPerToken-a4.FLOPsPerToken != 2*routerDiff {
		t.Errorf("experts 4→8 changed active params by %d and FLOPs by %d; only the router (%d) should count",
			a8.ActiveParamsPerToken-a4.ActiveParamsPerToken, a8.FLOPsPerToken-a4.FLOPsPerToken, routerDiff)
	}
	if a4.ActiveParamsPerToken != dense.ActiveParamsPerToken+routerDiff {
		t.Errorf("top-1 MoE active params %d, want dense %d + router %d",
			a4.ActiveParamsPerToken, dense.ActiveParamsPerToken, routerDiff)
	}

	// Memory: a 4× bigger table adds parameters but per-token reads and
	// FLOPs grow only through the sub-keys.
	small, _ := Variant(base, KindMemory, mem)
	bigMem := mem
	bigMem.NKeys *= 2
	big, _ := Variant(base, KindMemory, bigMem)
	as, ab := Count(small), Count(big)
	if ab.MemoryValueParams != 4*as.MemoryValueParams {
		t.Errorf("doubling n_keys: values %d → %d, want ×4", as.MemoryValueParams, ab.MemoryValueParams)
	}
	keys := int64(mem.Heads * mem.NKeys * mem.KDim)
	if ab.ActiveParamsPerToken-as.ActiveParamsPerToken != keys || ab.FLOPsPerToken-as.FLOPsPerToken != 2*keys {
		t.Errorf("doubling n_keys changed active params by %d and FLOPs by %d, want %d and %d (sub-keys only)",
			ab.ActiveParamsPerToken-as.ActiveParamsPerToken, ab.FLOPsPerToken-as.FLOPsPerToken, keys, 2*keys)
	}

	// Memory+: one shared table, three layers of queries and keys.
	plus, _ := Variant(base, KindMemoryPlus, mem)
	ap := Count(plus)
	if ap.MemoryValueParams != as.MemoryValueParams {
		t.Errorf("memory+ values %d, want one table of %d", ap.MemoryValueParams, as.MemoryValueParams)
	}
	if len(plus.Placement()) != 3 {
		t.Errorf("memory+ placement %v, want 3 layers", plus.Placement())
	}
}

func TestDenseScaled(t *testing.T) {
	mem := countMemory()
	for _, kind := range []Kind{KindDense, KindMemoryPlus} {
		base, err := Variant(countBase(), kind, mem)
		if err != nil {
			t.Fatal(err)
		}
		for _, by := range []string{"width", "depth"} {
			for _, factor := range []float64{1, 2, 4} {
				c, err := DenseScaled(base, factor, by)
				if err != nil {
					t.Errorf("%s base, %g× by %s: %v", kind, factor, by, err)
					continue
				}
				got := FLOPsRatio(c, base)
				if math.Abs(got/factor-1) > 0.15 {
					t.Errorf("%s base, %g× by %s: achieved %.3f×", kind, factor, by, got)
				}
				if c.Model != KindDense || len(c.MemoryLayers) != 0 {
					t.Errorf("%s base, %g× by %s: result is %s with memory layers %v", kind, factor, by, c.Model, c.MemoryLayers)
				}
				if by == "width" && (c.Layers != base.Layers || c.Dim%(2*c.Heads) != 0) {
					t.Errorf("by width changed layers to %d or made dim %d not a multiple of 2·heads", c.Layers, c.Dim)
				}
				if by == "depth" && c.Dim != base.Dim {
					t.Errorf("by depth changed dim to %d", c.Dim)
				}
				t.Logf("%s base, %g× by %s: dim %d, layers %d, ratio %.3f", kind, factor, by, c.Dim, c.Layers, got)
			}
		}
	}
	if _, err := DenseScaled(countBase(), 2, "height"); err == nil || !strings.Contains(err.Error(), `by="height"`) {
		t.Errorf("bad by: %v", err)
	}
	if _, err := DenseScaled(countBase(), 0, "width"); err == nil || !strings.Contains(err.Error(), "factor=0") {
		t.Errorf("bad factor: %v", err)
	}
	// A 1-layer model cannot be made 1.5× deeper within 15%.
	one := countBase()
	one.Layers = 1
	one.Vocab = 16
	if _, err := DenseScaled(one, 1.5, "depth"); err == nil {
		t.Errorf("1.5× the depth of a 1-layer model was accepted")
	}
}

func TestMoEMatched(t *testing.T) {
	base := countBase()
	for _, topK := range []int{1, 2} {
		base.MoE.TopK = topK
		for _, target := range []int64{0, 1, Count(base).TotalParams * 3, Count(base).TotalParams*10 + 12345} {
			c, err := MoEMatched(base, target)
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Validate(); err != nil {
				t.Fatal(err)
			}
			if c.Model != KindMoE || c.MoE.TopK != topK || c.MoE.BalanceCoef != DefaultBalanceCoef {
				t.Errorf("got %+v", c.MoE)
			}
			if got := Count(c).TotalParams; got < target {
				t.Errorf("target %d: %d experts give only %d params", target, c.MoE.Experts, got)
			}
			if c.MoE.Experts > 2 {
				fewer := c
				fewer.MoE.Experts--
				if got := Count(fewer).TotalParams; got >= target {
					t.Errorf("target %d: %d experts already give %d params, but %d were chosen",
						target, fewer.MoE.Experts, got, c.MoE.Experts)
				}
			}
		}
	}
}

func TestVariants(t *testing.T) {
	base, mem := countBase(), countMemory()
	vs, err := Variants(base, mem)
	if err != nil {
		t.Fatal(err)
	}
	byKind := map[Kind]Config{}
	for i, c := range vs {
		if c.Model != Kinds[i] {
			t.Errorf("variant %d is %s, want %s", i, c.Model, Kinds[i])
		}
		if err := c.Validate(); err != nil {
			t.Errorf("%s: %v", c.Model, err)
		}
		byKind[c.Model] = c
		a := Count(c)
		t.Logf("%-8s total %9d values %9d active %7d FLOPs %8d", c.Model, a.TotalParams, a.MemoryValueParams,
			a.ActiveParamsPerToken, a.FLOPsPerToken)
	}
	memParams := Count(byKind[KindMemory]).TotalParams
	// MoE: fewest experts at or above Memory's parameters.
	if moe := byKind[KindMoE]; Count(moe).TotalParams < memParams {
		t.Errorf("moe has fewer params than memory")
	}
	// PEER: fewest half-keys at or above Memory's parameters.
	peer := byKind[KindPEER]
	if Count(peer).TotalParams < memParams {
		t.Errorf("peer (n_keys %d) has fewer params than memory", peer.Memory.NKeys)
	}
	smaller := peer
	smaller.Memory.NKeys--
	if Count(smaller).TotalParams >= memParams {
		t.Errorf("peer with n_keys %d would already match memory", smaller.Memory.NKeys)
	}
	if !peer.Memory.PEER || peer.Memory.NKeys >= mem.NKeys {
		t.Errorf("peer memory %+v: want PEER with fewer half-keys than %d (two tables per key)", peer.Memory, mem.NKeys)
	}
	if _, err := Variant(base, "mamba", mem); err == nil {
		t.Errorf("unknown kind accepted")
	}
	bad := mem
	bad.KNN = 0
	if _, err := Variant(base, KindPEER, bad); err == nil || !strings.Contains(err.Error(), "knn=0") {
		t.Errorf("invalid memory config: %v", err)
	}
}
