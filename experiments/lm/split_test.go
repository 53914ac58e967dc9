package lm

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/memlayer"
)

// splitForward runs the pieces of s in order with host bags between them,
// reading the value tables from store's variables, and returns the logits.
func splitForward(t *testing.T, store *model.Store, s *SplitModel, tokens [][]int32) []float32 {
	t.Helper()
	tables := map[string]*memlayer.HostValues{}
	inputs := []*tensors.Tensor{tensors.FromValue(tokens)}
	for m, piece := range s.Pieces {
		exec := model.MustNewExec(testBackend(t), store, func(scope *model.Scope, in []*Node) []*Node { return piece(scope, in) })
		outs, err := exec.Exec(anys(inputs)...)
		if err != nil {
			t.Fatalf("piece %d: %v", m, err)
		}
		if m == len(s.Memories) {
			return tensors.MustCopyFlatData[float32](outs[0])
		}
		mem := s.Memories[m]
		if tables[mem.Table] == nil {
			v := store.GetVariable(mem.Table)
			if v == nil {
				t.Fatalf("no value table %s", mem.Table)
			}
			var err error
			if tables[mem.Table], err = memlayer.HostValuesFromTensor(v.MustValue()); err != nil {
				t.Fatal(err)
			}
		}
		h := outs[0]
		b, tt := h.Shape().Dimensions[0], h.Shape().Dimensions[1]
		flat := func(i int) []float32 { return tensors.MustCopyFlatData[float32](outs[i]) }
		var out []float32
		if mem.Config.PEER {
			up, err := memlayer.HostValuesFromTensor(store.GetVariable(mem.UpTable).MustValue())
			if err != nil {
				t.Fatal(err)
			}
			p, err := memlayer.NewHostPEER(mem.Config, up, tables[mem.Table])
			if err != nil {
				t.Fatal(err)
			}
			out, err = p.Forward(flat(1), flat(2), flat(3), flat(4), b*tt)
			if err != nil {
				t.Fatal(err)
			}
		} else {
			bag, err := memlayer.NewHostBag(mem.Config, tables[mem.Table])
			if err != nil {
				t.Fatal(err)
			}
			if out, err = bag.Forward(flat(1), flat(2), flat(3), b*tt); err != nil {
				t.Fatal(err)
			}
		}
		inputs = []*tensors.Tensor{h, tensors.FromFlatDataAndDimensions(out, b*tt, tables[mem.Table].Dim)}
	}
	t.Fatal("unreachable")
	return nil
}

func anys(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

// TestSplitEqualsForward: the pieces of a split model, with the memory layers'
// lookups and bags done on the host between them, compute Forward's logits,
// for one memory layer, three Memory+ layers sharing a table, and a memory
// model whose first layer is a memory layer.
func TestSplitEqualsForward(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	first := tinyConfig(t, KindMemory)
	first.MemoryLayers = []int{0, 3}
	first.Memory.VDim = 8 // a value projection in the output stage
	for name, cfg := range map[string]Config{
		"memory": tinyConfig(t, KindMemory), "memory+": tinyConfig(t, KindMemoryPlus), "layers 0 and 3": first,
		"peer": tinyConfig(t, KindPEER),
	} {
		t.Run(name, func(t *testing.T) {
			store := newStore(7)
			tok := randomTokens(rng, 3, cfg.SeqLen, cfg.Vocab)
			want, _ := forward(t, store, cfg, tok)
			s, err := cfg.Split()
			if err != nil {
				t.Fatal(err)
			}
			if len(s.Pieces) != len(cfg.Placement())+1 || len(s.Memories) != len(cfg.Placement()) {
				t.Fatalf("%d pieces and %d memories for placement %v", len(s.Pieces), len(s.Memories), cfg.Placement())
			}
			got := splitForward(t, store, s, tok)
			scale := 0.0
			for _, v := range want {
				scale = math.Max(scale, math.Abs(float64(v)))
			}
			for i := range want {
				if d := math.Abs(float64(want[i] - got[i])); d > 1e-5*scale {
					t.Fatalf("logit %d: Forward %g, split %g", i, want[i], got[i])
				}
			}
		})
	}
}

func TestSplitRefuses(t *testing.T) {
	drop := tinyConfig(t, KindMemory)
	drop.Memory.QueryDropout = 0.1
	for _, tc := range []struct {
		cfg  Config
		want string
	}{
		{tinyConfig(t, KindDense), "no memory layers"},
		{tinyConfig(t, KindMoE), "no memory layers"},
		{drop, "dropout"},
	} {
		_, err := tc.cfg.Split()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "memory_path=graph") {
			t.Errorf("%s: want an error naming %q and the graph path, got %v", tc.cfg.Model, tc.want, err)
		}
	}
}
