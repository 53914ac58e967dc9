package plot

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// siTicks is gonum's default linear ticker with labels in SI notation ("250k", "1.5M"), which is how
// parameter and token counts are read, instead of "2.5e+05".
type siTicks struct{}

func (siTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = formatTick(ticks[i].Value)
		}
	}
	return ticks
}

// logTicks labels a logarithmic axis so that every chart shows at least two labelled values: powers of ten
// when the range covers a few decades, 1-2-5 steps over a decade or two, linear steps within a decade.
// (gonum's LogTicks labels only powers of ten, leaving a 1k–8k axis unlabelled.)
type logTicks struct{}

func (logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) {
		return nil
	}
	if max < 10*min { // Within a decade a log axis is nearly linear, and so are readable labels.
		var ticks []plot.Tick
		for _, t := range (siTicks{}).Ticks(min, max) {
			if t.Value > 0 && t.Value >= min && t.Value <= max {
				ticks = append(ticks, t)
			}
		}
		if countLabels(ticks) >= 2 {
			return ticks
		}
	}
	lo, hi := int(math.Floor(math.Log10(min))), int(math.Ceil(math.Log10(max)))
	withMinor := hi-lo <= 6 // Over many decades minor ticks would be a blur.
	var ticks []plot.Tick
	for _, labelled := range [][]int{{1}, {1, 2, 5}, {1, 2, 3, 4, 5, 6, 7, 8, 9}} {
		ticks = ticks[:0]
		nLabels := 0
		for e := lo; e <= hi; e++ {
			for m := 1; m <= 9; m++ {
				v := float64(m) * math.Pow10(e)
				if v < min*(1-1e-9) || v > max*(1+1e-9) || (m > 1 && !withMinor) {
					continue
				}
				t := plot.Tick{Value: v}
				if containsInt(labelled, m) {
					t.Label = formatTick(v)
					nLabels++
				}
				ticks = append(ticks, t)
			}
		}
		if nLabels >= 2 {
			return ticks
		}
	}
	// Narrower than one digit step (e.g. 1.1 to 1.3): label the ends.
	return append(ticks, plot.Tick{Value: min, Label: formatTick(min)}, plot.Tick{Value: max, Label: formatTick(max)})
}

// valueTicks labels the given values, in compact form, and nothing else.
type valueTicks []float64

func (v valueTicks) Ticks(min, max float64) []plot.Tick {
	var ticks []plot.Tick
	for _, x := range v {
		if x >= min && x <= max {
			ticks = append(ticks, plot.Tick{Value: x, Label: formatTick(x)})
		}
	}
	return ticks
}

func countLabels(ticks []plot.Tick) int {
	n := 0
	for _, t := range ticks {
		if t.Label != "" {
			n++
		}
	}
	return n
}

func containsInt(xs []int, x int) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

// formatTick writes v compactly: SI suffixes from a thousand up, three significant digits below one.
func formatTick(v float64) string {
	if v == 0 {
		return "0"
	}
	a := math.Abs(v)
	for _, u := range []struct {
		scale  float64
		suffix string
	}{{1e12, "T"}, {1e9, "G"}, {1e6, "M"}, {1e3, "k"}} {
		if a >= u.scale*(1-1e-9) {
			return trimFloat(v/u.scale) + u.suffix
		}
	}
	if a >= 1 {
		return trimFloat(v)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// trimFloat prints at most 3 significant decimals without trailing zeros (2.50 → "2.5").
func trimFloat(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}
