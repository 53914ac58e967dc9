package plot

import (
	"bytes"
	"fmt"
	"gonum.org/v1/plot/vg"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// exampleLine is a memory-scaling chart: log-x, error bars, a reference line.
func exampleLine() LineSpec {
	return LineSpec{
		Title: "Validation NLL vs memory size", XLabel: "memory values (n_keys²)", YLabel: "validation NLL",
		LogX: true,
		Series: []Series{
			{Name: "memory", X: []float64{1024, 4096, 16384, 65536, 262144, 1048576}, Y: []float64{3.9, 3.78, 3.66, 3.57, 3.49, 3.43}, YErr: []float64{0.03, 0.02, 0.03, 0.02, 0.02, 0.03}},
			{Name: "memory+", X: []float64{1024, 4096, 16384, 65536, 262144, 1048576}, Y: []float64{3.85, 3.71, 3.58, 3.47, 3.38, 3.31}},
			{Name: "PEER", X: []float64{1024, 4096, 16384, 65536, 262144}, Y: []float64{3.88, 3.76, 3.65, 3.58, 3.52}},
		},
		HLines: []HLine{{Name: "dense", Y: 3.95}, {Name: "dense ×4 FLOPs", Y: 3.45}},
	}
}

func exampleBars() BarSpec {
	return BarSpec{
		Title: "Training throughput", YLabel: "tokens / s",
		Groups: []string{"dense", "MoE", "PEER", "memory n_keys=128", "memory n_keys=512", "memory+ n_keys=512"},
		Series: []Series{
			{Name: "go:ops_sequential", Y: []float64{2000, 1500, 900, 1050, 840, 800}, YErr: []float64{50, 40, 30, 35, 30, 30}},
			{Name: "go", Y: []float64{2300, 1700, 1000, 1200, 950, 900}},
		},
	}
}

func exampleHeatmap(n int) HeatmapSpec {
	vals := make([][]float64, n)
	for i := range vals {
		vals[i] = make([]float64, n)
		for j := range vals[i] {
			vals[i][j] = math.Max(0, 1000*math.Exp(-float64((i-n/3)*(i-n/3)+(j-n/2)*(j-n/2))/float64(n*n/8))-100)
		}
	}
	return HeatmapSpec{Title: "Memory slot reads", XLabel: "key index j", YLabel: "key index i", ZLabel: "reads", Values: vals}
}

func renderCheck(t *testing.T, name string, p *plot.Plot, title string) {
	t.Helper()
	png, err := PNG(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(png, pngMagic) {
		t.Errorf("%s: PNG bytes lack the PNG signature", name)
	}
	svg, err := SVG(p, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(svg, []byte("<svg")) || !bytes.Contains(svg, []byte(title)) {
		t.Errorf("%s: SVG lacks <svg or the title %q", name, title)
	}
	// PLOTCHECK_DIR=/tmp/plotcheck keeps the images for a human look.
	if dir := os.Getenv("PLOTCHECK_DIR"); dir != "" {
		if _, _, err := Save(p, filepath.Join(dir, name), 0, 0); err != nil {
			t.Fatal(err)
		}
	}
}

func TestChartsRender(t *testing.T) {
	line, err := Line(exampleLine())
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "line", line, "Validation NLL vs memory size")

	logY := exampleLine()
	logY.LogX, logY.LogY, logY.Title = false, true, "Loss (log y)"
	logY.Series[0].X = []float64{1, 2, 3, 4, 5, 6}
	logY.Series[1].X = []float64{1, 2, 3, 4, 5, 6}
	logY.Series[2].X = []float64{1, 2, 3, 4, 5}
	p, err := Line(logY)
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "line_logy", p, "Loss (log y)")

	bars, err := Bars(exampleBars())
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "bars", bars, "Training throughput")

	small, err := Heatmap(exampleHeatmap(16))
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "heatmap_small", small, "Memory slot reads")
	big, err := Heatmap(exampleHeatmap(256)) // Rasterized.
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "heatmap", big, "Memory slot reads")
}

