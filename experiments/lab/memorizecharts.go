package lab

import (
	"fmt"
	"math"
	"sort"
	"strings"

	"github.com/memlayers/memlayers/experiments/plot"
)

// memorizeCharts draws the memorize sweep (each chart only when its runs
// have results):
//   - "-recall" and "-bits", the analog of the paper's Figure 1: exact recall
//     of the seen facts, and the bits stored (Allen-Zhu & Li's bound from the
//     answer NLL), against the memory size, with the dense base, dense ×2, ×4
//     and MoE as reference levels and Memory+ and PEER at their sizes;
//   - "-params": stored bits against parameters for every model, with the
//     2 bits per parameter that dense transformers reach after 1,000
//     exposures and the information the facts hold in all;
//   - "-bios" and "-bios-nll": the biographies variant, exact match and answer
//     NLL of the held-out people's questions against the memory size.
func memorizeCharts(s Sweep, rows []Row, preset string) ([]Chart, error) {
	facts, bios := splitBiosRows(rows)
	var charts []Chart
	add := func(file string, c Chart, err error) error {
		if err == nil && c.Plot != nil {
			c.File = s.Name + file
			charts = append(charts, c)
		}
		return err
	}
	for _, c := range []struct {
		file, key, title, label string
		scale                   float64
	}{
		{"-recall", "train_qa_em", "Random facts: exact recall", "seen facts recalled exactly (%)", 100},
		{"-bits", "stored_bits", "Random facts: bits stored", "bits stored (NLL bound)", 1},
	} {
		ch, err := memorySizeChart(facts, c.title+" vs memory size"+preset, c.label, c.key, c.scale, true)
		if err := add(c.file, ch, err); err != nil {
			return nil, err
		}
	}
	ch, err := bitsPerParamChart(facts, preset)
	if err := add("-params", ch, err); err != nil {
		return nil, err
	}
	for _, c := range []struct {
		file, key, title, label string
		scale                   float64
	}{
		{"-bios", "eval_qa_em", "Biographies: held-out exact match", "held-out people's questions: exact match (%)", 100},
		{"-bios-nll", "eval_qa_nll", "Biographies: held-out answer NLL", "held-out answer NLL (nats, lower is better)", 1},
	} {
		ch, err := memorySizeChart(bios, c.title+" vs memory size"+preset, c.label, c.key, c.scale, false)
		if err := add(c.file, ch, err); err != nil {
			return nil, err
		}
	}
	if len(charts) == 0 {
		return nil, fmt.Errorf("lab: sweep %s has no memory runs with results yet", s.Name)
	}
	return charts, nil
}

// memorySizeChart plots key of the memory-N×N rows against their memory
// value parameters (log x), with the dense models (and MoE) as reference
// levels and, when others is set, Memory+ and PEER as single points. It
// returns an empty Chart when there is no memory row.
func memorySizeChart(rows []Row, title, ylabel, key string, scale float64, others bool) (Chart, error) {
	var mem []Row
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "memory-") && !math.IsNaN(r.Mean[key]) {
			mem = append(mem, r)
		}
	}
	if len(mem) == 0 {
		return Chart{}, nil
	}
	sort.Slice(mem, func(i, j int) bool { return mem[i].Mean["memory_value_params"] < mem[j].Mean["memory_value_params"] })
	series := func(name string, rs []Row) plot.Series {
		ser := plot.Series{Name: name}
		for _, r := range rs {
			ser.X = append(ser.X, r.Mean["memory_value_params"])
			ser.Y = append(ser.Y, scale*r.Mean[key])
			ser.YErr = append(ser.YErr, scale*r.Std[key])
		}
		return ser
	}
	spec := plot.LineSpec{Title: title, XLabel: "memory value parameters (log scale)", YLabel: ylabel, LogX: true,
		Series: []plot.Series{series("memory, one layer", mem)}}
	if others {
		for _, name := range []string{"memory+", "peer"} {
			if r, ok := find(rows, name); ok && r.Mean["memory_value_params"] > 0 {
				spec.Series = append(spec.Series, series(name, []Row{r}))
			}
		}
	}
	dense := flopsOf(rows, "dense")
	for _, name := range []string{"dense", "dense-x2", "dense-x4", "moe"} {
		r, ok := find(rows, name)
		if !ok || math.IsNaN(r.Mean[key]) {
			continue
		}
		label := name
		if name != "dense" && dense > 0 {
			label = fmt.Sprintf("%s (%.1f× FLOPs)", name, r.Mean["flops_per_token"]/dense)
		}
		spec.HLines = append(spec.HLines, plot.HLine{Name: fmt.Sprintf("%s: %.3g", label, scale*r.Mean[key]), Y: scale * r.Mean[key]})
	}
	p, err := plot.Line(spec)
	return Chart{Plot: p}, err
}

