package data

import (
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Tokenizer turns text into token ids and back. Every tokenizer in this package round-trips any string
// exactly: Decode(Encode(s)) == s, even for invalid UTF-8, because unknown text falls back to byte tokens.
type Tokenizer interface {
	// Encode returns the ids of s, without BOS or EOS.
	Encode(s string) []int32
	// Decode concatenates the text of ids; special ids (PAD, BOS, EOS) decode to nothing and ids outside
	// the vocabulary to U+FFFD, so that whatever a model samples can be printed.
	Decode(ids []int32) string
	// VocabSize is one more than the largest id the tokenizer can produce, specials included.
	VocabSize() int
	// Name identifies the tokenizer in results files, e.g. "byte" or "word-4096".
	Name() string
}

// Special ids shared by every tokenizer of this package: ids 0–255 are raw bytes, then the specials, then
// (for WordTokenizer) the words. Sharing them means batching and evaluation never ask which tokenizer
// they hold.
const (
	PAD int32 = 256 // padding: never a training target
	BOS int32 = 257 // beginning of a document
	EOS int32 = 258 // end of a document

	// NumBytesAndSpecials is the number of ids before the first word id.
	NumBytesAndSpecials = 259
)

// IsSpecial reports whether id is PAD, BOS or EOS.
func IsSpecial(id int32) bool { return id == PAD || id == BOS || id == EOS }

// ByteTokenizer maps each byte of the text to its own id. It needs no training data and never meets an
// unknown string, at the cost of one token per byte.
type ByteTokenizer struct{}

// Encode returns one id per byte of s.
func (ByteTokenizer) Encode(s string) []int32 {
	ids := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		ids[i] = int32(s[i])
	}
	return ids
}

// Decode concatenates the bytes of ids (see Tokenizer.Decode for special and unknown ids).
func (ByteTokenizer) Decode(ids []int32) string {
	buf := make([]byte, 0, len(ids))
	for _, id := range ids {
		buf = appendByteID(buf, id)
	}
	return string(buf)
}

// appendByteID appends the text of a byte or special id; anything else becomes U+FFFD.
func appendByteID(buf []byte, id int32) []byte {
	switch {
	case id >= 0 && id < 256:
		return append(buf, byte(id))
	case IsSpecial(id):
		return buf
	default:
		return utf8.AppendRune(buf, utf8.RuneError)
	}
}

// VocabSize is 256 bytes plus the 3 specials.
func (ByteTokenizer) VocabSize() int { return NumBytesAndSpecials }

// Name returns "byte".
func (ByteTokenizer) Name() string { return "byte" }

// MarshalJSON writes {"kind":"byte"} so that MarshalTokenizer/UnmarshalTokenizer can restore it.
func (ByteTokenizer) MarshalJSON() ([]byte, error) {
	return json.Marshal(tokenizerJSON{Kind: "byte"})
}

// tokenizerJSON is the on-disk form of every tokenizer: Kind selects the type.
type tokenizerJSON struct {
	Kind  string   `json:"kind"`
	Words []string `json:"words,omitempty"`
}

// MarshalTokenizer serialises a tokenizer of this package to JSON, for checkpoints that must restore the
// exact same vocabulary.
func MarshalTokenizer(t Tokenizer) ([]byte, error) {
	switch t := t.(type) {
	case ByteTokenizer, *ByteTokenizer, *WordTokenizer:
		return json.Marshal(t)
	default:
		return nil, fmt.Errorf("data: cannot serialise tokenizer %T: only ByteTokenizer and *WordTokenizer are supported", t)
	}
}

// UnmarshalTokenizer restores a tokenizer written by MarshalTokenizer.
func UnmarshalTokenizer(b []byte) (Tokenizer, error) {
	var head tokenizerJSON
	if err := json.Unmarshal(b, &head); err != nil {
		return nil, fmt.Errorf("data: reading tokenizer JSON: %w", err)
	}
	switch head.Kind {
	case "byte":
		return ByteTokenizer{}, nil
	case "word":
		w := &WordTokenizer{}
		if err := w.UnmarshalJSON(b); err != nil {
			return nil, err
		}
		return w, nil
	default:
		return nil, fmt.Errorf("data: tokenizer kind=%q: must be \"byte\" or \"word\"", head.Kind)
	}
}
