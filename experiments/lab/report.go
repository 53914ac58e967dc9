package lab

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"sort"
	"strings"

	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/plot"
	"github.com/memlayers/memlayers/experiments/results"
)

// ErrTooFewRuns matches (errors.Is) the error of PlotSweep and SweepCharts when the finished runs are
// not enough to draw a chart yet (e.g. a scaling sweep without any memory run).
var ErrTooFewRuns = errors.New("lab: too few finished runs to plot")

// PlotSweep draws a sweep's charts from its results (never from in-memory
// training state) and writes PNG and SVG files under dir. It returns the PNG
// paths.
func PlotSweep(s Sweep, runs []*results.Run, dir string) ([]string, error) {
	if len(runs) == 0 {
		return nil, tooFewRuns(fmt.Sprintf("lab: sweep %s has no results to plot yet", s.Name))
	}
	rows := Aggregate(runs)
	charts, err := SweepCharts(s, rows)
	if err != nil {
		return nil, err
	}
	return saveCharts(charts, dir)
}

// saveCharts writes charts (PNG and SVG, at the report's size) under dir and returns the PNG paths.
func saveCharts(charts []Chart, dir string) ([]string, error) {
	var files []string
	for _, c := range charts {
		png, _, err := plot.Save(c.Plot, filepath.Join(dir, c.File), 7*vg.Inch, 4.5*vg.Inch)
		if err != nil {
			return files, err
		}
		files = append(files, png)
	}
	return files, nil
}

// Chart is one plot of a sweep and its file name (without extension).
type Chart struct {
	File string
	Plot *gplot.Plot
}

// SweepCharts builds the charts of a sweep from aggregated rows. The files
// of the tiny preset are named after the sweep ("scaling", "scaling-em");
// other presets add their name ("scaling-small", "scaling-small-em") so that they sit next to the
// tiny charts instead of replacing them.
func SweepCharts(s Sweep, rows []Row) ([]Chart, error) {
	preset, name := "", "tiny"
	if len(s.Runs) > 0 {
		name = s.Runs[0].Preset
		preset = " (" + name + " preset)"
	}
	var charts []Chart
	var err error
	switch s.Name {
	case "scaling":
		charts, err = scalingCharts(s, rows, preset)
	case "capacity":
		charts, err = capacityCharts(s, rows, preset)
	case "memorize":
		charts, err = memorizeCharts(s, rows, preset)
	default:
		charts, err = barCharts(s, rows, preset)
	}
	if name != "tiny" {
		for i := range charts {
			charts[i].File = s.Name + "-" + name + strings.TrimPrefix(charts[i].File, s.Name)
		}
	}
	return charts, err
}

// tooFewRuns says why a chart cannot be drawn yet; it matches ErrTooFewRuns.
type tooFewRuns string

func (e tooFewRuns) Error() string        { return string(e) }
func (e tooFewRuns) Is(target error) bool { return target == ErrTooFewRuns }

func find(rows []Row, name string) (Row, bool) {
	for _, r := range rows {
		if r.Name == name {
			return r, true
		}
	}
	return Row{}, false
}

func scalingCharts(s Sweep, rows []Row, preset string) ([]Chart, error) {
	var mem []Row
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "memory-") {
			mem = append(mem, r)
		}
	}
	sort.Slice(mem, func(i, j int) bool { return mem[i].Mean["memory_value_params"] < mem[j].Mean["memory_value_params"] })
	series := func(name, key string, scale float64) plot.Series {
		ser := plot.Series{Name: name}
		for _, r := range mem {
			ser.X = append(ser.X, r.Mean["memory_value_params"])
			ser.Y = append(ser.Y, scale*r.Mean[key])
			ser.YErr = append(ser.YErr, scale*r.Std[key])
		}
		return ser
	}
	hlines := func(key string, scale float64, what string) []plot.HLine {
		var h []plot.HLine
		if r, ok := find(rows, "dense"); ok {
			h = append(h, plot.HLine{Name: "dense, no memory: " + what, Y: scale * r.Mean[key]})
		}
		if r, ok := find(rows, "dense-x4"); ok {
			h = append(h, plot.HLine{Name: fmt.Sprintf("dense %.1fx FLOPs: %s", r.Mean["flops_per_token"]/flopsOf(rows, "dense"), what),
				Y: scale * r.Mean[key]})
		}
		return h
	}
	if len(mem) == 0 {
		return nil, tooFewRuns("lab: scaling sweep has no memory runs yet")
	}
	nll, err := plot.Line(plot.LineSpec{
		Title:  "Answer NLL vs memory size" + preset,
		XLabel: "memory value parameters (log scale)", YLabel: "answer NLL (nats, lower is better)", LogX: true,
		Series: []plot.Series{series("memory: held-out people", "eval_qa_nll", 1), series("memory: seen QA", "train_qa_nll", 1)},
		HLines: append(hlines("eval_qa_nll", 1, "held-out"), hlines("train_qa_nll", 1, "seen")...),
	})
	if err != nil {
		return nil, err
	}
	em, err := plot.Line(plot.LineSpec{
		Title:  "Exact match vs memory size" + preset,
		XLabel: "memory value parameters (log scale)", YLabel: "exact match (%)", LogX: true,
		Series: []plot.Series{series("memory: held-out people", "eval_qa_em", 100), series("memory: seen QA", "train_qa_em", 100)},
		HLines: append(hlines("eval_qa_em", 100, "held-out"), hlines("train_qa_em", 100, "seen")...),
	})
	if err != nil {
		return nil, err
	}
	return []Chart{{s.Name, nll}, {s.Name + "-em", em}}, nil
}

