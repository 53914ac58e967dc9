package train

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/layers"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/internal/testbackend"
)

// testBackend is the shared test backend (GOMLX_BACKEND, else the pure-Go one).
func testBackend(t testing.TB) compute.Backend { return testbackend.Get(t) }

// tinyModel is a bigram language model: logits = (embed[x] + values[x]) · W + b, with optional dropout
// on the hidden vector. "values" is named like a memory value table, so it gets Config.ValueLR.
func tinyModel(dim int, dropout float64) ModelFn {
	return func(scope *model.Scope, tokens *Node) (*Node, *Node) {
		g := tokens.Graph()
		vocab := data.NumBytesAndSpecials
		s := scope.In("tiny")
		normal := func(name string, stddev float64, dims ...int) *Node {
			return s.WithInitializer(initializer.RandomNormalFn(s, stddev)).
				VariableWithShape(name, shapes.Make(dtypes.Float32, dims...)).NodeValue(g)
		}
		embed := normal("embed", 0.1, vocab, dim)
		values := normal("values", 0.1, vocab, dim)
		w := normal("w", 1/math.Sqrt(float64(dim)), dim, vocab)
		b := s.WithInitializer(initializer.Zero).VariableWithShape("b", shapes.Make(dtypes.Float32, vocab)).NodeValue(g)
		idx := InsertAxes(tokens, -1)
		h := Add(Gather(embed, idx), Gather(values, idx)) // [B, T, dim]
		h = layers.DropoutStatic(s, h, dropout)
		logits := Add(Einsum("btd,dv->btv", h, w), InsertAxes(b, 0, 0))
		return logits, nil
	}
}

// repeatedText is a dataset of one document of a short sentence repeated: a bigram model learns it.
// newTextTrainer returns a trainer of modelFn on the repeated text (bytes), failing the test on error.
func newTextTrainer(t *testing.T, modelFn ModelFn, cfg Config) *Trainer {
	t.Helper()
	tr, err := New(testBackend(t), modelFn, cfg, data.ByteTokenizer{}, repeatedText())
	if err != nil {
		t.Fatal(err)
	}
	return tr
}

func repeatedText() *data.Dataset {
	return &data.Dataset{Name: "repeated", Documents: []string{strings.Repeat("the cat sat on the mat. ", 12)}}
}

// tinyConfig is a fast configuration for the tiny model.
func tinyConfig() Config {
	cfg := DefaultConfig()
	cfg.Steps = 60
	cfg.BatchSize = 4
	cfg.SeqLen = 16
	cfg.LR = 1e-2
	cfg.ValueLR = 1e-2
	cfg.WarmupSteps = 5
	cfg.EvalEvery = 0
	cfg.CheckpointEvery = 0
	cfg.MaxAnswerTokens = 8
	return cfg
}

// variableBytes snapshots every variable of the store (path → raw bytes).
func variableBytes(t *testing.T, store *model.Store) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	for v := range store.IterVariables() {
		value, err := v.Value()
		if err != nil {
			t.Fatalf("variable %s: %v", v.Path(), err)
		}
		if err := value.ConstBytes(func(b []byte) { out[v.Path()] = bytes.Clone(b) }); err != nil {
			t.Fatalf("variable %s: %v", v.Path(), err)
		}
	}
	return out
}

// variableFloats returns a float32 variable's flat values.
func variableFloats(t *testing.T, store *model.Store, path string) []float32 {
	t.Helper()
	v := store.GetVariable(path)
	if v == nil {
		t.Fatalf("no variable %s", path)
	}
	value, err := v.Value()
	if err != nil {
		t.Fatalf("variable %s: %v", path, err)
	}
	var out []float32
	if err := value.ConstFlatData(func(flat any) { out = append(out, flat.([]float32)...) }); err != nil {
		t.Fatalf("variable %s: %v", path, err)
	}
	return out
}

func maxAbsDiff(a, b []float32) float64 {
	m := 0.0
	for i := range a {
		m = max(m, math.Abs(float64(a[i])-float64(b[i])))
	}
	return m
}
