package data

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WordTokenizer gives frequent words their own id and spells everything else with byte ids. Synthetic
// biographies repeat a small vocabulary, so one token per word makes each fact cost a handful of tokens
// instead of dozens of bytes, which lets small models see many more facts per step.
//
// Text is first cut into pieces (see splitPieces): a run of letters or a run of digits, each with at
// most one leading space folded in (" Paris"), or any other single character (".", "\n", a lone space).
// A piece in the vocabulary becomes one id; " word" whose bare "word" is known becomes a space byte plus
// that id; any other piece becomes its bytes. Decoding concatenates, so Decode(Encode(s)) == s for every
// string s. Because pieces never span a punctuation mark or newline, Encode(a+b) == Encode(a)+Encode(b)
// whenever a ends with one of them or b starts with a space, which is how Prompt and Target meet.
type WordTokenizer struct {
	words []string         // words[i] has id NumBytesAndSpecials+i
	index map[string]int32 // word -> id
}

// NewWordTokenizer builds the vocabulary from texts: the maxWords most frequent pieces longer than one
// byte, ties broken by byte-wise lexical order, numbered from NumBytesAndSpecials in that order. The same
// texts always give the same ids. maxWords <= 0 keeps every such piece.
func NewWordTokenizer(texts []string, maxWords int) *WordTokenizer {
	counts := map[string]int{}
	for _, text := range texts {
		splitPieces(text, func(p string) {
			if len(p) > 1 && utf8.ValidString(p) {
				counts[p]++
			}
		})
	}
	words := make([]string, 0, len(counts))
	for w := range counts {
		words = append(words, w)
	}
	sort.Slice(words, func(i, j int) bool {
		ci, cj := counts[words[i]], counts[words[j]]
		if ci != cj {
			return ci > cj
		}
		return words[i] < words[j]
	})
	if maxWords > 0 && len(words) > maxWords {
		words = words[:maxWords]
	}
	t, err := newWordTokenizer(words)
	if err != nil {
		panic(err) // unreachable: the words above are unique, valid and longer than one byte.
	}
	return t
}

// newWordTokenizer indexes words, checking the invariants that keep ids unambiguous.
func newWordTokenizer(words []string) (*WordTokenizer, error) {
	t := &WordTokenizer{words: words, index: make(map[string]int32, len(words))}
	for i, w := range words {
		switch {
		case len(w) <= 1:
			return nil, fmt.Errorf("data: word tokenizer word %d=%q: must be longer than one byte (bytes have their own ids)", i, w)
		case !utf8.ValidString(w):
			return nil, fmt.Errorf("data: word tokenizer word %d=%q: must be valid UTF-8", i, w)
		}
		if _, dup := t.index[w]; dup {
			return nil, fmt.Errorf("data: word tokenizer word %d=%q: duplicate word", i, w)
		}
		t.index[w] = int32(NumBytesAndSpecials + i)
	}
	return t, nil
}

// pieceClass groups runes for splitPieces.
type pieceClass int

const (
	classOther pieceClass = iota
	classLetter
	classDigit
)

func classOf(r rune) pieceClass {
	switch {
	case r == utf8.RuneError:
		return classOther
	case unicode.IsLetter(r) || unicode.IsMark(r):
		return classLetter
	case unicode.IsDigit(r):
		return classDigit
	default:
		return classOther
	}
}

// splitPieces calls emit with consecutive substrings of s whose concatenation is s.
func splitPieces(s string, emit func(string)) {
	i := 0
	for i < len(s) {
		start := i
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size <= 1 {
			emit(s[i : i+1]) // an invalid byte stands alone.
			i++
			continue
		}
		class := classOf(r)
		if r == ' ' && i+1 < len(s) {
			if next, _ := utf8.DecodeRuneInString(s[i+1:]); classOf(next) != classOther {
				i++ // fold the space into the following word or number.
				size, class = utf8.RuneLen(next), classOf(next)
			}
		}
		i += size
		if class != classOther {
			for i < len(s) {
				next, nsize := utf8.DecodeRuneInString(s[i:])
				if classOf(next) != class {
					break
				}
				i += nsize
			}
		}
		emit(s[start:i])
	}
}

// Encode returns the ids of s (see the type's documentation for how pieces map to ids).
func (t *WordTokenizer) Encode(s string) []int32 {
	ids := make([]int32, 0, len(s)/3+1)
	splitPieces(s, func(p string) {
		if id, ok := t.index[p]; ok {
			ids = append(ids, id)
			return
		}
		if len(p) > 2 && p[0] == ' ' {
			if id, ok := t.index[p[1:]]; ok {
				ids = append(ids, ' ', id)
				return
			}
		}
		for i := 0; i < len(p); i++ {
			ids = append(ids, int32(p[i]))
		}
	})
	return ids
}

// Decode concatenates the text of ids (see Tokenizer.Decode for special and unknown ids).
func (t *WordTokenizer) Decode(ids []int32) string {
	var buf []byte
	for _, id := range ids {
		if w := int(id) - NumBytesAndSpecials; w >= 0 && w < len(t.words) {
			buf = append(buf, t.words[w]...)
			continue
		}
		buf = appendByteID(buf, id)
	}
	return string(buf)
}

// VocabSize counts bytes, specials and words.
func (t *WordTokenizer) VocabSize() int { return NumBytesAndSpecials + len(t.words) }

// Name returns "word-<number of words>".
func (t *WordTokenizer) Name() string { return fmt.Sprintf("word-%d", len(t.words)) }

// Words returns a copy of the vocabulary in id order: word i has id NumBytesAndSpecials+i.
func (t *WordTokenizer) Words() []string { return append([]string(nil), t.words...) }

// MarshalJSON writes {"kind":"word","words":[...]} with the words in id order.
func (t *WordTokenizer) MarshalJSON() ([]byte, error) {
	return json.Marshal(tokenizerJSON{Kind: "word", Words: t.words})
}

// UnmarshalJSON restores a vocabulary written by MarshalJSON, with the same ids.
func (t *WordTokenizer) UnmarshalJSON(b []byte) error {
	var v tokenizerJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("data: reading word tokenizer JSON: %w", err)
	}
	if v.Kind != "word" {
		return fmt.Errorf("data: word tokenizer JSON kind=%q: must be \"word\"", v.Kind)
	}
	restored, err := newWordTokenizer(v.Words)
	if err != nil {
		return err
	}
	*t = *restored
	return nil
}

// String summarises the tokenizer for logs.
func (t *WordTokenizer) String() string {
	preview := t.words
	if len(preview) > 8 {
		preview = preview[:8]
	}
	return fmt.Sprintf("%s (vocab %d; first words %s)", t.Name(), t.VocabSize(), strings.Join(quoteAll(preview), " "))
}

func quoteAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = fmt.Sprintf("%q", s)
	}
	return out
}
