package plot

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/palette"
	"gonum.org/v1/plot/palette/moreland"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/text"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// HeatmapSpec describes a matrix drawn as coloured cells, e.g. how often each slot of an n_keys×n_keys
// memory table was read.
type HeatmapSpec struct {
	Title, XLabel, YLabel string
	// ZLabel names the colour bar's quantity, e.g. "reads".
	ZLabel string
	// Values is the matrix, Values[row][col]; row 0 is drawn at the top, as matrices are printed.
	// Cells take the chart's aspect ratio: for square cells render a square matrix at e.g. 6.5×5 in.
	Values [][]float64
}

// Validate checks that the spec can be drawn.
func (s HeatmapSpec) Validate() error {
	if len(s.Values) == 0 || len(s.Values[0]) == 0 {
		return errors.New("plot: HeatmapSpec.Values is empty: nothing to draw")
	}
	cols := len(s.Values[0])
	for r, row := range s.Values {
		if len(row) != cols {
			return fmt.Errorf("plot: HeatmapSpec.Values[%d] has %d columns, want %d like row 0", r, len(row), cols)
		}
		for c, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("plot: HeatmapSpec.Values[%d][%d] = %v is not finite", r, c, v)
			}
		}
	}
	return nil
}

// rasterCells is the size above which cells are drawn as one image: a 512×512 table as vector
// rectangles would make a huge, slow SVG.
const rasterCells = 64 * 64

// Heatmap draws spec with a colour bar on the right. The palette (black → red → yellow → white) gives
// never-used slots, the usual concern, an unmistakable black.
func Heatmap(spec HeatmapSpec) (p *plot.Plot, err error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	defer catch("heat map "+spec.Title, &err)
	g := matrixGrid(spec.Values)
	lo, hi := g.zRange()
	if hi == lo { // A constant matrix still needs a colour scale.
		lo, hi = lo-0.5, hi+0.5
	}
	cmap := moreland.ExtendedBlackBody()
	cmap.SetMin(lo)
	cmap.SetMax(hi)

	p, grid := newPlot(spec.Title, spec.XLabel, spec.YLabel)
	grid.Vertical.Color, grid.Horizontal.Color = nil, nil // The cells are the grid.
	p.X.Padding, p.Y.Padding = 0, 0
	rows, cols := len(spec.Values), len(spec.Values[0])
	p.X.Tick.Marker = indexTicks{n: cols}
	p.Y.Tick.Marker = indexTicks{n: rows, flip: true}
	hm := plotter.NewHeatMap(g, cmap.Palette(256))
	hm.Min, hm.Max = lo, hi
	hm.Rasterized = rows*cols > rasterCells
	p.Add(hm)
	p.Add(&colorBar{cmap: cmap, label: spec.ZLabel, tickStyle: p.Y.Tick.Label, labelStyle: p.Y.Label.TextStyle})
	return p, nil
}

// matrixGrid adapts a row-major matrix to gonum's GridXYZ, whose row 0 is at the bottom: grid row r is
// matrix row rows-1-r, so matrix row 0 ends up on top.
type matrixGrid [][]float64

func (m matrixGrid) Dims() (c, r int)   { return len(m[0]), len(m) }
func (m matrixGrid) Z(c, r int) float64 { return m[len(m)-1-r][c] }
func (m matrixGrid) X(c int) float64    { return float64(c) }
func (m matrixGrid) Y(r int) float64    { return float64(r) }

func (m matrixGrid) zRange() (lo, hi float64) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, row := range m {
		for _, v := range row {
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
	}
	return lo, hi
}

// indexTicks labels cell indices at round steps (0, 128, 256, …); with flip, the axis value y shows
// as row n-1-y, since matrix row 0 is drawn on top.
type indexTicks struct {
	n    int
	flip bool
}

func (t indexTicks) Ticks(min, max float64) []plot.Tick {
	step := 1
	for _, s := range []int{1, 2, 4, 5, 8, 10, 16, 20, 25, 32, 50, 64, 100, 128, 200, 256, 500, 512, 1000, 1024} {
		step = s
		if t.n/s <= 8 {
			break
		}
	}
	var ticks []plot.Tick
	for i := 0; i < t.n; i += step {
		v := float64(i)
		if t.flip {
			v = float64(t.n - 1 - i)
		}
		if v >= min && v <= max {
			ticks = append(ticks, plot.Tick{Value: v, Label: fmt.Sprint(i)})
		}
	}
	return ticks
}

