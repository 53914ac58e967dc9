// Package plot draws the project's charts (lines, grouped bars, heat maps) with gonum/plot.
//
// The CLI saves them as PNG and SVG next to the results files they come from, and the GoNB notebooks show
// the same charts inline through [PNG], so a chart looks the same wherever it is read. Specs are checked
// before drawing: bad input (empty series, mismatched lengths, non-positive values on a log axis) returns an
// error naming the series and index instead of a gonum panic deep inside rendering.
//
// Legends and colour bars are drawn outside the data area, on the right, so they never hide a point.
package plot

import (
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// Series is one named curve (Line) or one bar colour (Bars).
type Series struct {
	Name string
	X, Y []float64
	// YErr is an optional symmetric spread (e.g. standard deviation over seeds), one per point.
	YErr []float64
}

// HLine is a dashed horizontal reference line, e.g. the loss of a dense model with 4× the FLOPs.
type HLine struct {
	Name string
	Y    float64
}

// Default chart size: wide enough for a legend on the right and readable at notebook width.
const (
	DefaultWidth  = 7 * vg.Inch
	DefaultHeight = 4.5 * vg.Inch
)

// sansSerif selects Liberation Sans, embedded in gonum like its default serif font: cleaner at small
// sizes on screen.
const sansSerif = "Sans"

// seriesColors is the Okabe–Ito palette (distinguishable with the common colour-vision deficiencies),
// minus its yellow, which is unreadable on white.
var seriesColors = []color.Color{
	rgb(0x0072B2), rgb(0xD55E00), rgb(0x009E73), rgb(0xCC79A7),
	rgb(0xE69F00), rgb(0x56B4E9), rgb(0x000000), rgb(0x7F7F7F),
}

// seriesGlyphs differ from one series to the next, so curves stay distinguishable in grey-scale prints.
var seriesGlyphs = []draw.GlyphDrawer{
	draw.CircleGlyph{}, draw.BoxGlyph{}, draw.PyramidGlyph{}, draw.RingGlyph{},
	draw.SquareGlyph{}, draw.TriangleGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{},
}

func rgb(hex uint32) color.Color {
	return color.RGBA{R: uint8(hex >> 16), G: uint8(hex >> 8), B: uint8(hex), A: 0xff}
}

func seriesColor(i int) color.Color { return seriesColors[i%len(seriesColors)] }

// seriesGlyph shifts by one each time the colours wrap around, so no two of the first 64 series look alike.
func seriesGlyph(i int) draw.GlyphDrawer {
	return seriesGlyphs[(i+i/len(seriesColors))%len(seriesGlyphs)]
}

// newPlot applies the common look: title, axis labels, font sizes and a light grid.
func newPlot(title, xLabel, yLabel string) (*plot.Plot, *plotter.Grid) {
	p := plot.New()
	p.Title.Text = title
	p.Title.TextStyle.Font.Variant = sansSerif
	p.Title.TextStyle.Font.Size = vg.Points(14)
	p.Title.Padding = vg.Points(8)
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	for _, a := range []*plot.Axis{&p.X, &p.Y} {
		a.Label.TextStyle.Font.Variant = sansSerif
		a.Label.TextStyle.Font.Size = vg.Points(12)
		a.Tick.Label.Font.Variant = sansSerif
		a.Tick.Label.Font.Size = vg.Points(10)
	}
	p.X.Tick.Marker = siTicks{}
	p.Y.Tick.Marker = siTicks{}
	grid := plotter.NewGrid()
	grid.Vertical.Color = color.Gray{Y: 0xe0}
	grid.Horizontal.Color = color.Gray{Y: 0xe0}
	grid.Vertical.Width = vg.Points(0.5)
	grid.Horizontal.Width = vg.Points(0.5)
	p.Add(grid)
	return p, grid
}

// checkFinite reports the first NaN or infinite value of xs.
func checkFinite(series, field string, xs []float64) error {
	for i, x := range xs {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("plot: series %q: %s[%d] = %v is not finite", series, field, i, x)
		}
	}
	return nil
}

// catch turns a gonum panic into an error; gonum panics on inputs its plotters cannot draw.
func catch(what string, err *error) {
	if r := recover(); r != nil {
		*err = fmt.Errorf("plot: %s: %v", what, r)
	}
}
