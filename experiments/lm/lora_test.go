package lm

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gomlx/gomlx/core/tensors"
)

// TestLoRAStartsAsTheBaseModel: adapters added to a trained model (B = 0)
// leave its logits exactly as they were; once B is not zero they change them. The adapters are the only new
// variables, one A and one B for each attention and SwiGLU weight.
func TestLoRAStartsAsTheBaseModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kind := range []Kind{KindDense, KindMemory} {
		t.Run(string(kind), func(t *testing.T) {
			base := tinyConfig(t, kind)
			tok := randomTokens(rng, 2, base.SeqLen, base.Vocab)
			store := newStore(7)
			want, _ := forward(t, store, base, tok)
			before := map[string]bool{}
			for v := range store.IterVariables() {
				before[v.Path()] = true
			}

			adapted := base
			adapted.LoRA = LoRAConfig{Rank: 2, Alpha: 4}
			got, _ := forward(t, store, adapted, tok)
			if !slices.Equal(want, got) {
				t.Fatal("adapters with B = 0 changed the logits")
			}
			var added []string
			for v := range store.IterVariables() {
				if !before[v.Path()] {
					added = append(added, v.Path())
					if !IsLoRAVariable(v.Path()) {
						t.Errorf("new variable %s is not an adapter", v.Path())
					}
				}
			}
			// 4 attention weights per layer; 3 SwiGLU weights in each layer without a memory.
			ffnLayers := base.Layers - len(base.Placement())
			if want := 2 * (4*base.Layers + 3*ffnLayers); len(added) != want {
				t.Errorf("%d adapter variables, want %d: %v", len(added), want, added)
			}

			b := "/layer_00/attn/wq" + loraB
			if !slices.Contains(added, b) {
				t.Fatalf("no adapter %s among %v", b, added)
			}
			ones := make([]float32, 2*base.Dim)
			for i := range ones {
				ones[i] = 0.1
			}
			setVar(t, store, b, tensors.FromFlatDataAndDimensions(ones, 2, base.Dim))
			if changed, _ := forward(t, store, adapted, tok); slices.Equal(want, changed) {
				t.Error("a non-zero adapter left the logits unchanged")
			}
		})
	}
}

func TestLoRAValidate(t *testing.T) {
	c := tinyConfig(t, KindDense)
	c.LoRA = LoRAConfig{Rank: c.Dim + 1}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "lora.rank") {
		t.Errorf("rank > dim: %v", err)
	}
	c.LoRA = LoRAConfig{Rank: 2, Alpha: -1}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "lora.alpha") {
		t.Errorf("negative alpha: %v", err)
	}
	for _, name := range []string{"/layer_01/ffn/w2_lora_a", "wq_lora_b"} {
		if !IsLoRAVariable(name) {
			t.Errorf("IsLoRAVariable(%q) = false", name)
		}
	}
	if IsLoRAVariable("/layer_01/ffn/w2") {
		t.Error("a base weight counted as an adapter")
	}
}
