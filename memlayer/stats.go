package memlayer

import (
	"fmt"
	"math"
)

// Usage summarises which slots of a value table a batch of lookups read,
// as in Lample et al. 2019 (§4.4): a healthy memory spreads its reads.
type Usage struct {
	Rows    int // slots in the table (NKeys²)
	Reads   int // lookups counted
	Touched int // distinct slots read at least once
	// Fraction is Touched/Rows: the share of the memory in use.
	Fraction float64
	// KL is the Kullback-Leibler divergence (nats) of the slot-read distribution
	// from uniform; 0 is perfectly even use, log(Rows) is one slot taking all.
	KL float64
	// Counts[i] is how many times slot i was read.
	Counts []int
}

// UsageOf counts the slot indices (e.g. Lookup.Indices fetched as []int32)
// of a table with rows slots. Weights are not used: a read is a read.
func UsageOf(indices []int32, rows int) (Usage, error) {
	u := Usage{Rows: rows, Counts: make([]int, rows)}
	for _, idx := range indices {
		if idx < 0 || int(idx) >= rows {
			return Usage{}, fmt.Errorf("memlayer: slot index %d outside the table of %d rows", idx, rows)
		}
		u.Counts[idx]++
	}
	u.Reads = len(indices)
	if u.Reads == 0 || rows == 0 {
		return u, nil
	}
	for _, c := range u.Counts {
		if c == 0 {
			continue
		}
		u.Touched++
		p := float64(c) / float64(u.Reads)
		u.KL += p * math.Log(p*float64(rows))
	}
	u.Fraction = float64(u.Touched) / float64(rows)
	return u, nil
}
