package lab

import (
	"strings"
	"testing"
)

// TestJudgePair: a held-out NLL difference inside the seed spread resolves
// nothing; outside it the two metrics decide; one seed has no spread to use, and
// the verdict says so.
func TestJudgePair(t *testing.T) {
	row := func(seeds int, nll, std float64) Row {
		return Row{Seeds: seeds, Mean: map[string]float64{heldNLL: nll}, Std: map[string]float64{heldNLL: std}}
	}
	guess = 5 // every NLL below is above it
	for _, tc := range []struct {
		a, b       Row
		betterSeen bool
		want       string
	}{
		{row(2, 6.58, 0.11), row(2, 6.62, 0.07), true, "within the seed spread (held-out NLL difference -0.04, spread ±0.11)"},
		{row(2, 6.58, 0.11), row(2, 7.20, 0.20), true, "holds"},
		{row(2, 7.52, 0.28), row(2, 6.47, 0.05), false, "does not hold"},
		{row(2, 6.50, 0.05), row(2, 6.70, 0.05), false, "mixed"},
		{row(1, 6.58, 0), row(1, 6.62, 0), true, "holds"},
		{row(2, 6.58, 0.01), row(1, 6.62, 0), true, "holds"},
	} {
		got := judgePair(tc.a, tc.b, tc.betterSeen)
		if !strings.HasPrefix(got, tc.want) || !strings.Contains(got, "above uniform guessing") {
			t.Errorf("judgePair(%v, %v) = %q, want prefix %q and the guessing note", tc.a.Mean, tc.b.Mean, got, tc.want)
		}
		if single := tc.a.Seeds < 2 || tc.b.Seeds < 2; strings.Contains(got, "one seed only") != single {
			t.Errorf("judgePair(%d seeds, %d seeds) = %q: the one-seed warning should appear exactly when a side has one seed",
				tc.a.Seeds, tc.b.Seeds, got)
		}
	}
}
