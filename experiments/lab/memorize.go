package lab

import (
	"fmt"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/train"
)

// RandomFactsDataset is the Spec.Dataset name of data.RandomFacts.
const RandomFactsDataset = "random-facts"

// curvePoints is how many evaluations a run in the capacity regime makes
// (its learning curve); the last one scores every seen fact.
const curvePoints = 10

// exposureTraining sizes tc so that every document of ds is seen exposures
// times (data.ExposureSteps): when all documents have the same length, the
// window is shortened to a whole number of them (data.AlignedSeqLen), so that
// no fact is cut from its question; evaluations are spread over the run.
// keepSteps leaves tc.Steps as set (a quick look with fewer steps).
func exposureTraining(tc train.Config, tok data.Tokenizer, ds *data.Dataset, exposures int, keepSteps bool) (train.Config, error) {
	if n := data.UniformDocTokens(tok, ds.Documents); n > 0 {
		tc.SeqLen = data.AlignedSeqLen(tc.SeqLen, n)
	}
	steps, err := data.ExposureSteps(data.CorpusTokens(tok, ds.Documents), tc.SeqLen, tc.BatchSize, exposures)
	if err != nil {
		return tc, err
	}
	if !keepSteps {
		tc.Steps = steps
		tc.EvalEvery = max(1, steps/curvePoints)
		tc.CheckpointEvery = tc.EvalEvery
		tc.WarmupSteps = min(tc.WarmupSteps, max(1, steps/10))
	}
	if words, ok := ds.Meta["value_words"].(int); ok {
		tc.MaxAnswerTokens = words + 1 // the answer's words and the newline that ends it
	}
	return tc, nil
}

// memorizeScale sizes the memorize sweep at one preset: a dense base small
// enough that its capacity (about 2 bits per parameter after 1,000
// exposures, 1 after 100, per Allen-Zhu & Li) is exceeded by the facts, the
// facts and exposures, and the memory layer, whose key scoring must keep
// every memory model within ±10% of the base's FLOPs per token.
type memorizeScale struct {
	Dim, Layers, Batch, SeqLen int
	LR                         float64 // base learning rate (0: the preset's)
	// ValueLRx is the memory models' value learning rate ÷ the base rate: the paper's 10 (1e-3 vs 1e-4),
	// which stored 4–41% more bits than 1 at the tiny preset (docs/memorize-pilots.md).
	ValueLRx          float64
	Facts, ValueWords int // random facts: how many, and words (8 bits each) per answer
	People            int // the biographies variant
	Exposures         int // of every random fact
	BioExposures      int // of every biography (0: Exposures)
	// MemoryPlusLayers places Memory+'s memory layers (nil: lm's default, three around the middle); at
	// most half of the base's FFN blocks, as in the paper.
	MemoryPlusLayers    []int
	MemHeads, KNN, KDim int
	NKeys               []int // memory sizes (half-keys) of the memory-N×N runs
	BioNKeys            []int // … and of the biographies variant
	// BioReferences adds the dense ×2 and ×4 models to the biographies variant.
	BioReferences bool
	// MoEAndPEER adds the MoE and PEER models, matched to the memory of MatchKeys.
	MoEAndPEER bool
	// MatchKeys is the memory size that Memory+, MoE and PEER are built at
	// (MoE and PEER matched in parameters to the vanilla memory of that size,
	// as in the compare sweep).
	MatchKeys int
}

// memorizeScales are the memorize sweep's sizes; see docs/memorize-pilots.md
// for the pilots that chose them and the measured times.
var memorizeScales = map[string]memorizeScale{
	// tiny: a newcomer's look at the pipeline and charts in under 20 minutes, 7 runs per seed: the dense
	// references, three memory sizes and Memory+ (no MoE, no PEER, no biographies).
	"tiny": {Dim: 32, Layers: 6, Batch: 64, SeqLen: 64, ValueLRx: 10, Facts: 300, ValueWords: 4, Exposures: 100,
		MemHeads: 2, KNN: 8, KDim: 16, NKeys: []int{16, 64, 256}, MatchKeys: 64},
	// small: the committed results. A 2-layer base (42k parameters) that pilot C saw near its capacity
	// at 2,000 facts and 300 exposures, with pilot C's learning rate (docs/memorize-pilots.md); Memory+ replaces one of its two FFNs.
	// Four heads of 16-dim keys keep memories of 8² to 128² slots within ±10% of the base's FLOPs (one
	// layer in two is a bigger share of the compute than in tiny, where 2 heads suffice).
	"small": {Dim: 32, Layers: 2, Batch: 64, SeqLen: 64, LR: 3e-3, ValueLRx: 10, Facts: 2000, ValueWords: 4, People: 240, Exposures: 300,
		BioExposures: 100, MemHeads: 4, KNN: 8, KDim: 16, NKeys: []int{8, 16, 32, 64, 128}, BioNKeys: []int{16, 64, 128},
		BioReferences: true, MoEAndPEER: true, MatchKeys: 64, MemoryPlusLayers: []int{1}},
}

