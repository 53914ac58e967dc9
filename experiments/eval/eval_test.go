package eval

import (
	"encoding/json"
	"math"
	"testing"
)

func TestNormalize(t *testing.T) {
	cases := []struct{ in, want string }{
		{"The Cat", "cat"},
		{"  Paris.  ", "paris"},
		{"a an the", ""},
		{"Theory of the Atom", "theory of atom"}, // "the" only as a whole word
		{"Johnson & Johnson", "johnson johnson"},
		{"L'Oréal", "loréal"},
		{"Mercedes-Benz", "mercedesbenz"},
		{"«Kyiv»", "kyiv"},
		{"New\tYork\n", "new york"},
		{"CYRILLIC CAPITAL LETTER ZHE", "cyrillic capital letter zhe"},
		{"", ""},
		{"an apple, a day", "apple day"},
		{"The", ""},
	}
	for _, c := range cases {
		if got := Normalize(c.in); got != c.want {
			t.Errorf("Normalize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestExactMatch(t *testing.T) {
	cases := []struct {
		pred, gold string
		want       bool
	}{
		{"Paris", "paris", true},
		{"the University of Tokyo", "University of Tokyo", true},
		{"March 3, 1971", "March 3 1971", true},
		{"Paris", "Lyon", false},
		{"", "", true},
		{"Paris Texas", "Paris", false},
	}
	for _, c := range cases {
		if got := ExactMatch(c.pred, c.gold); got != c.want {
			t.Errorf("ExactMatch(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
}

func TestF1(t *testing.T) {
	cases := []struct {
		pred, gold string
		want       float64
	}{
		// pred {cat, sat}, gold {cat, sat, down}: P=1, R=2/3, F1=2·(2/3)/(5/3)=0.8.
		{"the cat sat", "a cat sat down", 0.8},
		{"Paris", "Paris", 1},
		{"Paris", "Lyon", 0},
		{"", "", 1},    // both empty
		{"the", "", 1}, // both empty after normalisation
		{"", "Paris", 0},
		{"Paris", "", 0},
		// Repeated tokens count at most as often as in both: pred {york, york}, gold {new, york}:
		// common 1, P=1/2, R=1/2, F1=1/2.
		{"York York", "New York", 0.5},
		// pred {los, angeles}, gold {los, angeles, california}: P=1, R=2/3 → 0.8.
		{"Los Angeles", "Los Angeles, California", 0.8},
		// pred {x, y, z, w}, gold {x}: P=1/4, R=1 → 2·(1/4)/(5/4) = 0.4.
		{"x y z w", "x", 0.4},
	}
	for _, c := range cases {
		if got := F1(c.pred, c.gold); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("F1(%q, %q) = %v, want %v", c.pred, c.gold, got, c.want)
		}
	}
}

func TestF1Symmetric(t *testing.T) {
	pairs := [][2]string{{"the cat sat", "a cat sat down"}, {"x y z w", "x"}, {"a b b", "b b c"}}
	for _, p := range pairs {
		if a, b := F1(p[0], p[1]), F1(p[1], p[0]); a != b {
			t.Errorf("F1 not symmetric for %q: %v vs %v", p, a, b)
		}
	}
}

func TestAccumulator(t *testing.T) {
	var a Accumulator
	if s := a.Scores(); s != (Scores{}) {
		t.Fatalf("empty accumulator scores = %+v, want zero", s)
	}
	a.Add("Paris", "Paris", 1.0)                       // EM 1, F1 1
	a.Add("the cat sat", "a cat sat down", math.NaN()) // EM 0, F1 0.8, no NLL
	a.Add("Lyon", "Paris", 3.0)                        // EM 0, F1 0
	a.Add("Tokyo", "tokyo.", 2.0)                      // EM 1, F1 1
	s := a.Scores()
	want := Scores{N: 4, EM: 0.5, F1: (1 + 0.8 + 0 + 1) / 4, AnswerNLL: 2, NLLCount: 3}
	if s.N != want.N || s.NLLCount != want.NLLCount || s.EM != want.EM ||
		math.Abs(s.F1-want.F1) > 1e-12 || math.Abs(s.AnswerNLL-want.AnswerNLL) > 1e-12 {
		t.Fatalf("Scores() = %+v, want %+v", s, want)
	}
	if _, err := json.Marshal(s); err != nil {
		t.Fatalf("scores do not encode as JSON: %v", err)
	}

	// Merging two halves gives the same means as adding everything to one.
	var x, y Accumulator
	x.Add("Paris", "Paris", 1.0)
	x.Add("the cat sat", "a cat sat down", math.NaN())
	y.Add("Lyon", "Paris", 3.0)
	y.Add("Tokyo", "tokyo.", 2.0)
	x.Merge(&y)
	if got := x.Scores(); got != s {
		t.Fatalf("merged scores %+v differ from direct %+v", got, s)
	}
	if got := s.String(); got != "n=4 EM=50.0% F1=70.0% answer NLL=2.000" {
		t.Errorf("String() = %q", got)
	}
}

func TestAccumulatorNoNLL(t *testing.T) {
	var a Accumulator
	a.Add("x", "x", math.NaN())
	s := a.Scores()
	if s.AnswerNLL != 0 || s.NLLCount != 0 || s.EM != 1 {
		t.Fatalf("Scores() = %+v, want EM 1 and no NLL", s)
	}
	if got := s.String(); got != "n=1 EM=100.0% F1=100.0%" {
		t.Errorf("String() = %q", got)
	}
}

// TestSeveralAnswers: exact match with any accepted answer counts, and F1 is the best over them.
func TestSeveralAnswers(t *testing.T) {
	golds := []string{"United States", "USA", "the US"}
	if !MatchesAny("usa", golds) || !MatchesAny("US", golds) || MatchesAny("States", golds) || MatchesAny("x", nil) {
		t.Error("MatchesAny")
	}
	// "united states of america" vs "united states": P=2/4, R=1 → 2/3; vs the others 0.
	if got := BestF1("United States of America", golds); math.Abs(got-2.0/3) > 1e-12 {
		t.Errorf("BestF1 = %v, want 2/3", got)
	}
	if BestF1("x", nil) != 0 {
		t.Error("BestF1 with no answers must be 0")
	}
	var a Accumulator
	a.AddAnswers("USA", golds, 1)
	a.AddAnswers("States", golds, math.NaN()) // F1 vs "united states": P=1, R=1/2 → 2/3
	if s := a.Scores(); s.EM != 0.5 || math.Abs(s.F1-(1+2.0/3)/2) > 1e-12 || s.NLLCount != 1 {
		t.Errorf("scores %+v", s)
	}
}
