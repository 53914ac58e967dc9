package data

import "fmt"

// QASequence tokenizes one question for scoring or generation: ids = BOS + Encode(Prompt(q)) +
// Encode(Target(q)), where the answer's tokens start at ids[answerStart]. ids[:answerStart] is the prompt
// to generate from. This mirrors how training QA appears in Documents (each QAText its own document).
func QASequence(tok Tokenizer, q QA) (ids []int32, answerStart int) {
	ids = append([]int32{BOS}, tok.Encode(Prompt(q))...)
	answerStart = len(ids)
	return append(ids, tok.Encode(Target(q))...), answerStart
}

// QABatch builds a batch whose Mask is 1 only on answer tokens (Target(q), newline included), so the
// model's masked loss is the answer's negative log-likelihood given the question; padding and prompt
// tokens carry no loss. It fails if a question does not fit in seqLen (truncation would cut the answer).
func QABatch(tok Tokenizer, qas []QA, seqLen int) (Batch, error) {
	seqs := make([][]int32, len(qas))
	starts := make([]int, len(qas))
	for i, q := range qas {
		seqs[i], starts[i] = QASequence(tok, q)
		if len(seqs[i])-1 > seqLen {
			return Batch{}, fmt.Errorf("data: QA %d (%q) is %d tokens: must be <= seq_len+1=%d; raise seq_len", i, q.Question, len(seqs[i]), seqLen+1)
		}
	}
	b := PadBatch(seqs, seqLen, PAD)
	for i := range b.Mask {
		// Target position t predicts ids[t+1]: keep the loss only where that is an answer token.
		for t := 0; t+1 < starts[i]; t++ {
			b.Mask[i][t] = 0
		}
	}
	return b, nil
}
