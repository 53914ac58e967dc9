package data

import "fmt"

// Batcher deals fixed-size batches of packed windows in a shuffled order that depends only on the seed
// and the epoch. Its position (State) is two integers, so a checkpoint can store it and a resumed run
// sees exactly the batches the interrupted run would have seen.
//
// Epochs are laid end to end: a batch that reaches the end of an epoch continues with the first windows
// of the next one. So every batch is full (fixed shapes, one compiled graph), every window is seen once
// per epoch, and even fewer windows than batchSize work.
type Batcher struct {
	windows   [][]int32
	batchSize int
	seed      int64
	// docs, when set, are the encoded documents (BOS+doc+EOS each) that are
	// packed again in a new order at the start of every epoch (see
	// NewRepackingBatcher); windows then holds the current epoch's packing.
	docs   [][]int32
	seqLen int

	state     BatcherState
	permEpoch int   // epoch that perm belongs to; -1 when none
	perm      []int // window order of permEpoch
}

// BatcherState is a Batcher's position: the next window served is the Index-th of epoch Epoch's order.
type BatcherState struct {
	Epoch int `json:"epoch"`
	Index int `json:"index"`
}

// NewBatcher returns a Batcher over windows (as made by PackDocuments: all the same length, at least 2
// tokens) positioned at the start of epoch 0. The windows are not copied: do not modify them afterwards.
func NewBatcher(windows [][]int32, batchSize int, seed int64) (*Batcher, error) {
	switch {
	case batchSize < 1:
		return nil, fmt.Errorf("data: batch_size=%d: must be >= 1", batchSize)
	case len(windows) == 0:
		return nil, fmt.Errorf("data: batcher windows=0: must be >= 1 (are the documents empty?)")
	case len(windows[0]) < 2:
		return nil, fmt.Errorf("data: batcher window length=%d: must be >= 2 (seq_len+1)", len(windows[0]))
	}
	for i, w := range windows {
		if len(w) != len(windows[0]) {
			return nil, fmt.Errorf("data: batcher window %d length=%d: must equal window 0's length %d", i, len(w), len(windows[0]))
		}
	}
	return &Batcher{windows: windows, batchSize: batchSize, seed: seed, permEpoch: -1}, nil
}

// Next returns the next batch and advances the position.
func (b *Batcher) Next() Batch {
	picked := make([][]int32, b.batchSize)
	for i := range picked {
		if b.permEpoch != b.state.Epoch {
			if b.docs != nil {
				b.windows = packEpoch(b.docs, b.seqLen, b.seed, b.state.Epoch)
			}
			b.perm = newRNG(b.seed, 4, uint64(b.state.Epoch)).perm(len(b.windows))
			b.permEpoch = b.state.Epoch
		}
		picked[i] = b.windows[b.perm[b.state.Index]]
		b.state.Index++
		if b.state.Index == len(b.windows) {
			b.state = BatcherState{Epoch: b.state.Epoch + 1}
		}
	}
	return windowsBatch(picked)
}

// State returns the current position, to store in a checkpoint.
func (b *Batcher) State() BatcherState { return b.state }

// SetState moves to a position returned by State (of a Batcher over the same windows and seed).
func (b *Batcher) SetState(s BatcherState) error {
	switch {
	case s.Epoch < 0:
		return fmt.Errorf("data: batcher state epoch=%d: must be >= 0", s.Epoch)
	case s.Index < 0 || s.Index >= len(b.windows):
		return fmt.Errorf("data: batcher state index=%d: must be in [0, %d), the number of windows", s.Index, len(b.windows))
	}
	b.state = s
	return nil
}

// Windows returns the number of windows, i.e. how many are served per epoch.
func (b *Batcher) Windows() int { return len(b.windows) }

// StepsPerEpoch is the number of batches that cover the windows once (rounded up).
func (b *Batcher) StepsPerEpoch() int { return (len(b.windows) + b.batchSize - 1) / b.batchSize }

// Epochs is how many epochs the batches served so far amount to, e.g. 2.5.
func (b *Batcher) Epochs() float64 {
	return float64(b.state.Epoch) + float64(b.state.Index)/float64(len(b.windows))
}
