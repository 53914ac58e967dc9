package lab

import (
	"strings"
	"testing"
)

// TestJudgePair: a metric whose difference is inside the seed spread decides
// nothing; outside it the metrics decide and must agree; one seed has no
// spread to use, and the verdict says so.
func TestJudgePair(t *testing.T) {
	// row has a held-out NLL and a seen EM, each with a spread over seeds.
	row := func(seeds int, nll, nllStd, em, emStd float64) Row {
		return Row{Seeds: seeds, Mean: map[string]float64{heldNLL: nll, seenEM: em},
			Std: map[string]float64{heldNLL: nllStd, seenEM: emStd}}
	}
	guess = 5 // every NLL below is above it
	for _, tc := range []struct {
		name string
		a, b Row
		want string
	}{
		{"both inside the spread", row(2, 6.58, 0.11, 0.50, 0.10), row(2, 6.62, 0.07, 0.45, 0.05),
			"within the seed spread (held-out NLL difference -0.04, spread ±0.11; seen EM difference +5.0 points, spread ±10.0)"},
		{"both better", row(2, 6.58, 0.11, 0.80, 0.05), row(2, 7.20, 0.20, 0.30, 0.05), "holds"},
		{"both worse", row(2, 7.52, 0.28, 0.02, 0.01), row(2, 6.47, 0.05, 0.13, 0.02), "does not hold"},
		{"metrics disagree", row(2, 6.50, 0.05, 0.10, 0.01), row(2, 6.70, 0.05, 0.30, 0.01), "mixed"},
		// Held-out NLL inside the spread, seen EM far apart: seen EM decides.
		{"seen EM decides", row(2, 6.67, 0.09, 0.04, 0.01), row(2, 6.39, 0.29, 0.65, 0.05),
			"does not hold (held-out NLL difference +0.28, spread ±0.29: within the seed spread)"},
		{"held-out NLL decides", row(2, 5.82, 0.02, 0.85, 0.0), row(2, 5.98, 0.02, 0.59, 0.30),
			"holds (seen EM difference +26.0 points, spread ±30.0: within the seed spread)"},
		{"one seed each", row(1, 6.58, 0, 0.5, 0), row(1, 6.62, 0, 0.4, 0), "holds"},
		{"one seed on a side: no spread", row(2, 6.58, 0.5, 0.5, 0.3), row(1, 6.62, 0, 0.4, 0), "holds"},
	} {
		got, notes := judgePair(tc.a, tc.b, seenEM)
		all := strings.Join(notes, "; ")
		if !strings.HasPrefix(got, tc.want) || !strings.Contains(all, "above uniform guessing") {
			t.Errorf("%s: judgePair = %q, notes %q; want prefix %q and the guessing note", tc.name, got, notes, tc.want)
		}
		if single := tc.a.Seeds < 2 || tc.b.Seeds < 2; strings.Contains(all, "one seed only") != single {
			t.Errorf("%s: judgePair notes %q: the one-seed warning should appear exactly when a side has one seed", tc.name, notes)
		}
	}
	// Seen NLL is lower-is-better: a lower seen NLL counts for a.
	a := Row{Seeds: 1, Mean: map[string]float64{heldNLL: 6.0, seenNLL: 1.0}, Std: map[string]float64{}}
	b := Row{Seeds: 1, Mean: map[string]float64{heldNLL: 6.2, seenNLL: 3.0}, Std: map[string]float64{}}
	if got, _ := judgePair(a, b, seenNLL); !strings.HasPrefix(got, "holds") {
		t.Errorf("judgePair on seen NLL 1.0 vs 3.0 = %q, want holds", got)
	}
}

// TestCapacityClaim: the verdict compares the dense peak with Allen-Zhu & Li's
// 2 bits per parameter, and the most facts each model kind recalled in all
// (memory's extra parameters must add recalled bits, not just parameters).
func TestCapacityClaim(t *testing.T) {
	row := func(name string, people, em, params float64) Row {
		return Row{Name: name, Seeds: 2, Std: map[string]float64{}, Mean: map[string]float64{
			"people": people, seenEM: em, "eval_qa_em": 0, "total_params": params}}
	}
	rows := []Row{row("dense-people120", 120, 1.0, 1e6), row("dense-people240", 240, 0.75, 1e6),
		row("memory-people120", 120, 1.0, 1.5e6), row("memory-people240", 240, 0.6, 1.5e6)}
	c := capacityClaims(rows)[0]
	if !strings.Contains(c.Verdict, "far below 2") || !strings.Contains(c.Verdict, "memory adds capacity: does not hold") {
		t.Errorf("verdict %q: want far below 2 and no added capacity (memory recalls 0.6·240 < 0.75·240 people's seen facts)", c.Verdict)
	}
	if strings.Contains(c.Verdict, "0.00 ") || len(c.Notes) > 0 {
		t.Errorf("verdict %q, notes %q: the peak must show its digits, and both rows have two seeds", c.Verdict, c.Notes)
	}
	rows[3].Mean[seenEM] = 0.9
	if c := capacityClaims(rows)[0]; !strings.Contains(c.Verdict, "memory adds capacity: holds") {
		t.Errorf("verdict %q: memory now recalls more facts in all", c.Verdict)
	}
	// A difference smaller than the seeds' spread of exact match decides nothing.
	rows[1].Std[seenEM], rows[3].Std[seenEM] = 0.2, 0.2
	if c := capacityClaims(rows)[0]; !strings.Contains(c.Verdict, "memory adds capacity: within the seed spread") {
		t.Errorf("verdict %q: 90%% vs 75%% seen EM with a spread of ±20 points is not a result", c.Verdict)
	}
}

// TestWriteClaimsFootnotes: a note shared by several verdicts is written once,
// below the table, and every verdict it qualifies refers to it by number.
func TestWriteClaimsFootnotes(t *testing.T) {
	var b strings.Builder
	WriteClaims(&b, []Claim{
		{Paper: "p1", Measured: "m1", Verdict: "holds", Notes: []string{"shared note", "one seed"}},
		{Paper: "p2", Measured: "m2", Verdict: "does not hold", Notes: []string{"shared note"}},
		{Paper: "p3", Measured: "m3", Verdict: "holds"},
	})
	want := "| claim of the paper | measured here | verdict |\n|---|---|---|\n" +
		"| p1 | m1 | holds [1, 2] |\n| p2 | m2 | does not hold [1] |\n| p3 | m3 | holds |\n\n" +
		"1. Shared note.\n2. One seed.\n"
	if b.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}
