package lab

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	gplot "gonum.org/v1/plot"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/plot"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// ContinualTitle and ContinualClaim head the experiment's report section.
const (
	ContinualTitle = "Continual learning: learning new facts, forgetting old ones (after Lin et al. 2025)"
	ContinualClaim = "at the same learning of new facts, finetuning only the memory slots most specific to them (sparse) " +
		"forgets far less than full finetuning or LoRA (NaturalQuestions F1 drops 89% full, 71% LoRA, 11% sparse)"
)

// continualCurve is one base and mode: its learning rates' aggregated finetunings, by increasing rate.
type continualCurve struct {
	Base lm.Kind
	Mode string
	Rows []Row // one per learning rate, Mean/Std over seeds of the final metrics
	LRs  []float64
	Runs [][]*results.Run // the seeds of each row
}

// label names the curve in charts and tables: "memory model: sparse (SGD)".
func (c continualCurve) label() string {
	return fmt.Sprintf("%s model: %s (%s)", c.Base, c.Mode, optimizerName(ContinualOptimizer(c.Mode)))
}

// optimizerName is how tables and charts write an optimizer.
func optimizerName(o string) string {
	if o == train.OptimizerAdamW {
		return "AdamW"
	}
	return strings.ToUpper(o)
}

// continualCurves groups finetunings by base and mode, in ContinualBases and train.FinetuneModes order.
func continualCurves(runs []*results.Run) []continualCurve {
	type key struct {
		base lm.Kind
		mode string
	}
	byKey := map[key]*continualCurve{}
	byName := map[string][]*results.Run{}
	for _, r := range runs {
		spec := finetuneSpecOf(r)
		k := key{spec.Pretrained.Model, spec.Mode}
		if byKey[k] == nil {
			byKey[k] = &continualCurve{Base: k.base, Mode: k.mode}
		}
		if _, ok := byName[r.Name]; !ok {
			byKey[k].LRs = append(byKey[k].LRs, spec.LR)
		}
		byName[r.Name] = append(byName[r.Name], r)
	}
	var out []continualCurve
	for _, base := range ContinualBases {
		for _, mode := range train.FinetuneModes {
			c := byKey[key{base, mode}]
			if c == nil {
				continue
			}
			sort.Float64s(c.LRs)
			for _, lr := range c.LRs {
				name := ContinualRun{Base: base, Mode: mode, LR: lr}.Name()
				group := byName[name]
				c.Rows = append(c.Rows, Aggregate(group)[0])
				c.Runs = append(c.Runs, group)
			}
			out = append(out, *c)
		}
	}
	return out
}

// finetuneSpecOf reads the FinetuneSpec a finetuning's results file records.
func finetuneSpecOf(r *results.Run) FinetuneSpec {
	var cfg struct {
		Finetune FinetuneSpec `json:"finetune"`
	}
	_ = json.Unmarshal(r.Config, &cfg)
	if cfg.Finetune.Pretrained.Model == "" {
		cfg.Finetune.Pretrained.Model = lm.KindDense
	}
	return cfg.Finetune
}

// best is the index of the curve's learning rate with the best trade-off: the largest learning minus
// forgetting (both as fractions: new_em − forgetting_pct/100), the lower rate on a tie.
func (c continualCurve) best() int {
	bi, bs := 0, math.Inf(-1)
	for i, r := range c.Rows {
		if s := r.Mean["new_em"] - r.Mean["forgetting_pct"]/100; s > bs {
			bi, bs = i, s
		}
	}
	return bi
}

