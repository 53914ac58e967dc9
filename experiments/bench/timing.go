package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"
)

// Timing is the wall time of one repeated measurement, in seconds.
type Timing struct {
	// Seconds is the fastest repeat: the least disturbed by other work on a shared machine.
	Seconds float64 `json:"seconds"`
	// MedianSeconds shows how noisy the repeats were.
	MedianSeconds float64 `json:"median_seconds"`
	// Repeats is how many timed calls were made (after the warm-up calls).
	Repeats int `json:"repeats"`
}

// measure calls fn warmup times untimed, then repeats times timed, and returns the minimum and median.
func measure(ctx context.Context, warmup, repeats int, fn func() error) (Timing, error) {
	if repeats < 1 {
		return Timing{}, fmt.Errorf("bench: repeats=%d: must be >= 1", repeats)
	}
	for range warmup {
		if err := ctx.Err(); err != nil {
			return Timing{}, err
		}
		if err := fn(); err != nil {
			return Timing{}, err
		}
	}
	times := make([]float64, 0, repeats)
	for range repeats {
		if err := ctx.Err(); err != nil {
			return Timing{}, err
		}
		start := time.Now()
		if err := fn(); err != nil {
			return Timing{}, err
		}
		times = append(times, time.Since(start).Seconds())
	}
	sort.Float64s(times)
	median := times[len(times)/2]
	if len(times)%2 == 0 {
		median = (times[len(times)/2-1] + times[len(times)/2]) / 2
	}
	// A clock with coarse resolution can report 0 for a very fast call; keep rates finite.
	minimum := math.Max(times[0], 1e-9)
	return Timing{Seconds: minimum, MedianSeconds: math.Max(median, minimum), Repeats: repeats}, nil
}

// ratio returns a/b, or 0 when b is 0 (a missing reference), so that JSON never holds Inf or NaN.
func ratio(a, b float64) float64 {
	if b == 0 || math.IsNaN(a) || math.IsNaN(b) {
		return 0
	}
	r := a / b
	if math.IsInf(r, 0) || math.IsNaN(r) {
		return 0
	}
	return r
}

// catchPanic turns a GoMLX graph-building panic into an error naming what was being measured.
func catchPanic(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("bench: %s: %v", what, firstLine(fmt.Sprint(r)))
	}
}

func firstLine(s string) string {
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	return s
}
