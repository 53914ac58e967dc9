package lm

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/memlayers/memlayers/internal/testbackend"
	"github.com/memlayers/memlayers/memlayer"
)

// testBackend is the shared test backend (GOMLX_BACKEND, else the pure-Go one).
func testBackend(t testing.TB) compute.Backend { return testbackend.Get(t) }

// tinyMemory is a small memory layer config valid with tinyBase.
func tinyMemory() memlayer.Config {
	return memlayer.Config{Heads: 2, KNN: 4, NKeys: 8, KDim: 8, QueryBias: true}
}

// tinyBase is a 4-layer dense model small enough to compile and run in a
// fraction of a second.
func tinyBase() Config {
	return Config{Vocab: 24, Dim: 16, Layers: 4, Heads: 2, SeqLen: 8, Model: KindDense}
}

// tinyConfig is tinyBase turned into the given kind.
func tinyConfig(t testing.TB, kind Kind) Config {
	t.Helper()
	c := tinyBase()
	c.Model = kind
	switch kind {
	case KindMoE:
		c.MoE = MoEConfig{Experts: 3, TopK: 1, BalanceCoef: 0.01}
	case KindPEER, KindMemory, KindMemoryPlus:
		c.Memory = tinyMemory()
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return c
}

// newStore returns an empty store with a fixed initialisation seed.
func newStore(seed int64) *model.Store {
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	return store
}

// forward runs Forward once on tokens and returns logits (flat) and aux.
// Variables are created (and initialised) on the first call for a store.
func forward(t testing.TB, store *model.Store, cfg Config, tokens [][]int32) (logits []float32, aux float32) {
	t.Helper()
	exec := model.MustNewExec(testBackend(t), store, func(scope *model.Scope, tok *Node) (*Node, *Node) {
		return Forward(scope, cfg, tok)
	})
	out, err := exec.Exec(tensors.FromValue(tokens))
	if err != nil {
		t.Fatalf("forward %s: %v", cfg.Model, err)
	}
	dims := out[0].Shape().Dimensions
	if len(dims) != 3 || dims[0] != len(tokens) || dims[1] != len(tokens[0]) || dims[2] != cfg.Vocab {
		t.Fatalf("logits shape %s, want [%d %d %d]", out[0].Shape(), len(tokens), len(tokens[0]), cfg.Vocab)
	}
	if !out[1].Shape().IsScalar() {
		t.Fatalf("aux shape %s, want a scalar", out[1].Shape())
	}
	logits = tensors.MustCopyFlatData[float32](out[0])
	aux = out[1].Value().(float32)
	return logits, aux
}

// randomTokens returns a [b, n] batch of tokens in 0..vocab-1.
func randomTokens(rng *rand.Rand, b, n, vocab int) [][]int32 {
	out := make([][]int32, b)
	for i := range out {
		out[i] = make([]int32, n)
		for j := range out[i] {
			out[i][j] = int32(rng.IntN(vocab))
		}
	}
	return out
}

// paramCounts sums the sizes of the model's variables (the RNG state, whose
// name starts with "#", is not a parameter).
func paramCounts(store *model.Store) (total, values int64, byPath map[string]int64) {
	byPath = map[string]int64{}
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Name(), "#") {
			continue
		}
		n := int64(v.Shape().Size())
		byPath[v.Path()] = n
		total += n
		if memlayer.IsValueVariable(v) {
			values += n
		}
	}
	return total, values, byPath
}
