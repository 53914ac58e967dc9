package memlayer

import (
	"fmt"
	"math"
	"slices"
)

// Sparse memory finetuning (Lin et al. 2025, "Continual Learning via Sparse
// Memory Finetuning") teaches a trained model new facts by updating only the
// memory slots most specific to them: per batch, the slots ranked highest by
// TF-IDF, where a slot's term frequency is how often the batch read it and
// its inverse document frequency how rarely background (pretraining) batches
// read it. Slots that every batch reads hold general knowledge and stay
// frozen; slots only this batch reads are free to take the new facts.

// BackgroundReads is the document frequency of a value table's slots: over
// Batches background batches, Batches[r] of them read row r at least once.
type BackgroundReads struct {
	Batches int     `json:"batches"`
	Reads   []int32 `json:"reads"` // one per row
}

// NewBackgroundReads returns empty counts for a table of rows slots.
func NewBackgroundReads(rows int) *BackgroundReads {
	return &BackgroundReads{Reads: make([]int32, rows)}
}

// AddBatch counts one background batch, given the slots its lookups read
// (HostLookup.Indices of every layer that reads the table; a slot read
// several times counts once).
func (b *BackgroundReads) AddBatch(indices ...[]int32) error {
	seen := make([]bool, len(b.Reads))
	for _, idx := range indices {
		for _, r := range idx {
			if r < 0 || int(r) >= len(b.Reads) {
				return fmt.Errorf("memlayer: background reads: slot %d outside the table's %d rows", r, len(b.Reads))
			}
			if !seen[r] {
				seen[r] = true
				b.Reads[r]++
			}
		}
	}
	b.Batches++
	return nil
}

// IDF is slot r's inverse document frequency, ln((Batches+1)/(Reads[r]+1)):
// the paper's ln(Batches/Reads[r]) with one added to both counts, so that a
// slot no background batch read gets the largest finite weight instead of
// infinity, and a slot every batch read gets 0.
func (b *BackgroundReads) IDF(r int32) float64 {
	return math.Log(float64(b.Batches+1) / float64(b.Reads[r]+1))
}

// Validate checks that the counts fit a table of rows slots.
func (b *BackgroundReads) Validate(rows int) error {
	switch {
	case b == nil:
		return fmt.Errorf("memlayer: background reads are missing")
	case len(b.Reads) != rows:
		return fmt.Errorf("memlayer: background reads cover %d slots, the table has %d", len(b.Reads), rows)
	case b.Batches < 1:
		return fmt.Errorf("memlayer: background reads from %d batches; count at least one", b.Batches)
	}
	for r, n := range b.Reads {
		if n < 0 || int(n) > b.Batches {
			return fmt.Errorf("memlayer: background reads: slot %d read by %d of %d batches", r, n, b.Batches)
		}
	}
	return nil
}

// TopTFIDF returns the (at most) t slots of a batch with the highest TF-IDF
// score, count × bg.IDF(slot), where count is how many times the batch's
// lookups (indices, of every layer that reads the table) read the slot.
// Only slots the batch read are candidates; ties go to the lower row. The
// result is sorted by row.
func TopTFIDF(bg *BackgroundReads, t int, indices ...[]int32) []int32 {
	counts := map[int32]int{}
	for _, idx := range indices {
		for _, r := range idx {
			counts[r]++
		}
	}
	type scored struct {
		row   int32
		score float64
	}
	cands := make([]scored, 0, len(counts))
	for r, n := range counts {
		cands = append(cands, scored{r, float64(n) * bg.IDF(r)})
	}
	slices.SortFunc(cands, func(a, b scored) int {
		switch {
		case a.score > b.score:
			return -1
		case a.score < b.score:
			return 1
		}
		return int(a.row - b.row)
	})
	rows := make([]int32, 0, min(t, len(cands)))
	for _, c := range cands[:min(t, len(cands))] {
		rows = append(rows, c.row)
	}
	slices.Sort(rows)
	return rows
}

// Keep restricts the gradient to rows (sorted): the other rows are dropped,
// so an optimizer step leaves them as they are.
func (s *SparseRows) Keep(rows []int32) {
	d, n, j := s.Dim, 0, 0
	for u, r := range s.Rows {
		for j < len(rows) && rows[j] < r {
			j++
		}
		if j == len(rows) || rows[j] != r {
			continue
		}
		if n != u {
			s.Rows[n] = r
			copy(s.Grad[n*d:(n+1)*d], s.Grad[u*d:(u+1)*d])
		}
		n++
	}
	s.Rows, s.Grad = s.Rows[:n], s.Grad[:n*d]
}
