package data

import "testing"

func TestQAFormat(t *testing.T) {
	f := Fact{Subject: "Ann Lee", Relation: "birth city", Answer: "Paris"}
	q := f.QA()
	if q.Question != "What is the birth city of Ann Lee?" {
		t.Fatalf("default question = %q", q.Question)
	}
	if got := Prompt(q); got != "Q: What is the birth city of Ann Lee?\nA:" {
		t.Errorf("Prompt = %q", got)
	}
	if got := Target(q); got != " Paris\n" {
		t.Errorf("Target = %q", got)
	}
	if got := QAText(q); got != Prompt(q)+Target(q) {
		t.Errorf("QAText = %q", got)
	}
	if got := f.Statement(); got != "The birth city of Ann Lee is Paris." {
		t.Errorf("Statement = %q", got)
	}
	f.Question = "Where was {subject} born ({relation})?"
	if got := f.QuestionText(); got != "Where was Ann Lee born (birth city)?" {
		t.Errorf("templated question = %q", got)
	}
}

func TestParseAnswer(t *testing.T) {
	cases := map[string]string{
		" Paris\n":                  "Paris",
		" Paris\nQ: What is the...": "Paris",
		" New York":                 "New York",
		"\n":                        "",
		"":                          "",
	}
	for in, want := range cases {
		if got := ParseAnswer(in); got != want {
			t.Errorf("ParseAnswer(%q) = %q, want %q", in, got, want)
		}
	}
	q := QA{Question: "x?", Answer: "March 3, 1971"}
	if got := ParseAnswer(Target(q)); got != q.Answer {
		t.Errorf("ParseAnswer(Target(q)) = %q, want the answer back", got)
	}
}
