package plot

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// LineSpec describes a chart of curves y(x), e.g. validation loss against memory size.
type LineSpec struct {
	Title, XLabel, YLabel string
	// LogX and LogY put an axis on a logarithmic scale; all values on it must then be positive.
	LogX, LogY bool
	// XTicks, when set, labels the x axis at exactly these values (say the sizes a sweep ran) instead of
	// at round numbers, which on a short log axis can leave every point unlabelled.
	XTicks []float64
	// Series are drawn as lines with markers, each in its own colour and marker shape, points joined in
	// the order given.
	Series []Series
	// HLines are dashed reference levels spanning the whole x range.
	HLines []HLine
}

// Validate checks that the spec can be drawn.
func (s LineSpec) Validate() error {
	if len(s.Series) == 0 {
		return errors.New("plot: LineSpec.Series is empty: nothing to draw")
	}
	for _, se := range s.Series {
		if len(se.X) == 0 {
			return fmt.Errorf("plot: series %q: X is empty", se.Name)
		}
		if len(se.Y) != len(se.X) {
			return fmt.Errorf("plot: series %q: len(Y) = %d, want len(X) = %d", se.Name, len(se.Y), len(se.X))
		}
		if se.YErr != nil && len(se.YErr) != len(se.X) {
			return fmt.Errorf("plot: series %q: len(YErr) = %d, want 0 or len(X) = %d", se.Name, len(se.YErr), len(se.X))
		}
		for _, f := range []struct {
			name string
			v    []float64
		}{{"X", se.X}, {"Y", se.Y}, {"YErr", se.YErr}} {
			if err := checkFinite(se.Name, f.name, f.v); err != nil {
				return err
			}
		}
		for i := range se.X {
			if s.LogX && se.X[i] <= 0 {
				return fmt.Errorf("plot: series %q: X[%d] = %v is not positive, as LogX requires", se.Name, i, se.X[i])
			}
			if s.LogY && se.Y[i] <= 0 {
				return fmt.Errorf("plot: series %q: Y[%d] = %v is not positive, as LogY requires", se.Name, i, se.Y[i])
			}
			if se.YErr != nil && se.YErr[i] < 0 {
				return fmt.Errorf("plot: series %q: YErr[%d] = %v is negative", se.Name, i, se.YErr[i])
			}
			if s.LogY && se.YErr != nil && se.Y[i]-se.YErr[i] <= 0 {
				return fmt.Errorf("plot: series %q: error bar at point %d reaches %v, not positive, as LogY requires",
					se.Name, i, se.Y[i]-se.YErr[i])
			}
		}
	}
	for i, x := range s.XTicks {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("plot: XTicks[%d] = %v is not finite", i, x)
		}
		if s.LogX && x <= 0 {
			return fmt.Errorf("plot: XTicks[%d] = %v is not positive, as LogX requires", i, x)
		}
	}
	for i, h := range s.HLines {
		if math.IsNaN(h.Y) || math.IsInf(h.Y, 0) {
			return fmt.Errorf("plot: HLines[%d] %q: Y = %v is not finite", i, h.Name, h.Y)
		}
		if s.LogY && h.Y <= 0 {
			return fmt.Errorf("plot: HLines[%d] %q: Y = %v is not positive, as LogY requires", i, h.Name, h.Y)
		}
	}
	return nil
}

// refLineDashes and refLineGreys tell reference lines apart from each other and from data.
var (
	refLineDashes = [][]vg.Length{
		{vg.Points(6), vg.Points(3)},
		{vg.Points(2), vg.Points(2)},
		{vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
	}
	refLineGreys = []uint32{0x333333, 0x777777, 0x555555, 0x999999}
)

// Line draws spec as a line chart with a legend on the right.
func Line(spec LineSpec) (p *plot.Plot, err error) {
	if err := spec.Validate(); err != nil {
		return nil, err
	}
	defer catch("line chart "+spec.Title, &err)
	p, _ = newPlot(spec.Title, spec.XLabel, spec.YLabel)
	if spec.LogX {
		p.X.Scale = plot.LogScale{}
		p.X.Tick.Marker = logTicks{}
	}
	if len(spec.XTicks) > 0 {
		p.X.Tick.Marker = valueTicks(spec.XTicks)
	}
	if spec.LogY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = logTicks{}
	}
	legend := addSideLegend(p)

	for i, se := range spec.Series {
		xys := make(plotter.XYs, len(se.X))
		for j := range se.X {
			xys[j] = plotter.XY{X: se.X[j], Y: se.Y[j]}
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return nil, fmt.Errorf("plot: series %q: %w", se.Name, err)
		}
		line.Color = seriesColor(i)
		line.Width = vg.Points(1.5)
		points.Color = seriesColor(i)
		points.Shape = seriesGlyph(i)
		points.Radius = vg.Points(3)
		p.Add(line, points)
		if se.YErr != nil {
			errs := make(plotter.YErrors, len(se.YErr))
			for j, e := range se.YErr {
				errs[j].Low, errs[j].High = e, e
			}
			bars, err := plotter.NewYErrorBars(struct {
				plotter.XYs
				plotter.YErrors
			}{xys, errs})
			if err != nil {
				return nil, fmt.Errorf("plot: series %q: %w", se.Name, err)
			}
			bars.Color = seriesColor(i)
			bars.Width = vg.Points(1)
			bars.CapWidth = vg.Points(6)
			p.Add(bars)
		}
		legend.Add(se.Name, line, points)
	}

	for i, h := range spec.HLines {
		y := h.Y
		ref := plotter.NewFunction(func(float64) float64 { return y })
		ref.Samples = 2
		ref.LineStyle = draw.LineStyle{
			Color:  rgb(refLineGreys[i%len(refLineGreys)]),
			Width:  vg.Points(1.25),
			Dashes: refLineDashes[i%len(refLineDashes)],
		}
		p.Add(ref)
		legend.Add(h.Name, ref)
		// A Function has no data range: widen the y axis so the reference is visible.
		p.Y.Min = math.Min(p.Y.Min, y)
		p.Y.Max = math.Max(p.Y.Max, y)
	}
	padLogRange(&p.X, spec.LogX)
	padLogRange(&p.Y, spec.LogY)
	return p, nil
}

// padLogRange gives a log axis holding a single value a half-decade either side: gonum would widen it to
// [v-1, v+1], which may reach zero.
func padLogRange(a *plot.Axis, isLog bool) {
	if isLog && a.Min == a.Max && a.Min > 0 {
		a.Min, a.Max = a.Min/math.Sqrt(10), a.Max*math.Sqrt(10)
	}
}
