package plot_test

import (
	"bytes"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/memlayers/memlayers/experiments/plot"
)

// A scaling chart: loss against memory size on a log axis, with a dense baseline for reference.
func ExampleLine() {
	p, err := plot.Line(plot.LineSpec{
		Title: "Validation NLL vs memory size", XLabel: "memory values", YLabel: "NLL",
		LogX: true,
		Series: []plot.Series{
			{Name: "memory", X: []float64{1 << 10, 1 << 14, 1 << 18}, Y: []float64{3.9, 3.7, 3.5}, YErr: []float64{0.02, 0.02, 0.03}},
		},
		HLines: []plot.HLine{{Name: "dense", Y: 3.95}},
	})
	if err != nil {
		log.Fatal(err)
	}
	png, err := plot.PNG(p, 0, 0) // In a GoNB notebook: gonbui.DisplayPNG(png).
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(bytes.HasPrefix(png, []byte("\x89PNG")))
	// Output: true
}

func ExampleBars() {
	p, err := plot.Bars(plot.BarSpec{
		Title: "Throughput", YLabel: "tokens/s",
		Groups: []string{"dense", "memory"},
		Series: []plot.Series{{Name: "go", Y: []float64{2000, 1050}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	dir, _ := os.MkdirTemp("", "plot-example")
	defer os.RemoveAll(dir)
	pngPath, svgPath, err := plot.Save(p, filepath.Join(dir, "plots", "throughput"), 0, 0)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(pngPath), filepath.Base(svgPath))
	// Output: throughput.png throughput.svg
}

func ExampleHeatmap() {
	_, err := plot.Heatmap(plot.HeatmapSpec{Title: "Slot reads", Values: [][]float64{{1, 2}, {3}}})
	fmt.Println(err)
	// Output: plot: HeatmapSpec.Values[1] has 1 columns, want 2 like row 0
}
