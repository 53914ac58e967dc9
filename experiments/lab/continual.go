package lab

import (
	"fmt"
	"strings"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
)

// The continual-learning experiment (after Lin et al. 2025, "Continual Learning via Sparse Memory
// Finetuning"): a memory model and a dense model are pretrained on facts set A and general text until they
// recall A; each then learns facts set B, whose subjects are new, for a fixed number of steps, in every
// finetuning mode the model can do (train.FinetuneModes), at several learning rates and seeds. Learning is
// exact-match recall on B; forgetting is the drop of recall on A (and the rise of the NLL of held-out
// general text). The paper: at the same learning, sparse memory finetuning forgets far less than full
// finetuning or LoRA.

// ContinualDataset is the Spec.Dataset of the experiment's pretraining data: set A and general text.
const ContinualDataset = "continual"

// ContinualScale sizes the experiment at one preset (the preset's model, memory layer and batch shape;
// these sizes for the data and the finetuning).
type ContinualScale struct {
	// Facts is where the facts come from: "random-facts" (data.RandomFacts: made-up three-word names, each
	// with an answer of ValueWords random words, asked about by name), "bios" (the synthetic people's
	// attributes, six facts per person) or "unicode" (data.UnicodeNames).
	Facts      string
	ValueWords int
	// FactsA and FactsB are the facts of sets A (pretraining) and B (finetuning), with disjoint subjects
	// (rounded up to whole subjects).
	FactsA, FactsB int
	// GeneralPeople is how many synthetic biographies (prose only) join A in pretraining: the general text
	// whose held-out NLL measures forgetting beyond the facts; ValPeople are the held-out ones.
	GeneralPeople, ValPeople int
	// Exposures is how many times pretraining shows each fact of A, in Epochs passes over a corpus that
	// holds every fact Exposures/Epochs times and the general text once: the facts are learned by heart,
	// the general text is seen a few times, so that its held-out NLL measures general modelling rather
	// than memorised biographies.
	Exposures, Epochs int
	// FinetuneSteps is the length of every finetuning run (batches of B); EvalEvery its evaluation interval.
	FinetuneSteps, EvalEvery int
	// OldQA is how many of A's questions each evaluation decodes (0: all).
	OldQA int
	// NKeys is the memory model's half-keys (NKeys² slots; 0: the preset's); Dim and Layers override the
	// preset's base model when not 0.
	NKeys, Dim, Layers int
	// TopSlots is t of the sparse mode; LoRARank the adapters' rank.
	TopSlots, LoRARank int
	// BackgroundBatch is how many pretraining windows make one background batch of the sparse mode's
	// TF-IDF (train.Options.BackgroundBatch): a slot read by every background batch gets no weight, so
	// the unit must be small enough that a batch reads a small part of the table.
	BackgroundBatch int
	// LRs are the learning rates swept in each mode (train.FinetuneModes).
	LRs map[string][]float64
	// Modes are the modes run on each base model kind.
	Modes map[lm.Kind][]string
}

// ContinualScales are the experiment's sizes per preset.
var ContinualScales = map[string]ContinualScale{
	// tiny: the notebook's and CI's; minutes on two cores.
	"tiny": {
		Facts: "random-facts", ValueWords: 1, FactsA: 100, FactsB: 40, GeneralPeople: 60, ValPeople: 20,
		Exposures: 200, Epochs: 8, FinetuneSteps: 30, EvalEvery: 10, OldQA: 60,
		NKeys: 128, TopSlots: 100, LoRARank: 4, BackgroundBatch: 1,
		LRs:   map[string][]float64{train.FinetuneFull: {1e-3}, train.FinetuneLoRA: {1e-2}, train.FinetuneMemory: {100}, train.FinetuneSparse: {1000}},
		Modes: continualModes,
	},
	// small: the committed results (tiny's 2-layer dim-64 model with a 256² memory of 4 heads × 16 slots).
	"small": {
		Facts: "random-facts", ValueWords: 1, FactsA: 600, FactsB: 150, GeneralPeople: 200, ValPeople: 30,
		Exposures: 200, Epochs: 8, FinetuneSteps: 100, EvalEvery: 20, OldQA: 200,
		NKeys: 256, Dim: 64, Layers: 2, TopSlots: 200, LoRARank: 8, BackgroundBatch: 1,
		LRs: map[string][]float64{
			train.FinetuneFull:   {1e-4, 3e-4, 1e-3, 3e-3},
			train.FinetuneLoRA:   {1e-3, 3e-3, 1e-2, 3e-2},
			train.FinetuneMemory: {10, 30, 100, 300},
			train.FinetuneSparse: {100, 300, 1000, 3000},
		},
		Modes: continualModes,
	},
}

