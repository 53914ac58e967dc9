package plot

import (
	"errors"
	"fmt"
	"image/color"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// BarSpec describes a grouped bar chart, e.g. tokens/s of each model (series) on each backend (group).
type BarSpec struct {
	Title, YLabel string
	// Groups name the categories along the x axis.
	Groups []string
	// Series are one bar colour each; Y holds one value per group (X is not used) and YErr an optional
	// spread per group.
	Series []Series
}

// Validate checks that the spec can be drawn.
func (s BarSpec) Validate() error {
	if len(s.Groups) == 0 {
		return errors.New("plot: BarSpec.Groups is empty: nothing to draw")
	}
	if len(s.Series) == 0 {
		return errors.New("plot: BarSpec.Series is empty: nothing to draw")
	}
	for _, se := range s.Series {
		if len(se.X) != 0 {
			return fmt.Errorf("plot: series %q: X is set but bar charts place values by Groups; leave X empty", se.Name)
		}
		if len(se.Y) != len(s.Groups) {
			return fmt.Errorf("plot: series %q: len(Y) = %d, want one value per group (%d)", se.Name, len(se.Y), len(s.Groups))
		}
		if se.YErr != nil && len(se.YErr) != len(s.Groups) {
			return fmt.Errorf("plot: series %q: len(YErr) = %d, want 0 or one per group (%d)", se.Name, len(se.YErr), len(s.Groups))
		}
		if err := checkFinite(se.Name, "Y", se.Y); err != nil {
			return err
		}
		if err := checkFinite(se.Name, "YErr", se.YErr); err != nil {
			return err
		}
		for i, e := range se.YErr {
			if e < 0 {
				return fmt.Errorf("plot: series %q: YErr[%d] = %v is negative", se.Name, i, e)
			}
		}
	}
	return nil
}

// groupWidth is the fraction of the space between two group centres covered by a group's bars.
const groupWidth = 0.8

// Bars draws spec as a grouped bar chart with a legend on the right. Group labels are rotated when they
// would otherwise run into each other.
func Bars(spec BarSpec) (p *plot.Plot, err error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	defer catch("bar chart "+spec.Title, &err)
	p, grid := newPlot(spec.Title, "", spec.YLabel)
	grid.Vertical.Color = nil // Lines through group centres would cut the bars.
	p.NominalX(spec.Groups...)
	p.Y.Padding = 0
	legend := addSideLegend(p)
	n := len(spec.Series)
	barWidth := groupWidth / float64(n)
	for i, se := range spec.Series {
		b := &groupedBars{
			values: se.Y, errs: se.YErr,
			offset: -groupWidth/2 + (float64(i)+0.5)*barWidth, width: barWidth,
			fill: seriesColor(i),
		}
		p.Add(b)
		legend.Add(se.Name, b)
	}
	rotateLongLabels(p, spec.Groups)
	// Headroom above the tallest bar (and below the lowest negative one), so no bar touches the frame.
	span := p.Y.Max - p.Y.Min
	if p.Y.Max > 0 {
		p.Y.Max += 0.05 * span
	}
	if p.Y.Min < 0 {
		p.Y.Min -= 0.05 * span
	}
	return p, nil
}

// rotateLongLabels tilts category labels when their total width would crowd a default-size chart.
func rotateLongLabels(p *plot.Plot, groups []string) {
	var total vg.Length
	for _, g := range groups {
		total += p.X.Tick.Label.Width(g) + vg.Points(6)
	}
	if total > DefaultWidth*0.6 {
		p.X.Tick.Label.Rotation = math.Pi / 6
		p.X.Tick.Label.XAlign = draw.XRight
		p.X.Tick.Label.YAlign = draw.YCenter
		if len(groups) > 0 {
			p.Add(firstLabelRoom{label: groups[0]})
		}
	}
}

// firstLabelRoom reserves room left of the first group for its tilted label, which hangs left of
// its tick. gonum pads the data area for the plotters' glyphs but not for the x axis' tick labels on
// the left, so a long first label ("memory+ (3 layers)") was cut off at the chart's edge.
type firstLabelRoom struct{ label string }

func (firstLabelRoom) Plot(draw.Canvas, *plot.Plot) {}

func (r firstLabelRoom) GlyphBoxes(p *plot.Plot) []plot.GlyphBox {
	box := p.X.Tick.Label.Rectangle(r.label)
	// Only the horizontal extent matters; a zero height leaves the vertical padding alone.
	return []plot.GlyphBox{{X: p.X.Norm(0), Rectangle: vg.Rectangle{
		Min: vg.Point{X: box.Min.X}, Max: vg.Point{X: box.Max.X}}}}
}

// groupedBars draws one series of a grouped bar chart. Widths are in data units (unlike gonum's
// BarChart, whose widths are absolute lengths), so bars fill their group at any output size.
type groupedBars struct {
	values, errs  []float64
	offset, width float64 // bar centre relative to the group centre, and bar width, in data units
	fill          color.Color
}

func (b *groupedBars) Plot(c draw.Canvas, p *plot.Plot) {
	trX, trY := p.Transforms(&c)
	outline := draw.LineStyle{Color: color.Gray{Y: 0x30}, Width: vg.Points(0.5)}
	for g, v := range b.values {
		x0, x1 := trX(float64(g)+b.offset-b.width/2), trX(float64(g)+b.offset+b.width/2)
		y0, y1 := trY(0), trY(v)
		rect := []vg.Point{{X: x0, Y: y0}, {X: x0, Y: y1}, {X: x1, Y: y1}, {X: x1, Y: y0}}
		c.FillPolygon(b.fill, c.ClipPolygonXY(rect))
		c.StrokeLines(outline, c.ClipLinesXY(append(rect, rect[0]))...)
		if b.errs != nil && b.errs[g] > 0 {
			xm := trX(float64(g) + b.offset)
			lo, hi := trY(v-b.errs[g]), trY(v+b.errs[g])
			capHalf := (x1 - x0) / 4
			whisker := draw.LineStyle{Color: color.Black, Width: vg.Points(1)}
			c.StrokeLines(whisker,
				[]vg.Point{{X: xm, Y: lo}, {X: xm, Y: hi}},
				[]vg.Point{{X: xm - capHalf, Y: lo}, {X: xm + capHalf, Y: lo}},
				[]vg.Point{{X: xm - capHalf, Y: hi}, {X: xm + capHalf, Y: hi}})
		}
	}
}

// DataRange covers every group and reaches zero, so bar heights compare truthfully.
func (b *groupedBars) DataRange() (xmin, xmax, ymin, ymax float64) {
	xmin, xmax = -0.5, float64(len(b.values))-0.5
	for g, v := range b.values {
		e := 0.0
		if b.errs != nil {
			e = b.errs[g]
		}
		ymin = math.Min(ymin, v-e)
		ymax = math.Max(ymax, v+e)
	}
	return xmin, xmax, ymin, ymax
}

// Thumbnail draws the legend swatch.
func (b *groupedBars) Thumbnail(c *draw.Canvas) {
	pts := []vg.Point{
		{X: c.Min.X, Y: c.Min.Y}, {X: c.Min.X, Y: c.Max.Y},
		{X: c.Max.X, Y: c.Max.Y}, {X: c.Max.X, Y: c.Min.Y},
	}
	c.FillPolygon(b.fill, c.ClipPolygonY(pts))
}
