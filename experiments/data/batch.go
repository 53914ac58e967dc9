package data

import "fmt"

// Batch is one training or evaluation step's tokens. All three are [B][T]: the model reads Inputs and is
// scored on predicting Targets (Inputs shifted left by one) where Mask is 1; Mask is 0 on padding.
type Batch struct {
	Inputs, Targets [][]int32
	Mask            [][]float32
}

// Size returns the batch size B and sequence length T.
func (b Batch) Size() (batch, seqLen int) {
	if len(b.Inputs) == 0 {
		return 0, 0
	}
	return len(b.Inputs), len(b.Inputs[0])
}

// MaskedTokens counts the target tokens that carry loss (the sum of Mask), for tokens/s and mean losses.
func (b Batch) MaskedTokens() int {
	n := 0
	for _, row := range b.Mask {
		for _, m := range row {
			if m != 0 {
				n++
			}
		}
	}
	return n
}

// PackDocuments concatenates BOS+doc+EOS for every document into one token stream and cuts it into
// windows of seqLen+1 tokens taken every seqLen tokens, so consecutive windows share one token and every
// token after the first is a target exactly once. Packing wastes no compute on padding; documents may
// span windows, which is harmless for next-token training. The last window is filled with PAD, which
// batches mask out. It panics if seqLen < 1.
func PackDocuments(tok Tokenizer, docs []string, seqLen int) [][]int32 {
	if seqLen < 1 {
		panic(fmt.Sprintf("data: PackDocuments seq_len=%d: must be >= 1", seqLen))
	}
	var stream []int32
	for _, doc := range docs {
		stream = append(stream, BOS)
		stream = append(stream, tok.Encode(doc)...)
		stream = append(stream, EOS)
	}
	return cutWindows(stream, seqLen)
}

// cutWindows cuts a token stream into windows of seqLen+1 tokens taken every
// seqLen tokens, the last one filled with PAD; nil for fewer than 2 tokens.
func cutWindows(stream []int32, seqLen int) [][]int32 {
	if len(stream) < 2 {
		return nil
	}
	n := (len(stream) - 1 + seqLen - 1) / seqLen
	windows := make([][]int32, n)
	for i := range windows {
		w := make([]int32, seqLen+1)
		copied := copy(w, stream[i*seqLen:])
		for j := copied; j < len(w); j++ {
			w[j] = PAD
		}
		windows[i] = w
	}
	return windows
}

// windowsBatch turns packed windows of seqLen+1 tokens into a Batch, masking PAD targets.
func windowsBatch(windows [][]int32) Batch {
	b := newBatch(len(windows), len(windows[0])-1)
	for i, w := range windows {
		copy(b.Inputs[i], w[:len(w)-1])
		copy(b.Targets[i], w[1:])
		for t, target := range b.Targets[i] {
			if target != PAD {
				b.Mask[i][t] = 1
			}
		}
	}
	return b
}

func newBatch(batch, seqLen int) Batch {
	b := Batch{Inputs: make([][]int32, batch), Targets: make([][]int32, batch), Mask: make([][]float32, batch)}
	for i := range batch {
		b.Inputs[i] = make([]int32, seqLen)
		b.Targets[i] = make([]int32, seqLen)
		b.Mask[i] = make([]float32, seqLen)
	}
	return b
}

// PadBatch turns ragged token sequences into a [len(seqs)][seqLen] batch for next-token prediction: row i
// reads seqs[i][:T] and predicts seqs[i][1:T+1] with T = min(len(seqs[i])-1, seqLen), so sequences longer
// than seqLen+1 are truncated. Positions beyond are filled with pad and masked out by position, so pad
// may be any id, even one that also occurs in the text. A sequence shorter than seqLen+1 keeps its last
// token in Inputs too (Inputs[i][:len(s)] == s), so the logits at position len(s)-1 predict what follows
// it: the same batch serves for scoring and for generation.
func PadBatch(seqs [][]int32, seqLen int, pad int32) Batch {
	b := newBatch(len(seqs), seqLen)
	for i, s := range seqs {
		n := min(max(len(s)-1, 0), seqLen)
		for t := range seqLen {
			if t < n {
				b.Inputs[i][t], b.Targets[i][t], b.Mask[i][t] = s[t], s[t+1], 1
				continue
			}
			b.Inputs[i][t], b.Targets[i][t] = pad, pad
			if t == n && t < len(s) {
				b.Inputs[i][t] = s[t] // the last token is still read, it just has nothing to predict.
			}
		}
	}
	return b
}
