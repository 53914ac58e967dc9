package data

import (
	"reflect"
	"strings"
	"testing"
)

func TestPackDocuments(t *testing.T) {
	tok := ByteTokenizer{}
	docs := []string{"hello", "", "world!!", "x"}
	var stream []int32
	for _, d := range docs {
		stream = append(append(append(stream, BOS), tok.Encode(d)...), EOS)
	}
	for _, seqLen := range []int{1, 3, 4, 7, 100} {
		windows := PackDocuments(tok, docs, seqLen)
		// Rebuild the stream: the first window whole, then each next window without its shared first token.
		var rebuilt []int32
		for i, w := range windows {
			if len(w) != seqLen+1 {
				t.Fatalf("seqLen %d: window %d has %d tokens", seqLen, i, len(w))
			}
			if i > 0 && w[0] != windows[i-1][seqLen] {
				t.Fatalf("seqLen %d: window %d does not start where window %d ends", seqLen, i, i-1)
			}
			if i == 0 {
				rebuilt = append(rebuilt, w...)
			} else {
				rebuilt = append(rebuilt, w[1:]...)
			}
		}
		for len(rebuilt) > len(stream) && rebuilt[len(rebuilt)-1] == PAD {
			rebuilt = rebuilt[:len(rebuilt)-1]
		}
		if !reflect.DeepEqual(rebuilt, stream) {
			t.Fatalf("seqLen %d: windows do not reproduce the stream:\n%v\n%v", seqLen, rebuilt, stream)
		}
		// Every stream token after the first is a real target exactly once.
		b := windowsBatch(windows)
		if got := b.MaskedTokens(); got != len(stream)-1 {
			t.Fatalf("seqLen %d: %d masked targets, want %d", seqLen, got, len(stream)-1)
		}
	}
	if PackDocuments(tok, nil, 4) != nil {
		t.Error("no documents must give no windows")
	}
	defer func() {
		if recover() == nil {
			t.Error("seqLen 0 did not panic")
		}
	}()
	PackDocuments(tok, docs, 0)
}

func TestWindowsBatchShiftAndMask(t *testing.T) {
	b := windowsBatch([][]int32{{BOS, 'a', 'b', EOS, PAD}})
	if !reflect.DeepEqual(b.Inputs[0], []int32{BOS, 'a', 'b', EOS}) ||
		!reflect.DeepEqual(b.Targets[0], []int32{'a', 'b', EOS, PAD}) ||
		!reflect.DeepEqual(b.Mask[0], []float32{1, 1, 1, 0}) {
		t.Fatalf("batch = %+v", b)
	}
	if bs, sl := b.Size(); bs != 1 || sl != 4 {
		t.Fatalf("Size() = %d, %d", bs, sl)
	}
}

func TestPadBatch(t *testing.T) {
	const pad = -7
	b := PadBatch([][]int32{{1, 2, 3}, {4, 5, 6, 7, 8, 9, 10}, {}, {11}, {1, 2, 3, 4, 5}}, 4, pad)
	want := Batch{
		Inputs:  [][]int32{{1, 2, 3, pad}, {4, 5, 6, 7}, {pad, pad, pad, pad}, {11, pad, pad, pad}, {1, 2, 3, 4}},
		Targets: [][]int32{{2, 3, pad, pad}, {5, 6, 7, 8}, {pad, pad, pad, pad}, {pad, pad, pad, pad}, {2, 3, 4, 5}},
		Mask:    [][]float32{{1, 1, 0, 0}, {1, 1, 1, 1}, {0, 0, 0, 0}, {0, 0, 0, 0}, {1, 1, 1, 1}},
	}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("PadBatch =\n%+v\nwant\n%+v", b, want)
	}
	// Masking is by position: a pad id that also occurs in the text is still a target.
	b = PadBatch([][]int32{{1, 0, 0}}, 3, 0)
	if !reflect.DeepEqual(b.Mask[0], []float32{1, 1, 0}) {
		t.Fatalf("mask with pad id in text = %v", b.Mask[0])
	}
}

func testWindows(n int) [][]int32 {
	w := make([][]int32, n)
	for i := range w {
		w[i] = []int32{int32(i), int32(i + 1000), int32(i + 2000)}
	}
	return w
}