// continualModes are the modes each base model is finetuned in: all four for the memory model, full and
// LoRA for the dense one (it has no memory slots).
var continualModes = map[lm.Kind][]string{
	lm.KindMemory: {train.FinetuneFull, train.FinetuneLoRA, train.FinetuneMemory, train.FinetuneSparse},
	lm.KindDense:  {train.FinetuneFull, train.FinetuneLoRA},
}

// ContinualScaleOf returns the experiment's sizes at preset, or an error naming the presets that have them.
func ContinualScaleOf(preset string) (ContinualScale, error) {
	sc, ok := ContinualScales[preset]
	if !ok {
		var names []string
		for _, p := range PresetNames() {
			if _, ok := ContinualScales[p]; ok {
				names = append(names, p)
			}
		}
		return sc, fmt.Errorf("lab: the continual experiment has no preset %q; choose %s", preset, strings.Join(names, " or "))
	}
	return sc, nil
}

// ContinualOptimizer is the optimizer each mode runs with: SGD for the value-row modes (Lin et al. found
// it forgets less than AdamW there), AdamW for full finetuning and LoRA.
func ContinualOptimizer(mode string) string {
	if mode == train.FinetuneMemory || mode == train.FinetuneSparse {
		return train.OptimizerSGD
	}
	return train.OptimizerAdamW
}

// continualSources draws the facts of sets A and B together, so that their subjects are distinct, and
// the general text: biographies (prose only) of people who are no subject of A or B.
func continualSources(sc ContinualScale, seed int64) (a, b []data.Fact, general []string, err error) {
	var facts []data.Fact
	switch sc.Facts {
	case "random-facts":
		ds, err := data.RandomFacts(data.RandomFactsConfig{Facts: sc.FactsA + sc.FactsB, ValueWords: sc.ValueWords, Seed: seed})
		if err != nil {
			return nil, nil, nil, err
		}
		bios, err := data.Biographies(data.BioConfig{People: sc.GeneralPeople, Templates: 3, Seed: seed})
		if err != nil {
			return nil, nil, nil, err
		}
		facts, general = ds.Facts, bios.Documents[:sc.GeneralPeople]
	case "bios":
		perPerson := data.BioAttributes()
		people := (sc.FactsA+perPerson-1)/perPerson + (sc.FactsB+perPerson-1)/perPerson
		ds, err := data.Biographies(data.BioConfig{People: people + sc.GeneralPeople, Templates: 3, Seed: seed})
		if err != nil {
			return nil, nil, nil, err
		}
		facts, general = ds.Facts[:people*perPerson], ds.Documents[people:people+sc.GeneralPeople]
	case "unicode":
		if facts, err = data.UnicodeNames(sc.FactsA+sc.FactsB, seed); err != nil {
			return nil, nil, nil, err
		}
		bios, err := data.Biographies(data.BioConfig{People: sc.GeneralPeople, Templates: 3, Seed: seed})
		if err != nil {
			return nil, nil, nil, err
		}
		general = bios.Documents[:sc.GeneralPeople]
	default:
		return nil, nil, nil, fmt.Errorf("lab: continual facts=%q: must be random-facts, bios or unicode", sc.Facts)
	}
	a, rest := takeSubjects(facts, sc.FactsA)
	b, _ = takeSubjects(rest, sc.FactsB)
	return a, b, general, nil
}