// ContinualCharts draws the experiment's charts from its finetunings: forgetting against learning per mode
// over the learning rates (each mode's trade-off curve), and learning and forgetting over the finetuning
// steps at each mode's best rate (continualCurve.best). Files: continual-<preset>-{pareto,learning,forgetting}.
func ContinualCharts(preset string, runs []*results.Run) ([]Chart, error) {
	curves := continualCurves(runs)
	if len(curves) == 0 {
		return nil, fmt.Errorf("lab: no continual results at preset %s to draw", preset)
	}
	var pareto []plot.Series
	for _, c := range curves {
		s := plot.Series{Name: c.label()}
		order := make([]int, len(c.Rows))
		for i := range order {
			order[i] = i
		}
		sort.SliceStable(order, func(a, b int) bool { return c.Rows[order[a]].Mean["new_em"] < c.Rows[order[b]].Mean["new_em"] })
		for _, i := range order {
			if _, ok := c.Rows[i].Mean["forgetting_pct"]; !ok {
				continue // the model recalled nothing of A to start with
			}
			s.X = append(s.X, 100*c.Rows[i].Mean["new_em"])
			s.Y = append(s.Y, c.Rows[i].Mean["forgetting_pct"])
			s.YErr = append(s.YErr, c.Rows[i].Std["forgetting_pct"])
		}
		if len(s.X) > 0 {
			pareto = append(pareto, s)
		}
	}
	if len(pareto) == 0 {
		return nil, fmt.Errorf("lab: the continual results at preset %s measure no forgetting: the pretrained models recalled none of A", preset)
	}
	p, err := plot.Line(plot.LineSpec{
		Title:  fmt.Sprintf("Forgetting vs learning over learning rates (%s preset)", preset),
		XLabel: "learned: exact match on the new facts B (%)", YLabel: "forgot: drop of exact match on the old facts A (% of it)",
		Series: pareto,
	})
	if err != nil {
		return nil, err
	}
	percentAxes(p, true, pareto)
	charts := []Chart{{File: "continual-" + preset + "-pareto", Plot: p}}
	for _, metric := range []struct{ file, title, key, ylabel string }{
		{"learning", "Learning B", "new_em", "exact match on the new facts B (%)"},
		{"forgetting", "Forgetting A", "forgetting_pct", "drop of exact match on the old facts A (% of it)"},
	} {
		var series []plot.Series
		for _, c := range curves {
			i := c.best()
			s := stepSeries(c.Runs[i], metric.key)
			s.Name = fmt.Sprintf("%s, lr %g", c.label(), c.LRs[i])
			if metric.key == "new_em" {
				for j := range s.Y {
					s.Y[j], s.YErr[j] = 100*s.Y[j], 100*s.YErr[j]
				}
			}
			if len(s.X) > 0 {
				series = append(series, s)
			}
		}
		p, err := plot.Line(plot.LineSpec{
			Title:  fmt.Sprintf("%s over finetuning, best rate per mode (%s preset)", metric.title, preset),
			XLabel: "finetuning step", YLabel: metric.ylabel, Series: series,
		})
		if err != nil {
			return nil, err
		}
		percentAxes(p, false, series)
		charts = append(charts, Chart{File: "continual-" + preset + "-" + metric.file, Plot: p})
	}
	return charts, nil
}

// percentAxes sets the y axis (and the x axis too when x is a percentage) to 0–100 %, reaching below 0
// when a series does (a model that recalls more of A than it started with "forgot" a negative amount), so
// that charts of different runs compare at a glance.
func percentAxes(p *gplot.Plot, xPercent bool, series []plot.Series) {
	low := 0.0
	for _, s := range series {
		for i, y := range s.Y {
			low = math.Min(low, y-s.YErr[i])
		}
	}
	p.Y.Min, p.Y.Max = math.Floor(low/10)*10, 100
	if xPercent {
		p.X.Min, p.X.Max = 0, 100
	}
}

// stepSeries is a metric's mean and spread over runs (the seeds of one configuration) at each evaluation
// step all of them have.
func stepSeries(runs []*results.Run, key string) plot.Series {
	bySteps := map[int][]float64{}
	for _, r := range runs {
		for _, e := range r.Evals {
			if v, ok := e.Metrics[key]; ok {
				bySteps[e.Step] = append(bySteps[e.Step], v)
			}
		}
	}
	var steps []int
	for s, v := range bySteps {
		if len(v) == len(runs) {
			steps = append(steps, s)
		}
	}
	sort.Ints(steps)
	var s plot.Series
	for _, st := range steps {
		m, sd := meanStd(bySteps[st])
		s.X, s.Y, s.YErr = append(s.X, float64(st)), append(s.Y, m), append(s.YErr, sd)
	}
	return s
}

