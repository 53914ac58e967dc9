package lab

import (
	"fmt"
	"strings"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
)

// Plan is everything a run needs, resolved from a Spec and its Preset before
// any graph is built (so that every mistake is reported as an error first).
type Plan struct {
	Spec      Spec
	Preset    Preset
	Model     lm.Config
	Train     train.Config
	Dataset   *data.Dataset
	Tokenizer data.Tokenizer
	// ValWindows are token windows of text the model never trains on.
	ValWindows [][]int32
	// Warnings are one-line notes about values Build changed or input it skipped (a knn lowered to
	// n_keys, bad lines of a lenient facts file), for the user to see before training.
	Warnings []string
}

// Build resolves a spec: dataset, tokenizer, model and training configs.
func Build(s Spec) (*Plan, error) {
	if s.Preset == "" {
		s.Preset = "tiny"
	}
	if s.Model == "" {
		s.Model = lm.KindDense
	}
	if s.Seed == 0 {
		s.Seed = 1
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	p, err := PresetByName(s.Preset)
	if err != nil {
		return nil, err
	}
	plan := &Plan{Spec: s, Preset: p}
	if s.Exposures > 0 {
		plan.Preset.EvalQALimit = 0 // stored bits count every fact: the last evaluation decodes them all
	}
	warning, err := s.checkKNN(p)
	if err != nil {
		return nil, err
	}
	if warning != "" {
		plan.Warnings = append(plan.Warnings, warning)
	}
	if plan.Dataset, warning, err = s.dataset(p); err != nil {
		return nil, err
	}
	if warning != "" {
		plan.Warnings = append(plan.Warnings, warning)
	}
	var heldOut []string // biographies of unseen people: held-out text
	if valPeople := s.heldOutPeople(p); valPeople > 0 {
		val, err := data.Biographies(data.BioConfig{People: valPeople, Templates: p.Templates, Seed: s.Seed + 1_000_003})
		if err != nil {
			return nil, err
		}
		heldOut = val.Documents[:valPeople]
	}
	// A word-level vocabulary from the training text: a fact costs a few
	// tokens instead of dozens of bytes; unknown words fall back to bytes.
	texts := plan.Dataset.Documents
	if s.Dataset == ContinualDataset {
		// The continual experiment's language includes its new facts and its held-out text: untrained,
		// but not out of vocabulary, so that their NLL measures the model rather than byte fallbacks.
		newFacts, err := ContinualNewFacts(p.Name, s.Seed)
		if err != nil {
			return nil, err
		}
		texts = append(append(append([]string{}, texts...), newFacts.Documents...), heldOut...)
	}
	plan.Tokenizer = data.NewWordTokenizer(texts, 0)

	tc := p.Train
	tc.Seed = s.Seed
	if s.Steps > 0 {
		tc.Steps = s.Steps
		tc.EvalEvery = min(tc.EvalEvery, s.Steps)
		tc.CheckpointEvery = min(tc.CheckpointEvery, s.Steps)
		tc.WarmupSteps = min(tc.WarmupSteps, max(1, s.Steps/10))
	}
	if s.CheckpointEvery > 0 {
		tc.CheckpointEvery = s.CheckpointEvery
	}
	if s.LR > 0 {
		tc.LR, tc.ValueLR = s.LR, s.LR
	}
	if s.ValueLRx > 0 {
		tc.ValueLR = s.ValueLRx * tc.LR
	}
	if s.BatchSize > 0 {
		tc.BatchSize = s.BatchSize
	}
	if s.SeqLen > 0 {
		tc.SeqLen = s.SeqLen
	}
	if s.Exposures > 0 {
		if tc, err = exposureTraining(tc, plan.Tokenizer, plan.Dataset, s.Exposures, s.Steps > 0); err != nil {
			return nil, err
		}
	}
	plan.Train = tc
	if err := tc.Validate(); err != nil {
		return nil, err
	}

	base := p.Model
	base.Vocab = plan.Tokenizer.VocabSize()
	if s.Layers > 0 {
		base.Layers = s.Layers
	}
	if s.Dim > 0 {
		base.Dim = s.Dim
	}
	if s.SeqLen > 0 || s.Exposures > 0 {
		base.SeqLen = tc.SeqLen // the context the model trains on, which its FLOPs count
	}
	if plan.Model, err = s.modelConfig(base, p); err != nil {
		return nil, err
	}
	if err := plan.Model.Validate(); err != nil {
		return nil, err
	}
	// Where the memory layers run. Only the host path is recorded in the training config (the graph path
	// is the trainer's default), so that graph-path runs keep the identity they had before the host path.
	path := s.MemoryPath
	if path == "" {
		path = DefaultMemoryPath(plan.Model.Model, true)
	}
	if path == train.PathHost {
		plan.Train.MemoryPath = train.PathHost
		if _, err := plan.Model.Split(); err != nil {
			return nil, err
		}
	}
	if plan.Model.SeqLen < tc.SeqLen {
		return nil, fmt.Errorf("lab: model seq_len=%d is shorter than train seq_len=%d", plan.Model.SeqLen, tc.SeqLen)
	}

	if len(heldOut) > 0 {
		plan.ValWindows = data.PackDocuments(plan.Tokenizer, heldOut, tc.SeqLen)
	}
	return plan, nil
}

// heldOutPeople is how many unseen people's biographies measure the held-out text NLL: none for data
// without general text.
func (s Spec) heldOutPeople(p Preset) int {
	switch s.Dataset {
	case "", "bios":
		return p.ValPeople
	case ContinualDataset:
		return ContinualScales[p.Name].ValPeople
	}
	return 0
}

// dataset builds the spec's dataset; warning summarises the lines a lenient facts file skipped.
func (s Spec) dataset(p Preset) (ds *data.Dataset, warning string, err error) {
	name := s.Dataset
	switch {
	case name == ContinualDataset:
		ds, err = continualPretraining(p.Name, s.Seed)
		return ds, "", err
	case name == "" || name == "bios":
		people := p.People
		if s.People > 0 {
			people = s.People
		}
		ds, err = data.Biographies(data.BioConfig{People: people, Templates: p.Templates, Seed: s.Seed})
		return ds, "", err
	case name == RandomFactsDataset:
		ds, err = data.RandomFacts(data.RandomFactsConfig{Facts: s.Facts, ValueWords: s.ValueWords, Seed: s.Seed})
		return ds, "", err
	case strings.HasPrefix(name, "tsv:"):
		path := strings.TrimPrefix(name, "tsv:")
		facts, report, err := data.LoadFactsTSVWith(path, data.TSVOptions{Lenient: s.LenientTSV})
		if err != nil {
			return nil, "", err
		}
		if sum := report.Summary(); sum != "" {
			warning = path + ": " + sum
		}
		ds, err = data.FactsDataset(name, facts, 0.5, s.Seed)
		return ds, warning, err
	}
	var facts []data.Fact
	switch name {
	case "unicode":
		facts, err = data.UnicodeNames(s.Facts, s.Seed)
	case "languages":
		facts, err = data.LanguageNames(s.Facts, s.Seed)
	case "regions":
		facts, err = data.RegionNames(s.Facts, s.Seed)
	default:
		return nil, "", fmt.Errorf("lab: dataset=%q: must be bios, %s, unicode, languages, regions, continual or tsv:PATH", name, RandomFactsDataset)
	}
	if err != nil {
		return nil, "", err
	}
	ds, err = data.FactsDataset(name, facts, 0.5, s.Seed)
	return ds, "", err
}

// modelConfig builds the model of the spec's kind from the base.
func (s Spec) modelConfig(base lm.Config, p Preset) (lm.Config, error) {
	mem := s.memoryConfig(p)
	if len(s.MemLayers) > 0 {
		base.MemoryLayers = s.MemLayers
	}
	switch s.Model {
	case lm.KindDense:
		if s.DenseScale > 0 {
			by := s.ScaleBy
			if by == "" {
				by = "width"
			}
			return lm.DenseScaled(base, s.DenseScale, by)
		}
		return lm.Variant(base, lm.KindDense, mem)
	case lm.KindMoE:
		if s.MoEExperts > 0 {
			c := base
			c.Model = lm.KindMoE
			c.MemoryLayers = nil
			c.MoE = lm.MoEConfig{Experts: s.MoEExperts, TopK: 1, BalanceCoef: lm.DefaultBalanceCoef}
			return c, nil
		}
		return lm.Variant(base, lm.KindMoE, mem)
	case lm.KindMemoryPlus:
		c, err := lm.Variant(base, lm.KindMemoryPlus, mem)
		if err != nil || (s.SwiLU == nil && s.QKNorm == nil) {
			return c, err
		}
		// Ablations of Memory+: the same placement and shared table, with the
		// gate or the normalisation switched.
		c.Model = lm.KindMemory
		c.MemoryLayers = lm.Config{Layers: c.Layers, Model: lm.KindMemoryPlus, MemoryLayers: c.MemoryLayers}.Placement()
		c.Memory.SwiLU, c.Memory.QKNorm = true, true
		if s.SwiLU != nil {
			c.Memory.SwiLU = *s.SwiLU
		}
		if s.QKNorm != nil {
			c.Memory.QKNorm = *s.QKNorm
		}
		c.Memory.ValuesScope = "/" + lm.DefaultValuesScope
		return c, nil
	case lm.KindMemory, lm.KindPEER:
		return lm.Variant(base, s.Model, mem)
	}
	return lm.Config{}, fmt.Errorf("lab: model=%q: must be one of %v", s.Model, lm.Kinds)
}