func TestSaveWritesBothFormats(t *testing.T) {
	p, err := Line(LineSpec{Title: "t", Series: []Series{{Name: "a", X: []float64{1}, Y: []float64{2}}}, LogX: true, LogY: true})
	if err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(t.TempDir(), "new", "dir", "chart")
	pngPath, svgPath, err := Save(p, base, 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	if pngPath != base+".png" || svgPath != base+".svg" {
		t.Errorf("paths %q %q", pngPath, svgPath)
	}
	for _, f := range []string{pngPath, svgPath} {
		if fi, err := os.Stat(f); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	entries, _ := os.ReadDir(filepath.Dir(base))
	if len(entries) != 2 {
		t.Errorf("directory holds %d entries, want 2 (no temporary files)", len(entries))
	}
}

func TestInvalidSpecs(t *testing.T) {
	one := []float64{1}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"no series", LineSpec{}.Validate(), "Series is empty"},
		{"empty X", LineSpec{Series: []Series{{Name: "s"}}}.Validate(), `"s": X is empty`},
		{"lengths", LineSpec{Series: []Series{{Name: "s", X: []float64{1, 2}, Y: one}}}.Validate(), "len(Y) = 1, want len(X) = 2"},
		{"yerr length", LineSpec{Series: []Series{{Name: "s", X: one, Y: one, YErr: []float64{1, 2}}}}.Validate(), "len(YErr) = 2"},
		{"negative yerr", LineSpec{Series: []Series{{Name: "s", X: one, Y: one, YErr: []float64{-1}}}}.Validate(), "YErr[0] = -1 is negative"},
		{"nan", LineSpec{Series: []Series{{Name: "s", X: one, Y: []float64{math.NaN()}}}}.Validate(), "Y[0] = NaN is not finite"},
		{"log x", LineSpec{LogX: true, Series: []Series{{Name: "s", X: []float64{1, 0}, Y: []float64{1, 1}}}}.Validate(), "X[1] = 0 is not positive, as LogX requires"},
		{"log y", LineSpec{LogY: true, Series: []Series{{Name: "s", X: one, Y: []float64{-2}}}}.Validate(), "Y[0] = -2 is not positive, as LogY requires"},
		{"log y err", LineSpec{LogY: true, Series: []Series{{Name: "s", X: one, Y: one, YErr: one}}}.Validate(), "error bar at point 0 reaches 0"},
		{"log hline", LineSpec{LogY: true, Series: []Series{{Name: "s", X: one, Y: one}}, HLines: []HLine{{Name: "h", Y: 0}}}.Validate(), `HLines[0] "h"`},
		{"no groups", BarSpec{Series: []Series{{Y: one}}}.Validate(), "Groups is empty"},
		{"no bar series", BarSpec{Groups: []string{"a"}}.Validate(), "Series is empty"},
		{"bar lengths", BarSpec{Groups: []string{"a", "b"}, Series: []Series{{Name: "s", Y: one}}}.Validate(), "want one value per group (2)"},
		{"bar X", BarSpec{Groups: []string{"a"}, Series: []Series{{Name: "s", X: one, Y: one}}}.Validate(), "leave X empty"},
		{"empty matrix", HeatmapSpec{}.Validate(), "Values is empty"},
		{"ragged", HeatmapSpec{Values: [][]float64{{1, 2}, {3}}}.Validate(), "Values[1] has 1 columns, want 2"},
		{"inf cell", HeatmapSpec{Values: [][]float64{{1, math.Inf(1)}}}.Validate(), "Values[0][1] = +Inf"},
	}
	for _, c := range cases {
		if c.err == nil || !strings.Contains(c.err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, c.err, c.want)
		}
	}
	// The constructors refuse the same specs instead of panicking inside gonum.
	if p, err := Line(LineSpec{LogX: true, Series: []Series{{X: []float64{-1}, Y: one}}}); err == nil || p != nil {
		t.Error("Line accepted a negative value on a log axis")
	}
	if _, err := Bars(BarSpec{}); err == nil {
		t.Error("Bars accepted an empty spec")
	}
	if _, err := Heatmap(HeatmapSpec{}); err == nil {
		t.Error("Heatmap accepted an empty spec")
	}
	if _, err := PNG(nil, 0, 0); err == nil {
		t.Error("PNG accepted a nil plot")
	}
}

