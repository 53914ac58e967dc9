package data

import "fmt"

// Capacity experiments fix how many times each fact is seen (its exposures) rather than a token budget:
// Allen-Zhu & Li measure about 1 bit per parameter after 100 exposures and 2 after 1,000. With packed
// training text, one epoch shows every document once, so E exposures are E epochs.

// ExposureSteps is the number of training steps that deal every window of a packed corpus exposures
// times: windows = ⌈(tokens−1)/seqLen⌉ per epoch (PackDocuments' count for a stream of tokens, BOS and
// EOS included), batch of them per step, so steps = ⌈exposures·windows/batch⌉. That is
// facts × exposures × tokens per fact / tokens per step, rounded up to whole windows and steps.
func ExposureSteps(tokens, seqLen, batch, exposures int) (int, error) {
	switch {
	case tokens < 2:
		return 0, fmt.Errorf("data: exposure steps: tokens=%d: the corpus must have at least 2 tokens", tokens)
	case seqLen < 1 || batch < 1:
		return 0, fmt.Errorf("data: exposure steps: seq_len=%d, batch_size=%d: both must be >= 1", seqLen, batch)
	case exposures < 1:
		return 0, fmt.Errorf("data: exposures=%d: must be >= 1", exposures)
	}
	windows := (tokens - 1 + seqLen - 1) / seqLen
	return (exposures*windows + batch - 1) / batch, nil
}

// CorpusTokens is the length of the token stream PackDocuments makes of docs: BOS + tokens + EOS each.
func CorpusTokens(tok Tokenizer, docs []string) int {
	n := 0
	for _, d := range docs {
		n += len(tok.Encode(d)) + 2
	}
	return n
}

// AlignedSeqLen returns the longest window length <= maxSeqLen that holds a whole number of documents of
// docTokens tokens each (BOS and EOS included), when every document has that length: packed windows then
// start at a document's BOS and never cut a fact from its question, so each exposure is a whole one. It
// returns maxSeqLen when a document is longer than that.
func AlignedSeqLen(maxSeqLen, docTokens int) int {
	if docTokens < 1 || docTokens > maxSeqLen {
		return maxSeqLen
	}
	return maxSeqLen / docTokens * docTokens
}

// UniformDocTokens returns the token count (BOS and EOS included) shared by every document, or 0 when
// the documents differ in length (or there are none).
func UniformDocTokens(tok Tokenizer, docs []string) int {
	n := 0
	for i, d := range docs {
		k := len(tok.Encode(d)) + 2
		if i > 0 && k != n {
			return 0
		}
		n = k
	}
	return n
}
