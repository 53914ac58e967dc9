package data

import (
	"reflect"
	"strings"
	"testing"
)

func TestUnicodeNames(t *testing.T) {
	all, err := UnicodeNames(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) < 1000 {
		t.Fatalf("only %d Unicode facts available", len(all))
	}
	found := false
	subjects := map[string]bool{}
	for _, f := range all {
		if subjects[f.Subject] {
			t.Fatalf("subject %s repeated", f.Subject)
		}
		subjects[f.Subject] = true
		if f.Answer == "" || strings.HasPrefix(f.Answer, "<") {
			t.Fatalf("fact %+v has no real name", f)
		}
		if f.Subject == "'Ж'" {
			found = true
			q := f.QA()
			if f.Answer != "CYRILLIC CAPITAL LETTER ZHE" || q.Question != "What is the Unicode name of the character 'Ж'?" {
				t.Errorf("Ж fact = %+v, question %q", f, q.Question)
			}
			if got := f.Statement(); got != "The Unicode name of 'Ж' is CYRILLIC CAPITAL LETTER ZHE." {
				t.Errorf("statement %q", got)
			}
		}
	}
	if !found {
		t.Error("'Ж' missing from the candidates")
	}

	a, _ := UnicodeNames(50, 9)
	b, _ := UnicodeNames(50, 9)
	c, _ := UnicodeNames(50, 10)
	if len(a) != 50 || !reflect.DeepEqual(a, b) {
		t.Fatal("same seed gave different Unicode facts")
	}
	if reflect.DeepEqual(a, c) {
		t.Fatal("different seeds gave the same Unicode facts")
	}
	if _, err := UnicodeNames(len(all)+1, 1); err == nil || !strings.Contains(err.Error(), "must be <=") {
		t.Errorf("too many: err = %v", err)
	}
	if _, err := UnicodeNames(-1, 1); err == nil {
		t.Error("n=-1 accepted")
	}
}

func TestLanguageAndRegionNames(t *testing.T) {
	langs, err := LanguageNames(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	regions, err := RegionNames(0, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(langs) < 150 || len(regions) != 249 {
		t.Errorf("%d languages (want >= 150 ISO 639-1 codes), %d regions (want the 249 ISO 3166-1 codes)", len(langs), len(regions))
	}
	want := map[string]string{
		"What language has the code 'de'?":    "German",
		"What language has the code 'ja'?":    "Japanese",
		"What country has the ISO code 'JP'?": "Japan",
		"What country has the ISO code 'FR'?": "France",
	}
	names := map[string]string{}
	answers := map[string]bool{}
	for _, f := range append(langs, regions...) {
		if answers[f.Relation+"/"+f.Answer] {
			t.Errorf("%s %q named by two codes", f.Relation, f.Answer)
		}
		answers[f.Relation+"/"+f.Answer] = true
		q := f.QA()
		if prev, dup := names[q.Question]; dup {
			t.Fatalf("question %q asked twice (%q, %q)", q.Question, prev, q.Answer)
		}
		names[q.Question] = q.Answer
	}
	for q, a := range want {
		if names[q] != a {
			t.Errorf("%q → %q, want %q", q, names[q], a)
		}
	}
	for _, dropped := range []string{"What language has the code 'iw'?", "What language has the code 'no'?", "What country has the ISO code 'DD'?", "What country has the ISO code 'UN'?"} {
		if _, ok := names[dropped]; ok {
			t.Errorf("%q should be skipped (deprecated or not a country)", dropped)
		}
	}
	if f := langs[0]; f.Statement() != "The language of the code 'aa' is Afar." {
		t.Errorf("first language statement %q", f.Statement())
	}
}

func TestFactsDataset(t *testing.T) {
	facts := []Fact{
		{Subject: "France", Relation: "capital", Answer: "Paris"},
		{Subject: "France", Relation: "currency", Answer: "euro"},
		{Subject: "Japan", Relation: "capital", Answer: "Tokyo"},
		{Subject: "France", Relation: "capital", Answer: "Paris"}, // exact repeat: ignored
		{Subject: "Peru", Relation: "capital", Answer: "Lima", Question: "Which city is the capital of {subject}?"},
		{Subject: "Chile", Relation: "capital", Answer: "Santiago"},
	}
	d, err := FactsDataset("capitals", facts, 0.5, 1)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Facts) != 5 || len(d.TrainQA)+len(d.EvalQA) != 5 {
		t.Fatalf("%d facts, %d+%d QA", len(d.Facts), len(d.TrainQA), len(d.EvalQA))
	}
	if d.Meta["train_subjects"] != 2 || d.Meta["subjects"] != 4 {
		t.Errorf("Meta = %v", d.Meta)
	}
	if d.Documents[0] != "The capital of France is Paris. The currency of France is euro." {
		t.Errorf("first document %q", d.Documents[0])
	}
	docs := strings.Join(d.Documents, "\n")
	for _, f := range d.Facts {
		if !strings.Contains(docs, f.Statement()) {
			t.Errorf("statement %q missing", f.Statement())
		}
	}
	train := map[string]bool{}
	for _, q := range d.TrainQA {
		train[q.Subject] = true
		if !strings.Contains(docs, QAText(q)) {
			t.Errorf("train QA %q missing", QAText(q))
		}
	}
	for _, q := range d.EvalQA {
		if train[q.Subject] {
			t.Errorf("subject %s is in both splits", q.Subject)
		}
		if strings.Contains(docs, q.Question) {
			t.Errorf("held-out question %q is in Documents", q.Question)
		}
	}
	again, _ := FactsDataset("capitals", facts, 0.5, 1)
	if !reflect.DeepEqual(d, again) {
		t.Error("same inputs gave different datasets")
	}

	bad := []struct {
		facts []Fact
		frac  float64
		want  string
	}{
		{nil, 0.5, "no facts"},
		{[]Fact{{Subject: "x", Relation: "", Answer: "y"}}, 0.5, "must be non-empty"},
		{[]Fact{{Subject: "x", Relation: "r", Answer: "y", Question: "What?"}}, 0.5, "must contain {subject}"},
		{facts, 2, "train_fraction=2"},
	}
	for _, c := range bad {
		if _, err := FactsDataset("t", c.facts, c.frac, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("FactsDataset(%v, %v) err = %v, want %q", c.facts, c.frac, err, c.want)
		}
	}
}

func TestRealFactsDatasets(t *testing.T) {
	facts, err := UnicodeNames(100, 3)
	if err != nil {
		t.Fatal(err)
	}
	d, err := FactsDataset("unicode", facts, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.TrainQA) != 50 || len(d.EvalQA) != 50 || len(d.Documents) != 150 {
		t.Errorf("unicode dataset: %v", d.Stats())
	}
}