func TestEdgeCasesRender(t *testing.T) {
	constant, err := Heatmap(HeatmapSpec{Title: "flat", Values: [][]float64{{2, 2}, {2, 2}}})
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "flat", constant, "flat")
	neg, err := Bars(BarSpec{Title: "neg", Groups: []string{"a", "b"}, Series: []Series{{Name: "d", Y: []float64{-1, 2}}}})
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "neg", neg, "neg")
	unnamed, err := Line(LineSpec{Title: "unnamed", Series: []Series{{X: []float64{0, 1}, Y: []float64{0, 1}}}})
	if err != nil {
		t.Fatal(err)
	}
	renderCheck(t, "unnamed", unnamed, "unnamed")
}

func TestLogTicksAlwaysLabelTwoValues(t *testing.T) {
	for _, r := range [][2]float64{{1, 1e6}, {1000, 8000}, {1.1, 1.3}, {0.02, 0.5}, {3, 3.5}, {1e-3, 1e12}} {
		n := 0
		for _, tk := range (logTicks{}).Ticks(r[0], r[1]) {
			if tk.Value < r[0]*(1-1e-9) || tk.Value > r[1]*(1+1e-9) {
				t.Errorf("range %v: tick %v outside", r, tk.Value)
			}
			if tk.Label != "" {
				n++
			}
		}
		if n < 2 {
			t.Errorf("range %v: %d labels", r, n)
		}
	}
}

// TestXTicksLabelTheGivenValues: a sweep over 120…960 people, a log axis within
// one decade, gets its four sizes as labels, not round numbers between them.
func TestXTicksLabelTheGivenValues(t *testing.T) {
	spec := LineSpec{Title: "capacity", XLabel: "people", YLabel: "bits", LogX: true,
		XTicks: []float64{120, 240, 480, 960},
		Series: []Series{{Name: "dense", X: []float64{120, 240, 480, 960}, Y: []float64{1, 2, 3, 4}}}}
	p, err := Line(spec)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
		if tk.Label != "" {
			labels = append(labels, tk.Label)
		}
	}
	if got := strings.Join(labels, " "); got != "120 240 480 960" {
		t.Errorf("x labels %q, want the four sizes", got)
	}
	spec.XTicks = []float64{0, 100}
	if _, err := Line(spec); err == nil || !strings.Contains(err.Error(), "XTicks[0]") {
		t.Errorf("a zero tick on a log axis: err %v, want one naming XTicks[0]", err)
	}
}

// TestTiltedFirstLabelHasRoom: when long group names are tilted, the first one
// hangs left of its bar; the chart must reserve that room (gonum pads only for
// plotters' glyphs), or the label is cut at the chart's edge.
func TestTiltedFirstLabelHasRoom(t *testing.T) {
	groups := []string{"memory+ (3 layers)", "1 layer", "all 4 layers", "no SiLU gate", "no qk-norm",
		"value lr x0.3", "value lr x10", "v_dim/4, 2x n_keys", "knn/2", "1 head"}
	p, err := Bars(BarSpec{Title: "ablations", YLabel: "nats", Groups: groups,
		Series: []Series{{Name: "held-out", Y: []float64{6, 6, 6, 6, 6, 6, 6, 6, 6, 6}}}})
	if err != nil {
		t.Fatal(err)
	}
	if p.X.Tick.Label.Rotation == 0 {
		t.Fatal("ten long group names should be tilted")
	}
	hang := -p.X.Tick.Label.Rectangle(groups[0]).Min.X
	room := vg.Length(0)
	for _, b := range p.GlyphBoxes(p) {
		room = max(room, -b.Min.X)
	}
	if hang <= 0 || room < hang {
		t.Errorf("first label hangs %v left of its tick, the plot reserves %v", hang, room)
	}
}

func TestFormatTick(t *testing.T) {
	for v, want := range map[float64]string{0: "0", 1: "1", 2.5: "2.5", 1000: "1k", 250000: "250k", 1.5e6: "1.5M", 2e9: "2G", 0.25: "0.25", 1e-5: "1e-05", -3000: "-3k"} {
		if got := formatTick(v); got != want {
			t.Errorf("formatTick(%v) = %q, want %q", v, got, want)
		}
	}
}

func TestSeriesStylesAreDistinct(t *testing.T) {
	seen := map[string]int{}
	for i := range 64 {
		key := fmt.Sprintf("%v/%T", seriesColor(i), seriesGlyph(i))
		if j, ok := seen[key]; ok {
			t.Fatalf("series %d and %d share colour and marker %s", j, i, key)
		}
		seen[key] = i
	}
}
