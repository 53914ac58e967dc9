package plot

import (
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// sideLegend is a legend drawn to the right of the data area. gonum draws its own legend inside the data
// area, where it covers points; this plotter instead reserves room through a glyph box at the right edge
// (gonum shrinks the data area until every glyph box fits) and draws the entries in that room.
type sideLegend struct {
	legend plot.Legend
	names  []string // gonum keeps its entries private; we need the texts to measure the legend.
}

// legendGap separates the data area (and its axis padding) from the legend or colour bar.
const legendGap = 10 // points

// addSideLegend returns an empty side legend already added to p.
func addSideLegend(p *plot.Plot) *sideLegend {
	l := &sideLegend{legend: plot.NewLegend()}
	l.legend.Top = true
	l.legend.Left = true
	l.legend.TextStyle.Font.Variant = sansSerif
	l.legend.TextStyle.Font.Size = vg.Points(10)
	l.legend.Padding = vg.Points(4)
	l.legend.ThumbnailWidth = vg.Points(24)
	p.Add(l)
	return l
}

// Add adds an entry; entries without a name are left out.
func (l *sideLegend) Add(name string, thumbs ...plot.Thumbnailer) {
	if name == "" {
		return
	}
	l.legend.Add(name, thumbs...)
	l.names = append(l.names, name)
}

// size is the legend's extent (gonum's Legend.Rectangle mixes up left and right).
func (l *sideLegend) size() (w, h vg.Length) {
	sty := l.legend.TextStyle
	for i, name := range l.names {
		r := sty.Rectangle(" " + name)
		w = max(w, l.legend.ThumbnailWidth+r.Max.X)
		h += r.Max.Y - r.Min.Y
		if i > 0 {
			h += l.legend.Padding
		}
	}
	return w, h
}

// GlyphBoxes reserves the legend's width to the right of the data area, from its top edge down.
func (l *sideLegend) GlyphBoxes(*plot.Plot) []plot.GlyphBox {
	if len(l.names) == 0 {
		return nil
	}
	w, h := l.size()
	return []plot.GlyphBox{{
		X: 1, Y: 1,
		Rectangle: vg.Rectangle{Min: vg.Point{X: 0, Y: -h}, Max: vg.Point{X: vg.Points(legendGap) + w, Y: 0}},
	}}
}

// Plot draws the entries in the reserved room, aligned with the top of the data area.
func (l *sideLegend) Plot(c draw.Canvas, _ *plot.Plot) {
	if len(l.names) == 0 {
		return
	}
	w, _ := l.size()
	x0 := c.Max.X + vg.Points(legendGap)
	l.legend.Draw(draw.Canvas{Canvas: c.Canvas, Rectangle: vg.Rectangle{
		Min: vg.Point{X: x0, Y: c.Min.Y},
		Max: vg.Point{X: x0 + w, Y: c.Max.Y},
	}})
}