// memorizeRuns adds the memorize sweep's runs at preset: on random facts the
// dense base, dense ×2 and ×4 (by width), memory at every size, Memory+, and
// MoE and PEER when MoEAndPEER; on biographies ("bios-" names), when there
// are BioNKeys, the dense base, ×2 and ×4 when BioReferences, and memory at
// the BioNKeys sizes.
func memorizeRuns(preset string, add func(Spec)) error {
	sc, ok := memorizeScales[preset]
	if !ok {
		return fmt.Errorf("lab: sweep memorize has no preset %q; choose tiny or small", preset)
	}
	common := func(s Spec) Spec {
		s.Dim, s.Layers, s.BatchSize, s.SeqLen, s.Exposures = sc.Dim, sc.Layers, sc.Batch, sc.SeqLen, sc.Exposures
		s.LR = sc.LR
		if s.Model != lm.KindDense {
			s.MemHeads, s.KNN, s.KDim = sc.MemHeads, sc.KNN, sc.KDim
		}
		if s.Model.IsMemory() {
			s.ValueLRx = sc.ValueLRx
		}
		return s
	}
	facts := func(s Spec) {
		s.Dataset, s.Facts, s.ValueWords = RandomFactsDataset, sc.Facts, sc.ValueWords
		add(common(s))
	}
	bios := func(s Spec) {
		s.Name, s.Dataset, s.People = "bios-"+s.Name, "bios", sc.People
		s = common(s)
		if sc.BioExposures > 0 {
			s.Exposures = sc.BioExposures
		}
		add(s)
	}
	// dense adds the dense base to a data set and, with scaled, the dense models with 2× and 4× its FLOPs.
	dense := func(to func(Spec), scaled bool) {
		to(Spec{Name: "dense", Model: lm.KindDense})
		if scaled {
			to(Spec{Name: "dense-x2", Model: lm.KindDense, DenseScale: 2, ScaleBy: "width"})
			to(Spec{Name: "dense-x4", Model: lm.KindDense, DenseScale: 4, ScaleBy: "width"})
		}
	}
	dense(facts, true)
	if len(sc.BioNKeys) > 0 {
		dense(bios, sc.BioReferences)
	}
	for _, n := range sc.NKeys {
		facts(Spec{Name: fmt.Sprintf("memory-%dx%d", n, n), Model: lm.KindMemory, NKeys: n})
	}
	facts(Spec{Name: "memory+", Model: lm.KindMemoryPlus, NKeys: sc.MatchKeys, MemLayers: sc.MemoryPlusLayers})
	if sc.MoEAndPEER {
		facts(Spec{Name: "moe", Model: lm.KindMoE, NKeys: sc.MatchKeys})
		facts(Spec{Name: "peer", Model: lm.KindPEER, NKeys: sc.MatchKeys})
	}
	for _, n := range sc.BioNKeys {
		bios(Spec{Name: fmt.Sprintf("memory-%dx%d", n, n), Model: lm.KindMemory, NKeys: n})
	}
	return nil
}

// WithData sets the random facts and the exposures of every run of a
// memorize sweep (0 keeps the preset's): to size the sweep from the command
// line. Results files are per run name, so runs made with other sizes are
// reported as made with a different dataset or training config, never mixed.
func (s Sweep) WithData(facts, exposures int) Sweep {
	return s.withEachRun(func(r *Spec) {
		if facts > 0 && r.Dataset == RandomFactsDataset {
			r.Facts = facts
		}
		if exposures > 0 && r.Exposures > 0 {
			r.Exposures = exposures
		}
	})
}