// PlotContinual writes the experiment's charts (PNG and SVG) under dir and returns the PNG paths.
func PlotContinual(preset string, runs []*results.Run, dir string) ([]string, error) {
	charts, err := ContinualCharts(preset, runs)
	if err != nil {
		return nil, err
	}
	return saveCharts(charts, dir)
}

// pmf formats a mean ± spread with the given format, without the spread for one seed.
func pmf(format string, r Row, key string, scale float64) string {
	if _, ok := r.Mean[key]; !ok {
		return "n/a"
	}
	s := fmt.Sprintf(format, scale*r.Mean[key])
	if r.Seeds > 1 {
		s += " ± " + fmt.Sprintf(format, scale*r.Std[key])
	}
	return s
}

// WriteContinualTable writes one Markdown row per base, mode and learning rate: what it learned, what it
// forgot, the held-out text NLL change, and its cost per step.
func WriteContinualTable(w io.Writer, runs []*results.Run) {
	fmt.Fprintln(w, "| model | mode | optimizer | lr | seeds | learned: new EM % | old EM % (start → end) | forgot % of old EM | text NLL change | s/step | rows/step |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, c := range continualCurves(runs) {
		for i, r := range c.Rows {
			rows := "—" // the dense model has no value rows
			if _, ok := r.Mean["value_rows_per_step"]; ok {
				rows = fmt.Sprintf("%.0f", r.Mean["value_rows_per_step"])
			}
			fmt.Fprintf(w, "| %s | %s | %s | %g | %d | %s | %s → %s | %s | %s | %s | %s |\n",
				c.Base, c.Mode, optimizerName(ContinualOptimizer(c.Mode)), c.LRs[i], r.Seeds,
				pmf("%.1f", r, "new_em", 100), pmf("%.1f", r, "old_em_start", 100), pmf("%.1f", r, "old_em", 100),
				pmf("%.1f", r, "forgetting_pct", 1), pmf("%+.3f", r, "val_nll_increase", 1), pmf("%.3f", r, "seconds_per_step", 1), rows)
		}
	}
}

// ContinualVerdict compares the modes at matched learning: the largest learning (mean new-fact exact match)
// that every base and mode reaches at some rate, and each mode's least forgetting among the
// rates that reach it. It returns one line per mode and a sentence; ok is false without enough results.
func ContinualVerdict(runs []*results.Run) (lines []string, level float64, ok bool) {
	curves := continualCurves(runs)
	level = math.Inf(1)
	for _, c := range curves {
		top := 0.0
		for _, r := range c.Rows {
			top = math.Max(top, r.Mean["new_em"])
		}
		level = math.Min(level, top)
	}
	if len(curves) < 2 || level <= 0 || math.IsInf(level, 1) {
		return nil, 0, false
	}
	for _, c := range curves {
		bi := -1
		for i, r := range c.Rows {
			if r.Mean["new_em"] >= level && (bi < 0 || r.Mean["forgetting_pct"] < c.Rows[bi].Mean["forgetting_pct"]) {
				bi = i
			}
		}
		r := c.Rows[bi]
		lines = append(lines, fmt.Sprintf("%s: forgot %s%% of the old facts' exact match at lr %g (learned %s%%; text NLL %s)",
			c.label(), pmf("%.1f", r, "forgetting_pct", 1), c.LRs[bi], pmf("%.1f", r, "new_em", 100), pmf("%+.3f", r, "val_nll_increase", 1)))
	}
	return lines, level, true
}

// ContinualCost is one base and mode's cost per finetuning step, over all its runs (rates and seeds).
type ContinualCost struct {
	Label                      string
	SecondsPerStep, SecondsStd float64
	RowsPerStep                float64 // value rows updated per step (0 for modes that update none)
	Runs                       int
}

// ContinualCosts is the cost per step of each base and mode, in continualCurves' order.
func ContinualCosts(runs []*results.Run) []ContinualCost {
	var out []ContinualCost
	for _, c := range continualCurves(runs) {
		var secs, rows []float64
		for _, group := range c.Runs {
			for _, r := range group {
				secs = append(secs, r.Final["seconds_per_step"])
				rows = append(rows, r.Final["value_rows_per_step"])
			}
		}
		cost := ContinualCost{Label: c.label(), Runs: len(secs)}
		cost.SecondsPerStep, cost.SecondsStd = meanStd(secs)
		cost.RowsPerStep, _ = meanStd(rows)
		out = append(out, cost)
	}
	return out
}

