package data

import (
	"strings"
	"testing"
	"testing/quick"
	"unicode/utf8"
)

// randomText draws strings that stress tokenizers: ASCII words, spaces (single and repeated), newlines,
// punctuation, digits, multi-byte letters, combining marks, emoji and invalid UTF-8 bytes.
func randomText(r *rng, maxLen int) string {
	pieces := []string{"a", "b", "Paris", " ", "  ", "\n", "\t", ".", ",", "'", "é", "Ж", "中文", "👍🏽",
		"e\u0301", "1971", "7", " x", "\xff", "\xc3", "\u00a0", "{subject}", "Q: ", "A:", "\r\n", "ß"}
	var b strings.Builder
	n := r.intn(maxLen + 1)
	for range n {
		b.WriteString(pieces[r.intn(len(pieces))])
	}
	return b.String()
}

func TestByteTokenizerRoundTrip(t *testing.T) {
	tok := ByteTokenizer{}
	check := func(s string) bool { return tok.Decode(tok.Encode(s)) == s }
	if err := quick.Check(check, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}
	bytesCheck := func(b []byte) bool { return check(string(b)) } // arbitrary bytes, invalid UTF-8 included
	if err := quick.Check(bytesCheck, &quick.Config{MaxCount: 500}); err != nil {
		t.Error(err)
	}
	r := newRNG(1)
	for range 500 {
		if s := randomText(r, 30); !check(s) {
			t.Fatalf("round trip failed for %q", s)
		}
	}
	if got := len(tok.Encode("Ж")); got != 2 {
		t.Errorf("Encode(Ж) has %d ids, want 2 (one per UTF-8 byte)", got)
	}
}

func TestByteTokenizerVocab(t *testing.T) {
	tok := ByteTokenizer{}
	if tok.VocabSize() != 259 || tok.Name() != "byte" {
		t.Fatalf("VocabSize()=%d Name()=%q", tok.VocabSize(), tok.Name())
	}
	for _, id := range tok.Encode("\x00\xffabc") {
		if id < 0 || int(id) >= tok.VocabSize() || IsSpecial(id) {
			t.Fatalf("id %d is out of range or special", id)
		}
	}
	if PAD == BOS || BOS == EOS || PAD == EOS || int(max(PAD, BOS, EOS)) >= tok.VocabSize() {
		t.Fatal("special ids are not distinct or not inside the vocabulary")
	}
}

func TestDecodeSpecialAndUnknown(t *testing.T) {
	w := NewWordTokenizer([]string{"hello hello"}, 10)
	for _, tok := range []Tokenizer{ByteTokenizer{}, w} {
		if got := tok.Decode([]int32{BOS, 'h', 'i', PAD, EOS}); got != "hi" {
			t.Errorf("%s: Decode with specials = %q, want %q", tok.Name(), got, "hi")
		}
		if got := tok.Decode([]int32{'a', int32(tok.VocabSize()), -1}); got != "a\uFFFD\uFFFD" {
			t.Errorf("%s: Decode with unknown ids = %q, want replacement characters", tok.Name(), got)
		}
	}
}

func TestMarshalTokenizer(t *testing.T) {
	corpus := []string{"The birth city of Ann Lee is Paris.", "Q: Where?\nA: Paris\n"}
	for _, tok := range []Tokenizer{ByteTokenizer{}, NewWordTokenizer(corpus, 0)} {
		b, err := MarshalTokenizer(tok)
		if err != nil {
			t.Fatal(err)
		}
		back, err := UnmarshalTokenizer(b)
		if err != nil {
			t.Fatalf("%s: %v (JSON %s)", tok.Name(), err, b)
		}
		if back.Name() != tok.Name() || back.VocabSize() != tok.VocabSize() {
			t.Fatalf("restored %s/%d, want %s/%d", back.Name(), back.VocabSize(), tok.Name(), tok.VocabSize())
		}
		for _, s := range corpus {
			if a, b := tok.Encode(s), back.Encode(s); !equalIDs(a, b) {
				t.Fatalf("%s: restored tokenizer encodes %q as %v, original %v", tok.Name(), s, b, a)
			}
		}
	}
	if _, err := UnmarshalTokenizer([]byte(`{"kind":"bpe"}`)); err == nil || !strings.Contains(err.Error(), `kind="bpe"`) {
		t.Errorf("unknown kind: err = %v", err)
	}
	if _, err := UnmarshalTokenizer([]byte(`{`)); err == nil {
		t.Error("broken JSON accepted")
	}
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestRandomTextIsSometimesInvalid(t *testing.T) {
	// Guard for the round-trip tests above: the generator must exercise invalid UTF-8.
	r := newRNG(2)
	invalid := 0
	for range 200 {
		if !utf8.ValidString(randomText(r, 20)) {
			invalid++
		}
	}
	if invalid == 0 {
		t.Fatal("randomText never produced invalid UTF-8")
	}
}