// takeSubjects splits facts (grouped by subject) after the first whole subjects that hold at least n facts.
func takeSubjects(facts []data.Fact, n int) (taken, rest []data.Fact) {
	i := min(n, len(facts))
	for i > 0 && i < len(facts) && facts[i].Subject == facts[i-1].Subject {
		i++
	}
	return facts[:i], facts[i:]
}

// continualPretraining is the pretraining dataset of preset and seed: set A (every fact as a statement and
// a question-answer pair, all of them seen) and the general text (biographies, prose only).
func continualPretraining(preset string, seed int64) (*data.Dataset, error) {
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return nil, err
	}
	a, _, general, err := continualSources(sc, seed)
	if err != nil {
		return nil, err
	}
	ds := questionsOnly(fmt.Sprintf("continual-%s-A", preset), a)
	facts := ds.Documents
	for range sc.Exposures/sc.Epochs - 1 {
		ds.Documents = append(ds.Documents, facts...)
	}
	ds.Documents = append(ds.Documents, general...)
	ds.Meta["copies_per_epoch"] = sc.Exposures / sc.Epochs
	ds.Meta["general_people"] = sc.GeneralPeople
	return ds, nil
}

// ContinualNewFacts is set B of preset and seed: facts about subjects A does not have, as statements and
// question-answer pairs.
func ContinualNewFacts(preset string, seed int64) (*data.Dataset, error) {
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return nil, err
	}
	_, b, _, err := continualSources(sc, seed)
	if err != nil {
		return nil, err
	}
	return questionsOnly(fmt.Sprintf("continual-%s-B", preset), b), nil
}

// questionsOnly is a dataset that teaches facts as question-answer text only (one document each), every
// question seen.
func questionsOnly(name string, facts []data.Fact) *data.Dataset {
	ds := &data.Dataset{Name: name, Facts: facts, Meta: map[string]any{"generator": "continual", "facts": len(facts)}}
	for _, f := range facts {
		ds.TrainQA = append(ds.TrainQA, f.QA())
		ds.Documents = append(ds.Documents, data.QAText(f.QA()))
	}
	return ds
}

// ContinualPretrainSpec is the spec that pretrains a model of kind on set A and the general text, for
// Exposures epochs.
func ContinualPretrainSpec(preset string, kind lm.Kind, seed int64) (Spec, error) {
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return Spec{}, err
	}
	spec := continualBase(sc, preset, kind, seed)
	spec.Steps = 1
	plan, err := Build(spec)
	if err != nil {
		return Spec{}, err
	}
	tokens := data.CorpusTokens(plan.Tokenizer, plan.Dataset.Documents)
	if spec.Steps, err = data.ExposureSteps(tokens, plan.Train.SeqLen, plan.Train.BatchSize, sc.Epochs); err != nil {
		return Spec{}, err
	}
	return spec, nil
}

// ContinualBaseSpec is the spec of the experiment's pretrained model of kind at preset (its sizes, data and
// seed; not its length, which does not change the model).
func ContinualBaseSpec(preset string, kind lm.Kind, seed int64) (Spec, error) {
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return Spec{}, err
	}
	return continualBase(sc, preset, kind, seed), nil
}

// continualBase is ContinualBaseSpec at the scale sc.
func continualBase(sc ContinualScale, preset string, kind lm.Kind, seed int64) Spec {
	s := Spec{Name: "pretrain-" + string(kind), Preset: preset, Model: kind, Dataset: ContinualDataset, Seed: seed,
		Dim: sc.Dim, Layers: sc.Layers}
	if kind.IsMemory() {
		s.NKeys = sc.NKeys
	}
	return s
}

// DefaultFinetuneLR is a mode's learning rate when none is given: the tiny scale's (0 for an unknown mode).
func DefaultFinetuneLR(mode string) float64 {
	if lrs := ContinualScales["tiny"].LRs[mode]; len(lrs) > 0 {
		return lrs[0]
	}
	return 0
}
