package memlayer

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// TestTopTFIDFRanksSpecificSlots: a slot the batch reads often but the
// background rarely outranks one the batch reads as often that every
// background batch reads, and one the batch reads once; the scores are
// count × ln((B+1)/(df+1)).
func TestTopTFIDFRanksSpecificSlots(t *testing.T) {
	bg := NewBackgroundReads(8)
	// 4 background batches: slot 0 in all of them, slot 1 in one, slot 2 in two.
	for _, b := range [][]int32{{0, 1, 2}, {0, 0, 2}, {0}, {0, 5}} {
		if err := bg.AddBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	if bg.Batches != 4 || !slices.Equal(bg.Reads, []int32{4, 1, 2, 0, 0, 1, 0, 0}) {
		t.Fatalf("background %d batches, reads %v", bg.Batches, bg.Reads)
	}
	if got, want := bg.IDF(1), math.Log(5.0/2.0); math.Abs(got-want) > 1e-12 {
		t.Errorf("IDF(1) = %v, want ln(5/2) = %v", got, want)
	}
	if bg.IDF(0) != 0 {
		t.Errorf("a slot every batch read has IDF %v, want 0", bg.IDF(0))
	}
	// The batch (two layers' lookups): slot 0 ×3, slot 1 ×3, slot 2 ×1, slot 3 ×1, slot 6 ×2.
	batch := [][]int32{{0, 1, 0, 1, 6}, {0, 1, 2, 3, 6}}
	// Scores: 0 → 0; 1 → 3·ln(5/2)=2.75; 2 → ln(5/3)=0.51; 3 → ln 5=1.61; 6 → 2·ln 5=3.22.
	if got := TopTFIDF(bg, 2, batch...); !slices.Equal(got, []int32{1, 6}) {
		t.Errorf("top 2 = %v, want [1 6]", got)
	}
	if got := TopTFIDF(bg, 3, batch...); !slices.Equal(got, []int32{1, 3, 6}) {
		t.Errorf("top 3 = %v, want [1 3 6]", got)
	}
	if got := TopTFIDF(bg, 100, batch...); !slices.Equal(got, []int32{0, 1, 2, 3, 6}) {
		t.Errorf("t larger than the slots read = %v, want every slot read", got)
	}
	if err := bg.AddBatch([]int32{8}); err == nil {
		t.Error("AddBatch accepted a slot outside the table")
	}
	if err := bg.Validate(9); err == nil {
		t.Error("Validate accepted counts for another table size")
	}
}

// TestSparseRowsKeep drops the rows outside the kept set and keeps the
// others' gradients.
func TestSparseRowsKeep(t *testing.T) {
	s := SparseRows{Dim: 2, Rows: []int32{1, 3, 4, 7}, Grad: []float32{1, 1, 3, 3, 4, 4, 7, 7}}
	s.Keep([]int32{0, 3, 7, 9})
	if !slices.Equal(s.Rows, []int32{3, 7}) || !slices.Equal(s.Grad, []float32{3, 3, 7, 7}) {
		t.Errorf("kept rows %v grad %v, want [3 7] [3 3 7 7]", s.Rows, s.Grad)
	}
	s.Keep(nil)
	if len(s.Rows) != 0 || len(s.Grad) != 0 {
		t.Errorf("keeping nothing left rows %v", s.Rows)
	}
}

// TestBackwardValuesMatchesBackward: the value-only backward gives the same
// table gradient as the full one.
func TestBackwardValuesMatchesBackward(t *testing.T) {
	cfg := Config{Heads: 2, KNN: 4, NKeys: 8, KDim: 8}
	dim, tokens := 6, 5
	rng := rand.New(rand.NewPCG(1, 2))
	values, err := NewHostValues(cfg.Rows(), dim, 3)
	if err != nil {
		t.Fatal(err)
	}
	bag, err := NewHostBag(cfg, values)
	if err != nil {
		t.Fatal(err)
	}
	half := cfg.KDim / 2
	scores := randomFloat32(rng, cfg.Heads*2*tokens*cfg.NKeys)
	halves := randomFloat32(rng, cfg.Heads*2*tokens*half)
	keys := randomFloat32(rng, cfg.Heads*2*cfg.NKeys*half)
	if _, err := bag.Forward(scores, halves, keys, tokens); err != nil {
		t.Fatal(err)
	}
	dBag := randomFloat32(rng, tokens*dim)
	_, _, full, err := bag.Backward(dBag)
	if err != nil {
		t.Fatal(err)
	}
	wantRows, wantGrad := slices.Clone(full.Rows), slices.Clone(full.Grad)
	only, err := bag.BackwardValues(dBag)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(only.Rows, wantRows) || !slices.Equal(only.Grad, wantGrad) {
		t.Error("BackwardValues' table gradient differs from Backward's")
	}
	if len(wantRows) == 0 {
		t.Error("the bag read no rows")
	}
}