func flopsOf(rows []Row, name string) float64 {
	if r, ok := find(rows, name); ok && r.Mean["flops_per_token"] > 0 {
		return r.Mean["flops_per_token"]
	}
	return math.NaN()
}

func barCharts(s Sweep, rows []Row, preset string) ([]Chart, error) {
	groups := make([]string, len(rows))
	bar := func(name, key string, scale float64) plot.Series {
		ser := plot.Series{Name: name}
		for i, r := range rows {
			groups[i] = r.Name
			ser.Y = append(ser.Y, scale*r.Mean[key])
			ser.YErr = append(ser.YErr, scale*r.Std[key])
		}
		return ser
	}
	nllSeries := []plot.Series{bar("held-out people", "eval_qa_nll", 1), bar("seen QA", "train_qa_nll", 1)}
	emSeries := []plot.Series{bar("held-out EM", "eval_qa_em", 100), bar("seen EM", "train_qa_em", 100)}
	nll, err := plot.Bars(plot.BarSpec{Title: s.Title + ": answer NLL" + preset, YLabel: "answer NLL (nats, lower is better)",
		Groups: groups, Series: nllSeries})
	if err != nil {
		return nil, err
	}
	em, err := plot.Bars(plot.BarSpec{Title: s.Title + ": exact match" + preset, YLabel: "exact match (%)",
		Groups: groups, Series: emSeries})
	if err != nil {
		return nil, err
	}
	return []Chart{{s.Name, nll}, {s.Name + "-em", em}}, nil
}

func capacityCharts(s Sweep, rows []Row, preset string) ([]Chart, error) {
	var dense, mem plot.Series
	dense.Name, mem.Name = "dense", "memory"
	sorted := append([]Row(nil), rows...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Mean["people"] < sorted[j].Mean["people"] })
	for _, r := range sorted {
		ser := &dense
		if strings.HasPrefix(r.Name, "memory") {
			ser = &mem
		}
		ser.X = append(ser.X, r.Mean["people"])
		ser.Y = append(ser.Y, RecalledBitsPerParam(r))
	}
	ticks := dense.X
	if len(mem.X) > len(ticks) {
		ticks = mem.X
	}
	p, err := plot.Line(plot.LineSpec{
		Title:  "Facts recalled exactly, in bits per parameter" + preset,
		XLabel: "people in the training biographies (log scale)",
		YLabel: "bits / parameter (Allen-Zhu & Li: ≈2)", LogX: true, XTicks: ticks,
		Series: []plot.Series{dense, mem},
	})
	if err != nil {
		return nil, err
	}
	return []Chart{{s.Name, p}}, nil
}

// RecalledBitsPerParam counts the facts a model answers exactly (exact match
// on the seen and the held-out people's questions, each scaled to its share of
// the people), at the average information of a biography fact, per parameter:
// a lower bound on stored knowledge that, unlike the NLL-based stored_bits,
// does not vanish when answers are confidently wrong on average.
func RecalledBitsPerParam(r Row) float64 {
	params := r.Mean["total_params"]
	if params <= 0 {
		return 0
	}
	bits, _ := recalledBits(r)
	return bits / params
}

// recalledBits is the information, in bits, of the facts a model answers
// exactly, and a bound on its seed spread (the two exact-match spreads added,
// as if they moved together).
func recalledBits(r Row) (bits, spread float64) {
	attrs := float64(data.BioAttributes())
	perFact := data.BioFactBits(data.BioConfig{People: 1}) / attrs
	facts := r.Mean["people"] * attrs
	seen := facts * data.DefaultTrainFraction
	bits = (r.Mean["train_qa_em"]*seen + r.Mean["eval_qa_em"]*(facts-seen)) * perFact
	spread = (r.Std["train_qa_em"]*seen + r.Std["eval_qa_em"]*(facts-seen)) * perFact
	return bits, spread
}
