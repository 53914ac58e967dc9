package lab

import (
	"fmt"
	"sort"
	"strings"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
	"github.com/memlayers/memlayers/memlayer"
)

// Preset fixes the scale of an experiment: the base model, the memory layer,
// the training budget and the size of the synthetic-biography dataset.
type Preset struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Model       lm.Config       `json:"model"` // Vocab is set from the tokenizer
	Memory      memlayer.Config `json:"memory"`
	Train       train.Config    `json:"train"`
	People      int             `json:"people"`    // synthetic biographies
	Templates   int             `json:"templates"` // sentence variants per attribute
	// EvalQALimit caps the questions decoded per evaluation (0: all).
	EvalQALimit int `json:"eval_qa_limit"`
	// ValPeople is the number of unseen people whose biographies measure text NLL.
	ValPeople int `json:"val_people"`
}

// Presets returns the known presets by name.
//
//   - tiny: minutes per run on 2 cores (tests, README, notebooks).
//   - small: twice tiny's width, layers, people and training tokens, sized
//     to what 2 cores train in minutes to half an hour per run.
//   - gpu134m, gpu373m: bases sized like the paper's 134M and 373M models
//     (for GOMLX_BACKEND=xla:cuda); far too slow for a CPU.
//
// Measured run times: docs/performance.md.
func Presets() map[string]Preset {
	tiny := Preset{
		Name:        "tiny",
		Description: "2-layer dim-64 model, 120 people, 250 steps of 1024 tokens",
		Model:       lm.Config{Dim: 64, Layers: 2, Heads: 4, SeqLen: 64, TiedEmbeddings: true, Model: lm.KindDense},
		Memory:      memlayer.Config{Heads: 4, KNN: 8, NKeys: 32, KDim: 64, QueryBias: true},
		Train:       trainConfig(250, 16, 64, 3e-3, 25, 250),
		People:      120, Templates: 3, EvalQALimit: 60, ValPeople: 20,
	}
	small := Preset{
		Name:        "small",
		Description: "4-layer dim-128 model, 240 people, 500 steps of 1024 tokens",
		Model:       lm.Config{Dim: 128, Layers: 4, Heads: 4, SeqLen: 64, TiedEmbeddings: true, Model: lm.KindDense},
		Memory:      memlayer.Config{Heads: 4, KNN: 16, NKeys: 64, KDim: 128, QueryBias: true},
		Train:       trainConfig(500, 16, 64, 2e-3, 50, 250),
		People:      240, Templates: 3, EvalQALimit: 120, ValPeople: 30,
	}
	gpu134 := Preset{
		Name:        "gpu134m",
		Description: "12-layer dim-768 base (≈ the paper's 134M, word-level vocab), 1024² memory; GPU only",
		Model:       lm.Config{Dim: 768, Layers: 12, Heads: 12, SeqLen: 512, Model: lm.KindDense},
		Memory:      memlayer.Config{Heads: 4, KNN: 32, NKeys: 1024, KDim: 384, QueryBias: true},
		Train:       trainConfig(20000, 32, 512, 3e-4, 1000, 2000),
		People:      20000, Templates: 6, EvalQALimit: 2000, ValPeople: 500,
	}
	gpu373 := gpu134
	gpu373.Name = "gpu373m"
	gpu373.Description = "24-layer dim-1024 base (≈ the paper's 373M), 1024² memory; GPU only"
	gpu373.Model = lm.Config{Dim: 1024, Layers: 24, Heads: 16, SeqLen: 512, Model: lm.KindDense}
	gpu373.Memory.KDim = 512
	return map[string]Preset{"tiny": tiny, "small": small, "gpu134m": gpu134, "gpu373m": gpu373}
}

func trainConfig(steps, batch, seqLen int, lr float64, warmup, evalEvery int) train.Config {
	c := train.DefaultConfig()
	c.Steps, c.BatchSize, c.SeqLen, c.LR, c.WarmupSteps = steps, batch, seqLen, lr, warmup
	c.EvalEvery, c.CheckpointEvery = evalEvery, evalEvery
	c.ValueLR = lr // the value-LR ablation varies the ratio; the paper uses 10× the base rate
	c.MaxAnswerTokens = 12
	// Every preset trains for many epochs over a small corpus, where windows
	// packed once get memorised whole (data/repack.go; what it changed:
	// docs/training-history.md).
	c.ShuffleDocuments = true
	return c
}

// PresetByName returns a preset or an error listing the valid names.
func PresetByName(name string) (Preset, error) {
	p, ok := Presets()[name]
	if !ok {
		return Preset{}, fmt.Errorf("lab: preset %q unknown; choose one of %s", name, strings.Join(PresetNames(), ", "))
	}
	return p, nil
}

// PresetNames lists the presets, smallest first.
func PresetNames() []string {
	names := []string{}
	for n := range Presets() {
		names = append(names, n)
	}
	order := map[string]int{"tiny": 0, "small": 1, "gpu134m": 2, "gpu373m": 3}
	sort.Slice(names, func(i, j int) bool { return order[names[i]] < order[names[j]] })
	return names
}
