package data

import (
	"fmt"
	"reflect"
	"slices"
	"testing"
)

// epochStream rebuilds the token stream of one epoch from its windows (each
// window after the first shares its first token with the previous one),
// without the final padding.
func epochStream(windows [][]int32, seqLen int) []int32 {
	var stream []int32
	for i, w := range windows {
		if i == 0 {
			stream = append(stream, w...)
		} else {
			stream = append(stream, w[1:]...)
		}
	}
	for len(stream) > 0 && stream[len(stream)-1] == PAD {
		stream = stream[:len(stream)-1]
	}
	return stream
}

// splitDocs cuts a stream at EOS into BOS…EOS documents.
func splitDocs(stream []int32) []string {
	var docs []string
	start := 0
	for i, id := range stream {
		if id == EOS {
			docs = append(docs, fmt.Sprint(stream[start:i+1]))
			start = i + 1
		}
	}
	return docs
}

// TestRepackingBatcherEpochs: every epoch's windows hold every document
// exactly once, whole and in a new order; the windows of two epochs differ;
// each epoch serves all of its windows.
func TestRepackingBatcherEpochs(t *testing.T) {
	tok := ByteTokenizer{}
	var docs []string
	for i := range 12 {
		docs = append(docs, fmt.Sprintf("document %d says %s", i, string(rune('a'+i))))
	}
	var want []string
	for _, d := range docs {
		want = append(want, fmt.Sprint(append(append([]int32{BOS}, tok.Encode(d)...), EOS)))
	}
	slices.Sort(want)
	const seqLen = 16
	var orders [][]string
	for epoch := range 3 {
		windows := packEpoch(encodeDocs(tok, docs), seqLen, 7, epoch)
		if n := len(PackDocuments(tok, docs, seqLen)); len(windows) != n {
			t.Fatalf("epoch %d: %d windows, packing once gives %d", epoch, len(windows), n)
		}
		got := splitDocs(epochStream(windows, seqLen))
		orders = append(orders, got)
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if !reflect.DeepEqual(sorted, want) {
			t.Fatalf("epoch %d does not hold every document once", epoch)
		}
	}
	if reflect.DeepEqual(orders[0], orders[1]) || reflect.DeepEqual(orders[1], orders[2]) {
		t.Error("two epochs packed the documents in the same order")
	}

	// The batcher (one window per batch) serves each epoch's own packing,
	// every window once.
	b, err := NewRepackingBatcher(tok, docs, seqLen, 1, 7)
	if err != nil {
		t.Fatal(err)
	}
	inputs := func(ws [][]int32) []string {
		var k []string
		for _, w := range ws {
			k = append(k, fmt.Sprint(w[:seqLen]))
		}
		slices.Sort(k)
		return k
	}
	for epoch := range 3 {
		windows := packEpoch(encodeDocs(tok, docs), seqLen, 7, epoch)
		var served [][]int32
		for range windows {
			served = append(served, b.Next().Inputs[0])
		}
		if !reflect.DeepEqual(inputs(served), inputs(windows)) {
			t.Fatalf("epoch %d: served windows are not that epoch's packing", epoch)
		}
	}
}

// TestRepackingBatcherResume: a batcher moved to a saved State serves the
// same batches as the one that saved it, across epoch boundaries.
func TestRepackingBatcherResume(t *testing.T) {
	tok := ByteTokenizer{}
	docs := []string{"alpha beta", "gamma", "delta epsilon zeta", "eta theta", "iota", "kappa lambda mu nu"}
	ref, err := NewRepackingBatcher(tok, docs, 8, 3, 11)
	if err != nil {
		t.Fatal(err)
	}
	var want []Batch
	var states []BatcherState
	for range 15 {
		states = append(states, ref.State())
		want = append(want, ref.Next())
	}
	if states[len(states)-1].Epoch < 2 {
		t.Fatalf("test should span epochs: last state %+v", states[len(states)-1])
	}
	for k := range want {
		resumed, _ := NewRepackingBatcher(tok, docs, 8, 3, 11)
		if err := resumed.SetState(states[k]); err != nil {
			t.Fatal(err)
		}
		for i := k; i < len(want); i++ {
			if got := resumed.Next(); !reflect.DeepEqual(got, want[i]) {
				t.Fatalf("resumed at %+v: batch %d differs", states[k], i)
			}
		}
	}
	if _, err := NewRepackingBatcher(tok, docs, 0, 3, 1); err == nil {
		t.Error("seq_len 0 accepted")
	}
}
