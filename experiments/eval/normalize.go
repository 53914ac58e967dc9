package eval

import (
	"strings"
	"unicode"
)

// Normalize puts an answer in the SQuAD canonical form so that harmless differences (case, punctuation,
// articles, spacing) do not count as errors: lower-case, remove punctuation, drop the words "a", "an" and
// "the", and join the remaining words with single spaces.
//
// Punctuation is ASCII punctuation (Python's string.punctuation, as in the SQuAD script) plus Unicode
// punctuation (e.g. "’", "«"). Articles are removed as whole whitespace-separated words after
// punctuation removal; the SQuAD script uses a regular expression word boundary instead, which differs
// only when an article is glued to a symbol such as "€the".
func Normalize(s string) string {
	s = strings.Map(func(r rune) rune {
		if isPunct(r) {
			return -1
		}
		return r
	}, strings.ToLower(s))
	words := strings.Fields(s)
	kept := words[:0]
	for _, w := range words {
		if w != "a" && w != "an" && w != "the" {
			kept = append(kept, w)
		}
	}
	return strings.Join(kept, " ")
}

// isPunct reports whether r is removed by Normalize.
func isPunct(r rune) bool {
	if r < 0x80 {
		return strings.ContainsRune("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", r)
	}
	return unicode.IsPunct(r)
}