// colorBar draws the colour scale with value ticks to the right of the data area, in room reserved through
// a glyph box (see sideLegend), so the heat map itself stays fully visible.
type colorBar struct {
	cmap                  palette.ColorMap
	label                 string
	tickStyle, labelStyle text.Style // copied from the plot's y axis, for a consistent look
}

const (
	cbarWidth   = 12 // points
	cbarTickLen = 3  // points
)

func (b *colorBar) styles() (ticks, label text.Style) {
	ticks = b.tickStyle
	ticks.XAlign, ticks.YAlign = draw.XLeft, draw.YCenter
	label = b.labelStyle
	label.Rotation = -math.Pi / 2 // Reads top to bottom, facing the bar.
	label.XAlign, label.YAlign = draw.XCenter, draw.YCenter
	return ticks, label
}

func (b *colorBar) ticks() []plot.Tick {
	var out []plot.Tick
	lo, hi := b.cmap.Min(), b.cmap.Max()
	for _, t := range (siTicks{}).Ticks(lo, hi) {
		if t.Label != "" && t.Value >= lo && t.Value <= hi {
			out = append(out, t)
		}
	}
	return out
}

// width is the room the bar, its tick labels and its title need.
func (b *colorBar) width() vg.Length {
	tickSty, labelSty := b.styles()
	var labels vg.Length
	for _, t := range b.ticks() {
		labels = max(labels, tickSty.Width(t.Label))
	}
	w := vg.Points(legendGap+cbarWidth+cbarTickLen+3) + labels
	if b.label != "" {
		w += vg.Points(6) + labelSty.Height(b.label)
	}
	return w
}

func (b *colorBar) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	return []plot.GlyphBox{{X: 1, Y: 0.5, Rectangle: vg.Rectangle{Max: vg.Point{X: b.width()}}}}
}

func (b *colorBar) Plot(c draw.Canvas, _ *plot.Plot) {
	tickSty, labelSty := b.styles()
	x0 := c.Max.X + vg.Points(legendGap)
	x1 := x0 + vg.Points(cbarWidth)
	lo, hi := b.cmap.Min(), b.cmap.Max()
	yOf := func(v float64) vg.Length { return c.Min.Y + vg.Length((v-lo)/(hi-lo))*(c.Max.Y-c.Min.Y) }
	// One image rather than many rectangles: adjacent anti-aliased rectangles leave visible seams.
	const steps = 256
	img := image.NewRGBA(image.Rect(0, 0, 1, steps))
	for i := range steps {
		col, err := b.cmap.At(lo + (hi-lo)*(float64(i)+0.5)/steps)
		if err == nil {
			img.Set(0, steps-1-i, col) // Image rows run top-down.
		}
	}
	c.DrawImage(vg.Rectangle{Min: vg.Point{X: x0, Y: c.Min.Y}, Max: vg.Point{X: x1, Y: c.Max.Y}}, img)
	frame := draw.LineStyle{Color: color.Black, Width: vg.Points(0.5)}
	c.StrokeLines(frame, []vg.Point{{X: x0, Y: c.Min.Y}, {X: x0, Y: c.Max.Y}, {X: x1, Y: c.Max.Y}, {X: x1, Y: c.Min.Y}, {X: x0, Y: c.Min.Y}})
	var labels vg.Length
	for _, t := range b.ticks() {
		y := yOf(t.Value)
		c.StrokeLine2(frame, x1, y, x1+vg.Points(cbarTickLen), y)
		c.FillText(tickSty, vg.Point{X: x1 + vg.Points(cbarTickLen+3), Y: y}, t.Label)
		labels = max(labels, tickSty.Width(t.Label))
	}
	if b.label != "" {
		x := x1 + vg.Points(cbarTickLen+3+6) + labels + labelSty.Height(b.label)/2
		c.FillText(labelSty, vg.Point{X: x, Y: (c.Min.Y + c.Max.Y) / 2}, b.label)
	}
}