// bitsPerParamChart plots every model's stored bits against its parameters
// (log-log), the 2 bits per parameter line, and the facts' information as a
// ceiling. It returns an empty Chart when no model stores anything.
func bitsPerParamChart(rows []Row, preset string) (Chart, error) {
	groups := []struct {
		name   string
		member func(string) bool
		sizes  bool // name the table sizes that have results, e.g. "(8² … 128²)"
	}{
		{"dense ×1, ×2, ×4", func(n string) bool { return n == "dense" || strings.HasPrefix(n, "dense-x") }, false},
		{"memory, one layer", func(n string) bool { return strings.HasPrefix(n, "memory-") }, true},
		{"memory+", func(n string) bool { return n == "memory+" }, false},
		{"moe", func(n string) bool { return n == "moe" }, false},
		{"peer", func(n string) bool { return n == "peer" }, false},
	}
	var series []plot.Series
	var ceiling, minX, maxX float64
	minX = math.Inf(1)
	for _, g := range groups {
		var rs []Row
		for _, r := range rows {
			// Log axes: a model that stores nothing has no point (none does
			// after real training; smoke runs store nothing at all).
			if g.member(r.Name) && r.Mean["total_params"] > 0 && r.Mean["stored_bits"]-r.Std["stored_bits"] > 0 {
				rs = append(rs, r)
			}
		}
		if len(rs) == 0 {
			continue
		}
		sort.Slice(rs, func(i, j int) bool { return rs[i].Mean["total_params"] < rs[j].Mean["total_params"] })
		ser := plot.Series{Name: g.name}
		if g.sizes { // rs is sorted by parameters: its first and last are the smallest and largest tables
			ser.Name += fmt.Sprintf(" (%s … %s)", slotsSquared(rs[0].Name), slotsSquared(rs[len(rs)-1].Name))
		}
		for _, r := range rs {
			ser.X = append(ser.X, r.Mean["total_params"])
			ser.Y = append(ser.Y, r.Mean["stored_bits"])
			ser.YErr = append(ser.YErr, r.Std["stored_bits"])
			ceiling = math.Max(ceiling, r.Mean["data_bits"])
			minX, maxX = math.Min(minX, r.Mean["total_params"]), math.Max(maxX, r.Mean["total_params"])
		}
		series = append(series, ser)
	}
	if len(series) == 0 {
		return Chart{}, nil
	}
	// On log-log axes, 2 bits per parameter is a straight line; it stops at
	// twice the facts' information, beyond which no model can follow it.
	if end := math.Min(maxX, ceiling); end > minX {
		series = append(series, plot.Series{Name: "2 bits / parameter (Allen-Zhu & Li)", X: []float64{minX, end}, Y: []float64{2 * minX, 2 * end}})
	}
	spec := plot.LineSpec{Title: "Random facts: bits stored vs parameters" + preset,
		XLabel: "parameters, memory values included (log scale)", YLabel: "bits stored (NLL bound, log scale)",
		LogX: true, LogY: true, Series: series}
	if ceiling > 0 {
		spec.HLines = []plot.HLine{{Name: fmt.Sprintf("all the facts: %.0f bits", ceiling), Y: ceiling}}
	}
	p, err := plot.Line(spec)
	return Chart{Plot: p}, err
}

// splitBiosRows separates a memorize sweep's rows into the random-facts runs
// and the biographies runs, the latter without their "bios-" prefix.
func splitBiosRows(rows []Row) (facts, bios []Row) {
	for _, r := range rows {
		if name, ok := strings.CutPrefix(r.Name, "bios-"); ok {
			r.Name = name
			bios = append(bios, r)
		} else {
			facts = append(facts, r)
		}
	}
	return facts, bios
}

// slotsSquared writes a memory run's table size as the paper does: "memory-64x64" → "64²".
func slotsSquared(name string) string {
	n, _, _ := strings.Cut(strings.TrimPrefix(name, "memory-"), "x")
	return n + "²"
}
