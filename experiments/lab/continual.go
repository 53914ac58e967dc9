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
	// Facts is where the facts come from: "bios" (the synthetic people's attributes, six facts per person,
	// asked about by name) or "unicode" (data.UnicodeNames).
	Facts string
	// FactsA and FactsB are the facts of sets A (pretraining) and B (finetuning), with disjoint subjects
	// (rounded up to whole subjects).
	FactsA, FactsB int
	// GeneralPeople is how many synthetic biographies (prose only) join A in pretraining: the general text
	// whose held-out NLL measures forgetting beyond the facts; ValPeople are the held-out ones.
	GeneralPeople, ValPeople int
	// Exposures is how many times pretraining shows each document (epochs of the packed corpus).
	Exposures int
	// FinetuneSteps is the length of every finetuning run (batches of B); EvalEvery its evaluation interval.
	FinetuneSteps, EvalEvery int
	// OldQA is how many of A's questions each evaluation decodes (0: all).
	OldQA int
	// TopSlots is t of the sparse mode; LoRARank the adapters' rank.
	TopSlots, LoRARank int
	// LRs are the learning rates swept in each mode (train.FinetuneModes).
	LRs map[string][]float64
	// Modes are the modes run on each base model kind.
	Modes map[lm.Kind][]string
}

// ContinualScales are the experiment's sizes per preset.
var ContinualScales = map[string]ContinualScale{
	"tiny": {
		Facts: "bios", FactsA: 120, FactsB: 42, GeneralPeople: 60, ValPeople: 20, Exposures: 60,
		FinetuneSteps: 20, EvalEvery: 5, OldQA: 60, TopSlots: 64, LoRARank: 4,
		LRs: map[string][]float64{train.FinetuneFull: {1e-3}, train.FinetuneLoRA: {3e-3}, train.FinetuneMemory: {10}, train.FinetuneSparse: {10}},
		Modes: map[lm.Kind][]string{
			lm.KindMemory: {train.FinetuneFull, train.FinetuneLoRA, train.FinetuneMemory, train.FinetuneSparse},
			lm.KindDense:  {train.FinetuneFull, train.FinetuneLoRA},
		},
	},
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
		return nil, nil, nil, fmt.Errorf("lab: continual facts=%q: must be bios or unicode", sc.Facts)
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
	ds, err := data.FactsDataset(fmt.Sprintf("continual-%s-A", preset), a, 1, seed)
	if err != nil {
		return nil, err
	}
	ds.Documents = append(ds.Documents, general...)
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
	return data.FactsDataset(fmt.Sprintf("continual-%s-B", preset), b, 1, seed)
}

// ContinualPretrainSpec is the spec that pretrains a model of kind on set A and the general text, for
// Exposures epochs.
func ContinualPretrainSpec(preset string, kind lm.Kind, seed int64) (Spec, error) {
	sc, err := ContinualScaleOf(preset)
	if err != nil {
		return Spec{}, err
	}
	spec := Spec{Name: "pretrain-" + string(kind), Preset: preset, Model: kind, Dataset: ContinualDataset, Seed: seed, Steps: 1}
	plan, err := Build(spec)
	if err != nil {
		return Spec{}, err
	}
	windows := len(data.PackDocuments(plan.Tokenizer, plan.Dataset.Documents, plan.Train.SeqLen))
	spec.Steps = (sc.Exposures*windows + plan.Train.BatchSize - 1) / plan.Train.BatchSize
	return spec, nil
}

// DefaultFinetuneLR is a mode's learning rate when none is given: the middle of the rates the committed
// continual experiment swept for it.
func DefaultFinetuneLR(mode string) float64 {
	switch mode {
	case train.FinetuneMemory, train.FinetuneSparse:
		return 10
	case train.FinetuneLoRA:
		return 3e-3
	}
	return 1e-3
}
