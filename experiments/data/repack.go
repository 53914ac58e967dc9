package data

import "fmt"

// Packing the documents once and reusing the same windows every epoch lets a
// model that sees the text many times memorise each window as a whole: a
// fact's tokens get predicted from whatever happened to precede them in its
// window (the previous biography, the previous question of the same person)
// instead of from the question. Such a model reaches a training loss near
// zero and still cannot answer the question on its own. Shuffling the
// documents and packing them again every epoch (what multi-epoch training of
// language models does) leaves only the document itself as reliable context.

// NewRepackingBatcher returns a Batcher over docs that, at the start of every
// epoch, orders the documents by a permutation drawn from seed and the epoch,
// packs them like PackDocuments, and deals that epoch's windows in a shuffled
// order. Every epoch has the same number of windows (the token stream has the
// same length), so State, SetState and Epochs mean what they do for NewBatcher.
func NewRepackingBatcher(tok Tokenizer, docs []string, seqLen, batchSize int, seed int64) (*Batcher, error) {
	if seqLen < 1 {
		return nil, fmt.Errorf("data: seq_len=%d: must be >= 1", seqLen)
	}
	encoded := encodeDocs(tok, docs)
	b, err := NewBatcher(packEpoch(encoded, seqLen, seed, 0), batchSize, seed)
	if err != nil {
		return nil, err
	}
	b.docs, b.seqLen = encoded, seqLen
	b.permEpoch = -1
	return b, nil
}

// encodeDocs encodes each document as BOS+tokens+EOS.
func encodeDocs(tok Tokenizer, docs []string) [][]int32 {
	encoded := make([][]int32, len(docs))
	for i, doc := range docs {
		e := append([]int32{BOS}, tok.Encode(doc)...)
		encoded[i] = append(e, EOS)
	}
	return encoded
}

// packEpoch concatenates the encoded documents in epoch's order and cuts the
// stream into windows of seqLen+1 tokens every seqLen tokens, the last one
// padded with PAD.
func packEpoch(docs [][]int32, seqLen int, seed int64, epoch int) [][]int32 {
	var stream []int32
	for _, i := range newRNG(seed, 5, uint64(epoch)).perm(len(docs)) {
		stream = append(stream, docs[i]...)
	}
	return cutWindows(stream, seqLen)
}