// describeContinualScale says what the experiment runs at preset, in one paragraph.
func describeContinualScale(preset string) string {
	sc, _ := ContinualScaleOf(preset)
	p, _ := PresetByName(preset)
	dim, layers, nkeys := p.Model.Dim, p.Model.Layers, p.Memory.NKeys
	if sc.Dim > 0 {
		dim = sc.Dim
	}
	if sc.Layers > 0 {
		layers = sc.Layers
	}
	if sc.NKeys > 0 {
		nkeys = sc.NKeys
	}
	return fmt.Sprintf("At this preset: a %d-layer dim-%d model, dense or with one memory layer of %d² slots (%d heads × %d slots "+
		"per token). Pretraining: %d %s facts (set A) seen %d times each, with %d biographies (general text) seen %d times. "+
		"Finetuning: %d new facts (set B) for %d steps of %d × %d tokens, evaluated every %d steps on B, on %d questions of A and on "+
		"%d held-out biographies; sparse t = %d slots per batch (background batches of %d window), LoRA rank %d.",
		layers, dim, nkeys, p.Memory.Heads, p.Memory.KNN, sc.FactsA, sc.Facts, sc.Exposures, sc.GeneralPeople, sc.Epochs,
		sc.FactsB, sc.FinetuneSteps, p.Train.BatchSize, p.Train.SeqLen, sc.EvalEvery, sc.OldQA, sc.ValPeople, sc.TopSlots,
		sc.BackgroundBatch, sc.LoRARank)
}

// writeContinualSection is the report's continual-learning section of a preset.
func writeContinualSection(w io.Writer, resultsDir, preset string, _ []int64) error {
	fmt.Fprintf(w, "%s. The paper: %s.\n\n", ContinualTitle, ContinualClaim)
	if _, err := ContinualScaleOf(preset); err != nil {
		fmt.Fprintf(w, "The experiment has no %s scale.\n", preset)
		return nil
	}
	fmt.Fprintf(w, "%s\n\n", describeContinualScale(preset))
	runs, pretrains, err := LoadContinual(resultsDir, preset)
	if err != nil {
		return err
	}
	if len(runs) == 0 {
		fmt.Fprintf(w, "No results yet (`memlab sweep continual --preset %s`).\n", preset)
		return nil
	}
	charts, err := ContinualCharts(preset, runs)
	if err != nil {
		return err
	}
	var links []string
	for _, c := range charts {
		links = append(links, fmt.Sprintf("[%s](../plots/%s.png)", c.File, c.File))
	}
	fmt.Fprintf(w, "Files: `results/continual/%s/`; charts: %s.\n\n", preset, strings.Join(links, ", "))
	for _, p := range Aggregate(pretrains) {
		fmt.Fprintf(w, "Pretrained %s: recall of A %s%%, held-out text NLL %s, %s s of training.\n",
			strings.TrimPrefix(p.Name, "pretrain-"), pmf("%.1f", p, "train_qa_em", 100), pmf("%.3f", p, "val_nll", 1), pmf("%.0f", p, "train_seconds", 1))
	}
	fmt.Fprintln(w)
	WriteContinualTable(w, runs)
	fmt.Fprintf(w, "\nCost per finetuning step (mean ± std over every rate and seed; value rows updated per step):\n\n")
	for _, c := range ContinualCosts(runs) {
		fmt.Fprintf(w, "- %s: %.3f ± %.3f s, %.0f rows (%d runs)\n", c.Label, c.SecondsPerStep, c.SecondsStd, c.RowsPerStep, c.Runs)
	}
	if lines, level, ok := ContinualVerdict(runs); ok {
		fmt.Fprintf(w, "\nAt matched learning (every mode's best rate reaching %.1f%% exact match on the new facts), the least forgetting of each mode:\n\n", 100*level)
		for _, l := range lines {
			fmt.Fprintf(w, "- %s\n", l)
		}
	}
	return nil
}
