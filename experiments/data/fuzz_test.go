package data

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzReadFactsTSV: any file gives facts with clean, non-empty fields or a one-line error naming the file;
// lenient mode keeps what strict mode keeps and skips exactly the lines strict mode would stop at; the
// facts always make a dataset with one question per (subject, relation).
func FuzzReadFactsTSV(f *testing.F) {
	for _, seed := range []string{
		"subject\trelation\tanswer\nFrance\tcapital\tParis\n",
		"\uFEFFFrance\tcapital\tParis\r\nFrance\tcapital\tParis\n# c\n\nJapan\tcapital\tTokyo\tWhich city is the capital of {subject}?",
		"US\tabbreviation\tUS\nUS\tabbreviation\tUSA\n",
		"a\tb\n\tb\tc\nx\ty\tz\td\n",
		"Tok\xffyo\tcapital\tx\n",
		"x\ty\tz\t{relation}\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		strict, _, strictErr := ReadFactsTSV(bytes.NewReader(in), "f.tsv", TSVOptions{})
		lenient, report, lenientErr := ReadFactsTSV(bytes.NewReader(in), "f.tsv", TSVOptions{Lenient: true})
		for _, err := range []error{strictErr, lenientErr} {
			if err != nil && (!strings.HasPrefix(err.Error(), "f.tsv") || strings.Contains(err.Error(), "\n")) {
				t.Fatalf("error not one line naming the file: %q", err)
			}
		}
		if strictErr == nil {
			if lenientErr != nil || len(report.Skipped) != 0 || !slices.Equal(strict, lenient) {
				t.Fatalf("lenient differs from a successful strict read: %v, %d skipped", lenientErr, len(report.Skipped))
			}
		} else if len(report.Skipped) > 0 && report.Skipped[0].Message != strictErr.Error() {
			t.Fatalf("first skipped line %q, strict error %q", report.Skipped[0].Message, strictErr)
		}
		if lenientErr != nil {
			return
		}
		keys := map[[2]string]bool{}
		for _, fact := range lenient {
			for _, field := range []string{fact.Subject, fact.Relation, fact.Answer} {
				if field == "" || field != strings.TrimSpace(field) || strings.ContainsAny(field, "\t\n") || !utf8.ValidString(field) {
					t.Fatalf("bad field %q in %+v", field, fact)
				}
			}
			if fact.Question != "" && !strings.Contains(fact.Question, "{subject}") {
				t.Fatalf("template without {subject}: %+v", fact)
			}
			keys[[2]string{fact.Subject, fact.Relation}] = true
		}
		ds, err := FactsDataset("f", lenient, 0.5, 1)
		if err != nil {
			t.Fatalf("parsed facts do not make a dataset: %v", err)
		}
		if n := len(ds.TrainQA) + len(ds.EvalQA); n != len(keys) {
			t.Fatalf("%d questions for %d (subject, relation) pairs", n, len(keys))
		}
	})
}

// FuzzTokenizerRoundTrip: every tokenizer decodes what it encodes back to the same bytes, for any text
// (invalid UTF-8 included), survives a JSON round trip with the same ids, and encodes a prompt and its
// target separately as it encodes them together.
func FuzzTokenizerRoundTrip(f *testing.F) {
	f.Add("The capital of France is Paris.", "Q: What is the capital of France?\nA:", " Paris\n")
	f.Add("naïve café 12 34", "x\xff\xfe y", " \u0301a")
	f.Add("", "", "")
	f.Fuzz(func(t *testing.T, corpus, a, b string) {
		word := NewWordTokenizer(strings.Split(corpus, "\n"), 0)
		for _, tok := range []Tokenizer{ByteTokenizer{}, word} {
			for _, s := range []string{corpus, a, b, a + b} {
				if got := tok.Decode(tok.Encode(s)); got != s {
					t.Fatalf("%s: Decode(Encode(%q)) = %q", tok.Name(), s, got)
				}
			}
			js, err := MarshalTokenizer(tok)
			if err != nil {
				t.Fatal(err)
			}
			back, err := UnmarshalTokenizer(js)
			if err != nil {
				t.Fatalf("%s: unmarshal of its own JSON: %v", tok.Name(), err)
			}
			if back.Name() != tok.Name() || !slices.Equal(back.Encode(a+b), tok.Encode(a+b)) {
				t.Fatalf("%s: JSON round trip changed the ids", tok.Name())
			}
		}
		if strings.HasPrefix(b, " ") || strings.HasSuffix(a, "\n") {
			if joined, split := word.Encode(a+b), append(word.Encode(a), word.Encode(b)...); !slices.Equal(joined, split) {
				t.Fatalf("Encode(%q+%q) = %v, but separately %v", a, b, joined, split)
			}
		}
	})
}

// FuzzUnmarshalTokenizer: any JSON gives a tokenizer that round-trips text, or an error; never a panic.
func FuzzUnmarshalTokenizer(f *testing.F) {
	f.Add([]byte(`{"kind":"byte"}`))
	f.Add([]byte(`{"kind":"word","words":["Paris"," the","12"]}`))
	f.Add([]byte(`{"kind":"word","words":["a","a"]}`))
	f.Add([]byte(`{"kind":"word","words":["\u00ff\u00fe"]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, js []byte) {
		tok, err := UnmarshalTokenizer(js)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		probe := "Paris is the capital.\n 12 x\xff"
		if got := tok.Decode(tok.Encode(probe)); got != probe {
			t.Fatalf("restored %s: Decode(Encode(%q)) = %q", tok.Name(), probe, got)
		}
		for _, id := range tok.Encode(probe) {
			if id < 0 || int(id) >= tok.VocabSize() || IsSpecial(id) {
				t.Fatalf("id %d outside the vocabulary of %d or special", id, tok.VocabSize())
			}
		}
	})
}

// FuzzParseAnswer: the parsed answer is the trimmed first line of the generated text.
func FuzzParseAnswer(f *testing.F) {
	f.Add(" Paris\nQ: next")
	f.Add("  \n")
	f.Add("\u00a0Paris\u2028x")
	f.Fuzz(func(t *testing.T, generated string) {
		got := ParseAnswer(generated)
		if strings.Contains(got, "\n") || got != strings.TrimSpace(got) || !strings.Contains(generated, got) {
			t.Fatalf("ParseAnswer(%q) = %q", generated, got)
		}
		first, _, _ := strings.Cut(generated, "\n")
		if got != strings.TrimSpace(first) {
			t.Fatalf("ParseAnswer(%q) = %q, want the trimmed first line %q", generated, got, strings.TrimSpace(first))
		}
	})
}
