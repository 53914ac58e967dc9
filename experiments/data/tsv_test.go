package data

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLoadCapitals(t *testing.T) {
	facts, err := LoadFactsTSV("testdata/capitals.tsv")
	if err != nil {
		t.Fatal(err)
	}
	if len(facts) < 30 {
		t.Fatalf("%d facts, want >= 30", len(facts))
	}
	if facts[0] != (Fact{Subject: "France", Relation: "capital", Answer: "Paris"}) {
		t.Errorf("first fact %+v (the header must be skipped)", facts[0])
	}
	last := facts[len(facts)-1]
	if last.QA().Question != "Which city is the capital of Brazil?" || last.Answer != "Brasília" {
		t.Errorf("templated fact %+v", last)
	}
	if _, err := FactsDataset("capitals", facts, 0.5, 1); err != nil {
		t.Errorf("capitals do not make a dataset: %v", err)
	}
}

func TestParseFactsTSVAccepts(t *testing.T) {
	in := "\uFEFFSubject\tRelation\tAnswer\r\n" + // BOM, header in any case, CRLF
		"# comment\r\n" +
		"\r\n" +
		"   \t  \n" + // whitespace only counts as blank
		" France \t capital\tParis \r\n" +
		"France\tcapital\tParis\n" + // exact repeat: skipped
		"Japan\tcapital\tTokyo" // no final newline
	facts, err := ParseFactsTSV(strings.NewReader(in), "x.tsv")
	if err != nil {
		t.Fatal(err)
	}
	want := []Fact{{"France", "capital", "Paris", ""}, {"Japan", "capital", "Tokyo", ""}}
	if len(facts) != len(want) || facts[0] != want[0] || facts[1] != want[1] {
		t.Fatalf("facts = %+v, want %+v", facts, want)
	}
	// A header is only a header on the first data line.
	facts, err = ParseFactsTSV(strings.NewReader("a\tb\tc\nsubject\trelation\tanswer\n"), "x.tsv")
	if err != nil || len(facts) != 2 {
		t.Fatalf("late header: %v, %+v", err, facts)
	}
}

func TestParseFactsTSVErrors(t *testing.T) {
	cases := []struct{ name, in, want string }{
		{"too few fields", "# c\nFrance\tcapital\tParis\n\nJapan\tTokyo\n",
			"facts.tsv:4: expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got 2"},
		{"too many fields", "a\tb\tc\td {subject}\te\n",
			"facts.tsv:1: expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got 5"},
		{"spaces not tabs", "France  capital  Paris\n",
			"facts.tsv:1: expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got 1 (are the fields separated by spaces or commas instead of tabs?)"},
		{"empty answer", "France\tcapital\tParis\nJapan\tcapital\t \n",
			"facts.tsv:2: field 3 (answer) is empty; fill it in or remove the line"},
		{"empty subject", "\tcapital\tParis\n", "facts.tsv:1: field 1 (subject) is empty"},
		{"trailing tab", "France\tcapital\tParis\t\n", "facts.tsv:1: field 4 (question) is empty"},
		{"template without subject", "France\tcapital\tParis\nJapan\tcapital\tTokyo\tWhat is the capital?\n",
			`facts.tsv:2: question template "What is the capital?" does not contain {subject}; write it like "What is the capital of {subject}?"`},
		{"no facts", "# only comments\n\nsubject\trelation\tanswer\n",
			"facts.tsv: no facts found; add lines of the form subject<TAB>relation<TAB>answer"},
		{"empty file", "", "facts.tsv: no facts found"},
		{"invalid UTF-8", "France\tcapital\tParis\nJapan\tcapital\tTok\xffyo\n",
			"facts.tsv:2: invalid UTF-8; save the file as UTF-8"},
	}
	for _, c := range cases {
		_, err := ParseFactsTSV(strings.NewReader(c.in), "facts.tsv")
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", c.name, err, c.want)
			continue
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error spans several lines: %q", c.name, err)
		}
	}
}

func TestLoadFactsTSVNamesFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mine.tsv")
	if err := os.WriteFile(path, []byte("a\tb\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := LoadFactsTSV(path)
	if err == nil || !strings.HasPrefix(err.Error(), path+":1: expected 3 or 4") {
		t.Errorf("err = %v, want it to start with %s:1:", err, path)
	}
	if _, err := LoadFactsTSV(filepath.Join(t.TempDir(), "missing.tsv")); err == nil {
		t.Error("missing file accepted")
	}
}

// TestSeveralAnswersPerQuestion: lines sharing a subject and relation keep every answer, repeats are
// counted, and the dataset asks the question once, accepting each answer.
func TestSeveralAnswersPerQuestion(t *testing.T) {
	in := "United States\tabbreviation\tUS\nUnited States\tabbreviation\tUSA\nUnited States\tabbreviation\tUS\n" +
		"France\tcapital\tParis\n"
	facts, report, err := ReadFactsTSV(strings.NewReader(in), "x.tsv", TSVOptions{})
	if err != nil || len(facts) != 3 || report.Duplicates != 1 {
		t.Fatalf("facts %+v, report %+v, err %v; want 3 facts and 1 duplicate", facts, report, err)
	}
	ds, err := FactsDataset("x", facts, 1, 1) // every subject trains: its QA text is in the documents
	if err != nil {
		t.Fatal(err)
	}
	if len(ds.TrainQA) != 2 || ds.Meta["several_answers"] != 1 || ds.Meta["questions"] != 2 {
		t.Fatalf("train QA %+v, meta %v; want 2 questions, 1 with several answers", ds.TrainQA, ds.Meta)
	}
	var us QA
	for _, q := range ds.TrainQA {
		if q.Subject == "United States" {
			us = q
		}
	}
	if us.Answer != "US" || strings.Join(us.AcceptedAnswers(), "|") != "US|USA" {
		t.Errorf("question %+v, want answers US then USA", us)
	}
	text := strings.Join(ds.Documents, "\n")
	for _, want := range []string{"abbreviation of United States is US.", "abbreviation of United States is USA.",
		"\nA: US\n", "\nA: USA\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("training text lacks %q:\n%s", want, text)
		}
	}
}

// TestLenientTSV: lenient mode keeps the good lines, skips the bad ones and summarises them; strict
// mode stops at the first bad line.
func TestLenientTSV(t *testing.T) {
	in := "France\tcapital\tParis\n" +
		"Japan\tcapital\t\n" + // 2: empty answer
		"Peru\tcapital\n" + // 3: two fields
		"Chile\tcapital\tSantiago\tWhat?\n" + // 4: template without {subject}
		"Italy\t\tRome\n" + // 5: empty relation
		"Spain\tcapital\tMadrid\n"
	if _, err := ParseFactsTSV(strings.NewReader(in), "f.tsv"); err == nil || !strings.HasPrefix(err.Error(), "f.tsv:2:") {
		t.Fatalf("strict: err %v, want the error of line 2", err)
	}
	facts, report, err := ReadFactsTSV(strings.NewReader(in), "f.tsv", TSVOptions{Lenient: true})
	if err != nil || len(facts) != 2 || facts[1].Subject != "Spain" {
		t.Fatalf("lenient: facts %+v, err %v; want France and Spain", facts, err)
	}
	want := "skipped 4 bad lines: 2 with an empty field (lines 2, 5), " +
		"1 with a number of fields other than 3 or 4 (line 3), 1 with a question template without {subject} (line 4)"
	if got := report.Summary(); got != want {
		t.Errorf("summary\n %q, want\n %q", got, want)
	}
	if report.Skipped[1].Message != "f.tsv:3: expected 3 or 4 tab-separated fields (subject, relation, answer[, question]), got 2" {
		t.Errorf("skipped line 3: %q", report.Skipped[1].Message)
	}
	// Nothing usable: an error that says what was skipped.
	_, _, err = ReadFactsTSV(strings.NewReader("a\tb\n\tb\tc\n"), "f.tsv", TSVOptions{Lenient: true})
	if err == nil || !strings.Contains(err.Error(), "no facts found; every line was skipped: skipped 2 bad lines") {
		t.Errorf("all bad: err %v", err)
	}
}
