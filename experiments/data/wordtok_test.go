package data

import (
	"encoding/json"
	"strings"
	"testing"
	"testing/quick"
)

func TestSplitPiecesExamples(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"Ann Lee was born in Paris.", []string{"Ann", " Lee", " was", " born", " in", " Paris", "."}},
		{"On March 3, 1971,", []string{"On", " March", " 3", ",", " 1971", ","}},
		{"Q: x\nA: Paris\n", []string{"Q", ":", " x", "\n", "A", ":", " Paris", "\n"}},
		{"a  b", []string{"a", " ", " b"}},
		{"São Paulo", []string{"São", " Paulo"}},
		{"e\u0301t\u00e9", []string{"e\u0301t\u00e9"}}, // combining mark stays in the word
		{"L'Oréal", []string{"L", "'", "Oréal"}},
		{"word2vec", []string{"word", "2", "vec"}},
		{"\xffab", []string{"\xff", "ab"}},
		{" ", []string{" "}},
		{"", nil},
	}
	for _, c := range cases {
		var got []string
		splitPieces(c.in, func(p string) { got = append(got, p) })
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("splitPieces(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestWordTokenizerRoundTrip(t *testing.T) {
	r := newRNG(5)
	var corpus []string
	for range 50 {
		corpus = append(corpus, randomText(r, 40))
	}
	corpus = append(corpus, "Ann Lee was born in Paris. She works for Google in Tokyo.")
	tok := NewWordTokenizer(corpus, 0)
	check := func(s string) bool { return tok.Decode(tok.Encode(s)) == s }
	if err := quick.Check(check, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}
	if err := quick.Check(func(b []byte) bool { return check(string(b)) }, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}
	for range 1000 {
		s := randomText(r, 40)
		ids := tok.Encode(s)
		if got := tok.Decode(ids); got != s {
			t.Fatalf("Decode(Encode(%q)) = %q", s, got)
		}
		for _, id := range ids {
			if id < 0 || int(id) >= tok.VocabSize() || IsSpecial(id) {
				t.Fatalf("Encode(%q) produced id %d outside [0, %d) or special", s, id, tok.VocabSize())
			}
		}
	}
}

func TestWordTokenizerVocabulary(t *testing.T) {
	corpus := []string{"b b b a a a c c", "dd dd", "b"}
	tok := NewWordTokenizer(corpus, 0)
	// Counts: " b" 2, " a" 3, " c" 2, "dd" 1, " dd" 1. Ties are broken by lexical order.
	want := []string{" a", " b", " c", " dd", "dd"}
	if got := tok.Words(); strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("Words() = %q, want %q", got, want)
	}
	if got := NewWordTokenizer(corpus, 2).Words(); strings.Join(got, "|") != " a| b" {
		t.Fatalf("maxWords=2 kept %q, want the two most frequent", got)
	}
	if tok.VocabSize() != NumBytesAndSpecials+5 || tok.Name() != "word-5" {
		t.Fatalf("VocabSize()=%d Name()=%q", tok.VocabSize(), tok.Name())
	}
	// Same corpus, same ids, whatever the map iteration order.
	for range 5 {
		if got := NewWordTokenizer(corpus, 0).Words(); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Fatal("vocabulary is not deterministic")
		}
	}
	// A known bare word after a space that is not itself in the vocabulary: space byte + word id.
	only, err := newWordTokenizer([]string{"dd"})
	if err != nil {
		t.Fatal(err)
	}
	ids := only.Encode("x dd")
	if len(ids) != 3 || ids[0] != 'x' || ids[1] != ' ' || ids[2] != int32(NumBytesAndSpecials) {
		t.Fatalf(`Encode("x dd") = %v, want [x, space, id of "dd"]`, ids)
	}
}

func TestWordTokenizerCompressesBiographies(t *testing.T) {
	d, err := Biographies(BioConfig{People: 200, Templates: 2, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	tok := NewWordTokenizer(d.Documents, 2000)
	byteCount, wordCount := 0, 0
	for _, doc := range d.Documents {
		byteCount += len(doc)
		wordCount += len(tok.Encode(doc))
	}
	if ratio := float64(byteCount) / float64(wordCount); ratio < 4 {
		t.Errorf("word tokenizer uses %d tokens for %d bytes (%.1f bytes/token): want >= 4", wordCount, byteCount, ratio)
	}
	// Prompt and target meet at a token boundary, so scoring the answer tokens alone is exact.
	for _, q := range append(d.TrainQA, d.EvalQA...) {
		joint := tok.Encode(QAText(q))
		split := append(tok.Encode(Prompt(q)), tok.Encode(Target(q))...)
		if !equalIDs(joint, split) {
			t.Fatalf("Encode(QAText) != Encode(Prompt)+Encode(Target) for %q", QAText(q))
		}
	}
}

func TestWordTokenizerJSON(t *testing.T) {
	tok := NewWordTokenizer([]string{"Zoë met Ж in São Paulo. Zoë left."}, 0)
	b, err := json.Marshal(tok)
	if err != nil {
		t.Fatal(err)
	}
	var back WordTokenizer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if strings.Join(back.Words(), "|") != strings.Join(tok.Words(), "|") {
		t.Fatalf("restored words %q, want %q", back.Words(), tok.Words())
	}
	bad := map[string]string{
		`{"kind":"byte"}`:                     `kind="byte"`,
		`{"kind":"word","words":["a"]}`:       "longer than one byte",
		`{"kind":"word","words":["ab","ab"]}`: "duplicate",
	}
	for in, want := range bad {
		var w WordTokenizer
		if err := json.Unmarshal([]byte(in), &w); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Unmarshal(%s) err = %v, want it to mention %q", in, err, want)
		}
	}
}
