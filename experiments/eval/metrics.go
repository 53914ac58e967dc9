package eval

import "strings"

// ExactMatch reports whether pred and gold are equal after Normalize.
func ExactMatch(pred, gold string) bool { return Normalize(pred) == Normalize(gold) }

// F1 is the SQuAD token-level F1 between the normalised answers: the harmonic mean of precision (shared
// tokens / predicted tokens) and recall (shared tokens / gold tokens), counting repeated tokens at most as
// often as they occur in both. It gives partial credit, e.g. "Los Angeles" for "Los Angeles, California".
// If either side normalises to no tokens, F1 is 1 when both do and 0 otherwise.
func F1(pred, gold string) float64 {
	p, g := strings.Fields(Normalize(pred)), strings.Fields(Normalize(gold))
	if len(p) == 0 || len(g) == 0 {
		if len(p) == len(g) {
			return 1
		}
		return 0
	}
	goldCounts := make(map[string]int, len(g))
	for _, t := range g {
		goldCounts[t]++
	}
	common := 0
	for _, t := range p {
		if goldCounts[t] > 0 {
			goldCounts[t]--
			common++
		}
	}
	if common == 0 {
		return 0
	}
	precision := float64(common) / float64(len(p))
	recall := float64(common) / float64(len(g))
	return 2 * precision * recall / (precision + recall)
}

// MatchesAny reports whether pred exactly matches one of the accepted answers (none: false).
func MatchesAny(pred string, golds []string) bool {
	for _, g := range golds {
		if ExactMatch(pred, g) {
			return true
		}
	}
	return false
}

// BestF1 is the largest F1 of pred against any of the accepted answers (none: 0), the TriviaQA rule.
func BestF1(pred string, golds []string) float64 {
	best := 0.0
	for _, g := range golds {
		best = max(best, F1(pred, g))
	}
	return best
}