func TestBatcherEpochsCoverEveryWindow(t *testing.T) {
	windows := testWindows(10)
	b, err := NewBatcher(windows, 4, 1)
	if err != nil {
		t.Fatal(err)
	}
	var epoch0, epoch1 []int32
	for range 5 { // 20 windows = 2 epochs; batches 3 spans the epoch boundary
		batch := b.Next()
		if bs, sl := batch.Size(); bs != 4 || sl != 2 {
			t.Fatalf("batch size %d×%d", bs, sl)
		}
		for _, row := range batch.Inputs {
			if len(epoch0) < 10 {
				epoch0 = append(epoch0, row[0])
			} else {
				epoch1 = append(epoch1, row[0])
			}
		}
	}
	for name, ep := range map[string][]int32{"epoch 0": epoch0, "epoch 1": epoch1} {
		seen := map[int32]bool{}
		for _, id := range ep {
			seen[id] = true
		}
		if len(seen) != 10 {
			t.Fatalf("%s served %v: want every window exactly once", name, ep)
		}
	}
	if reflect.DeepEqual(epoch0, epoch1) {
		t.Error("epochs 0 and 1 have the same order")
	}
	if s := b.State(); s != (BatcherState{Epoch: 2, Index: 0}) || b.Epochs() != 2 {
		t.Errorf("State() = %+v, Epochs() = %v after 2 epochs", s, b.Epochs())
	}
	if b.StepsPerEpoch() != 3 || b.Windows() != 10 {
		t.Errorf("StepsPerEpoch() = %d, Windows() = %d", b.StepsPerEpoch(), b.Windows())
	}
}

func TestBatcherResume(t *testing.T) {
	windows := testWindows(13)
	ref, _ := NewBatcher(windows, 5, 42)
	var want []Batch
	var states []BatcherState
	for range 12 {
		states = append(states, ref.State())
		want = append(want, ref.Next())
	}
	for k := range want {
		resumed, _ := NewBatcher(windows, 5, 42)
		if err := resumed.SetState(states[k]); err != nil {
			t.Fatal(err)
		}
		for i := k; i < len(want); i++ {
			if got := resumed.Next(); !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("resumed at step %d (%+v): batch %d differs", k, states[k], i)
			}
		}
	}
	other, _ := NewBatcher(windows, 5, 43)
	if reflect.DeepEqual(other.Next(), want[0]) {
		t.Error("different seeds gave the same first batch")
	}
	// Fewer windows than the batch size still gives full batches.
	small, _ := NewBatcher(testWindows(2), 5, 1)
	if bs, _ := small.Next().Size(); bs != 5 {
		t.Errorf("batch of %d from 2 windows, want 5", bs)
	}
}

func TestBatcherErrors(t *testing.T) {
	cases := []struct {
		windows [][]int32
		bs      int
		want    string
	}{
		{testWindows(3), 0, "batch_size=0: must be >= 1"},
		{nil, 2, "windows=0"},
		{[][]int32{{1}}, 2, "window length=1: must be >= 2"},
		{[][]int32{{1, 2}, {1, 2, 3}}, 2, "window 1 length=3"},
	}
	for _, c := range cases {
		if _, err := NewBatcher(c.windows, c.bs, 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("NewBatcher err = %v, want %q", err, c.want)
		}
	}
	b, _ := NewBatcher(testWindows(3), 2, 1)
	for _, s := range []BatcherState{{-1, 0}, {0, -1}, {0, 3}} {
		if err := b.SetState(s); err == nil {
			t.Errorf("SetState(%+v) accepted", s)
		}
	}
}

func TestQABatch(t *testing.T) {
	d, _ := Biographies(BioConfig{People: 4, Templates: 1, Seed: 1})
	for _, tok := range []Tokenizer{ByteTokenizer{}, NewWordTokenizer(d.Documents, 0)} {
		qas := d.EvalQA[:3]
		b, err := QABatch(tok, qas, 80)
		if err != nil {
			t.Fatalf("%s: %v", tok.Name(), err)
		}
		for i, q := range qas {
			var answer []int32
			for t2, m := range b.Mask[i] {
				if m == 1 {
					answer = append(answer, b.Targets[i][t2])
				}
			}
			if got := tok.Decode(answer); got != Target(q) {
				t.Errorf("%s: masked targets decode to %q, want %q", tok.Name(), got, Target(q))
			}
			ids, start := QASequence(tok, q)
			if tok.Decode(ids[:start]) != Prompt(q) || ids[0] != BOS {
				t.Errorf("%s: prompt ids decode to %q", tok.Name(), tok.Decode(ids[:start]))
			}
		}
		if _, err := QABatch(tok, qas, 5); err == nil || !strings.Contains(err.Error(), "raise seq_len") {
			t.Errorf("%s: too-short seq_len err = %v", tok.Name(), err)
		}
	}
}
