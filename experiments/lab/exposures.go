package lab

import (
	"math"

	"github.com/memlayers/memlayers/experiments/data"
)

// A model memorises a fact only after seeing it many times: on 428 real facts at the tiny preset, exact
// match was 0% after 3 and 10 exposures, about a third after 30 and 100% after 100
// (docs/facts-exposures.md). Every fact's statement appears once in the training text, so the number of
// exposures is the number of passes (epochs) training makes over that text.

// MinExposures is the number of exposures per fact below which the facts command warns.
const MinExposures = 10

// RecommendedExposures is what the facts command suggests instead.
const RecommendedExposures = 100

// epochWindows is the number of training windows in one pass over the plan's text, packed as the
// trainer packs it (data.PackDocuments).
func (p *Plan) epochWindows() int {
	return len(data.PackDocuments(p.Tokenizer, p.Dataset.Documents, p.Train.SeqLen))
}

// Exposures estimates how many times training shows each fact: steps × batch windows over the windows
// of one epoch.
func (p *Plan) Exposures() float64 {
	return float64(p.Train.Steps) * float64(p.Train.BatchSize) / float64(max(1, p.epochWindows()))
}

// StepsForExposures returns the training steps that show each fact about n times (at least one step).
func (p *Plan) StepsForExposures(n float64) int {
	steps := math.Ceil(n * float64(p.epochWindows()) / float64(p.Train.BatchSize))
	return int(max(1, min(steps, math.MaxInt32)))
}
