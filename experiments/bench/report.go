package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute"
	gonum "gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/plot"
	"github.com/memlayers/memlayers/experiments/results"
)

// Report is the JSON document `memlab bench` writes to results/bench/<name>.json: every measurement of
// one run with its provenance. Parts that were not run are absent.
type Report struct {
	Name  string `json:"name"`
	Quick bool   `json:"quick"`

	// Provenance's seed is Config.Seed; its dataset is "random": the benchmark times random inputs.
	results.Provenance
	// GoDebug is the GODEBUG setting of the run (asyncpreemptoff=1 matters for the Go backend's speed).
	GoDebug string `json:"godebug"`
	// LoadAverageStart and LoadAverageEnd are the 1-minute load averages (Linux /proc/loadavg; 0 elsewhere)
	// when the run started and ended: above the core count, other work competed for the cores and absolute
	// times are inflated.
	LoadAverageStart float64 `json:"load_average_start,omitempty"`
	LoadAverageEnd   float64 `json:"load_average_end,omitempty"`

	StartedAt   time.Time `json:"started_at"`
	FinishedAt  time.Time `json:"finished_at"`
	WallSeconds float64   `json:"wall_seconds"`

	Config Config `json:"config"`

	Bag    *BagResult   `json:"bag,omitempty"`
	Layers *LayerResult `json:"layers,omitempty"`
	Train  *TrainResult `json:"train,omitempty"`

	Torch *TorchResult `json:"torch,omitempty"`
	// TorchRatios is our time over PyTorch's, per block, from the same run.
	TorchRatios []TorchRatio `json:"torch_ratios,omitempty"`
	// TorchSkipped says why PyTorch was not run when it was asked for.
	TorchSkipped string `json:"torch_skipped,omitempty"`
}

// NewReport starts a report: provenance of backend b, this machine and the git state of repoDir.
func NewReport(name string, b compute.Backend, c Config, repoDir, godebug string) *Report {
	return &Report{
		Name: name, Provenance: results.Provenance{Seed: c.Seed, Dataset: "random", Backend: backend.Describe(b),
			Machine: results.CurrentMachine(), Git: results.CurrentGit(repoDir), Build: results.BuildGit()},
		GoDebug: godebug, StartedAt: time.Now().UTC(), Config: c, LoadAverageStart: loadAverage(),
	}
}

// loadAverage returns the 1-minute load average, or 0 where /proc/loadavg is missing.
func loadAverage() float64 {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return 0
	}
	v, err := strconv.ParseFloat(fields[0], 64)
	if err != nil {
		return 0
	}
	return v
}

// Finish stamps the end of the run.
func (r *Report) Finish() {
	r.FinishedAt = time.Now().UTC()
	r.WallSeconds = r.FinishedAt.Sub(r.StartedAt).Seconds()
	r.LoadAverageEnd = loadAverage()
}

// ReadReport loads a report written by `memlab bench`, e.g. to redraw its charts elsewhere.
func ReadReport(path string) (*Report, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	return DecodeReport(data, path)
}

// DecodeReport reads a report from its JSON; name (the file) is used in errors.
func DecodeReport(data []byte, name string) (*Report, error) {
	var r Report
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("bench: %s is not a benchmark report: %v", name, err)
	}
	var lm struct {
		Models json.RawMessage `json:"models"`
	}
	if json.Unmarshal(data, &lm) == nil && len(lm.Models) > 0 {
		return nil, fmt.Errorf("bench: %s is a language-model training report (memlab bench --parts lm), not a layer report", name)
	}
	if r.Name == "" || (r.Bag == nil && r.Layers == nil && r.Train == nil && r.Torch == nil) {
		return nil, fmt.Errorf("bench: %s is not a benchmark report (no name or no measurements)", name)
	}
	if strings.ContainsAny(r.Name, `/\`) || r.Name == "." || r.Name == ".." {
		return nil, fmt.Errorf("bench: %s: report name %q must not be a path (it names the chart files)", name, r.Name)
	}
	if len(r.Config.Paths) == 0 {
		// Reports from before the host path measured the graph path only.
		r.Config.Paths = []string{PathGraph}
	}
	return &r, nil
}

func ms(t Timing) float64 { return 1e3 * t.Seconds }

func mib(bytes int64) float64 { return float64(bytes) / (1 << 20) }

// Print writes the report as readable tables.
func (r *Report) Print(w io.Writer) {
	fmt.Fprintf(w, "\nbackend %s | %s, %d cores | GODEBUG=%s", r.Backend.Spec, r.Machine.CPUModel, r.Machine.Cores, r.GoDebug)
	if r.LoadAverageStart > 0 || r.LoadAverageEnd > 0 {
		fmt.Fprintf(w, " | load average %.1f at start, %.1f at end", r.LoadAverageStart, r.LoadAverageEnd)
	}
	fmt.Fprintln(w)
	if r.LoadAverageStart > float64(r.Machine.Cores) || r.LoadAverageEnd > float64(r.Machine.Cores) {
		fmt.Fprintln(w, "(the load was above the core count: other work shared the cores; compare ratios, not absolute times)")
	}
	if b := r.Bag; b != nil {
		fmt.Fprintf(w, "\nEmbedding bag: table %d×%d (%.0f MiB), %d tokens × %d rows each; GB/s counts bytes read+written\n",
			b.Rows, b.D, mib(b.TableBytes), b.T, b.B)
		fmt.Fprintf(w, "  %-30s %10s %10s %9s %12s %14s %14s\n", "", "time ms", "MiB moved", "GB/s", "÷graph copy", "÷host copy 1T",
			fmt.Sprintf("÷host copy %dT", b.HostThreads))
		row := func(name string, t Throughput) {
			if t.Seconds == 0 { // a path that was not run
				return
			}
			fmt.Fprintf(w, "  %-30s %10.2f %10.0f %9.2f %12.3f %14.3f %14.3f\n", name, ms(t.Timing), mib(t.Bytes), t.GBPerSecond,
				ratio(t.GBPerSecond, b.GraphCopy.GBPerSecond), ratio(t.GBPerSecond, b.HostCopy.GBPerSecond),
				ratio(t.GBPerSecond, b.HostCopyParallel.GBPerSecond))
		}
		row("bag forward", b.Forward)
		row("bag forward+backward", b.ForwardBackward)
		row("host bag forward", b.HostForward)
		row("host bag forward+backward", b.HostForwardBackward)
		row("in-graph copy (Neg)", b.GraphCopy)
		row("host copy() 1 goroutine", b.HostCopy)
		row(fmt.Sprintf("host copy() %d goroutines", b.HostThreads), b.HostCopyParallel)
		if b.HostForwardBackward.Seconds > 0 {
			fmt.Fprintf(w, "  (host forward+backward: a sparse gradient of the %d rows read (of %d) instead of the dense table's)\n",
				b.HostTouchedRows, b.Rows)
		}
	}
	torchBy := map[int]LayerPoint{}
	ratioBy := map[int]TorchRatio{}
	if r.Torch != nil {
		for _, p := range r.Torch.Memory {
			torchBy[p.NKeys] = p
		}
		if r.Torch.FFN != nil {
			torchBy[0] = *r.Torch.FFN
		}
		for _, q := range r.TorchRatios {
			ratioBy[q.NKeys] = q
		}
	}
	if l := r.Layers; l != nil {
		fmt.Fprintf(w, "\nMemory layer vs SwiGLU FFN (dim %d, hidden %d), %d tokens; ×FFN = tokens/s ÷ FFN's\n", l.Dim, l.FFNHidden, l.Tokens)
		fmt.Fprintf(w, "  %-18s %10s %9s %10s %6s %9s %10s %6s", "block", "params", "fwd ms", "fwd tok/s", "×FFN", "f+b ms", "f+b tok/s", "×FFN")
		if r.Torch != nil {
			fmt.Fprintf(w, " | %9s %9s %8s %8s", "torch fwd", "torch f+b", "ours÷pt", "ours÷pt")
		}
		fmt.Fprintln(w)
		row := func(name string, p LayerPoint, host bool) {
			fmt.Fprintf(w, "  %-18s %10d %9.2f %10.0f %6.2f %9.2f %10.0f %6.2f", name, p.Params, ms(p.Forward),
				p.ForwardTokensPerSecond, p.ForwardVsFFN, ms(p.ForwardBackward), p.ForwardBackwardTokensPerSecond, p.ForwardBackwardVsFFN)
			if t, ok := torchBy[p.NKeys]; ok {
				q := ratioBy[p.NKeys]
				fwd, fb := q.ForwardOursOverTorch, q.ForwardBackwardOursOverTorch
				if host {
					fwd, fb = q.HostForwardOursOverTorch, q.HostForwardBackwardOursOverTorch
				}
				fmt.Fprintf(w, " | %9.2f %9.2f %8.2f %8.2f", ms(t.Forward), ms(t.ForwardBackward), fwd, fb)
			}
			fmt.Fprintln(w)
		}
		row("swiglu", l.FFN, false)
		// Each size's graph and host rows together, sizes in the order measured.
		var sizes []int
		for _, p := range append(slices.Clone(l.Memory), l.Host...) {
			if !slices.Contains(sizes, p.NKeys) {
				sizes = append(sizes, p.NKeys)
			}
		}
		for _, n := range sizes {
			for _, p := range l.Memory {
				if p.NKeys == n {
					row(fmt.Sprintf("memory n_keys=%d", n), p, false)
				}
			}
			for _, p := range l.Host {
				if p.NKeys == n {
					row(fmt.Sprintf("host n_keys=%d", n), p, true)
				}
			}
		}
		if len(l.Host) > 0 {
			fmt.Fprintln(w, "  (memory: memlayer.Layer, values a GoMLX variable; host: memlayer.HostLayer, values in host memory)")
		}
		if r.Torch != nil {
			fmt.Fprintf(w, "  (torch: PyTorch %s on %s, %d threads; ours÷pt = our time ÷ PyTorch's, fwd and f+b; >1 is slower)\n",
				r.Torch.TorchVersion, r.Torch.Device, r.Torch.Threads)
		}
	}
	if r.TorchSkipped != "" {
		fmt.Fprintf(w, "\ntorch: skipped: %s\n", r.TorchSkipped)
	}
	if t := r.Train; t != nil {
		fmt.Fprintf(w, "\nTraining step (forward + backward + update of every variable), %d tokens\n", t.Tokens)
		fmt.Fprintln(w, "  (graph: in-graph dense update of every variable, value table included; host: values in host memory,")
		fmt.Fprintln(w, "  sparse SGD/Adam updating only the rows the step read, graph variables updated on the host)")
		fmt.Fprintf(w, "  %-5s %-9s %7s %10s %10s %10s %10s\n", "path", "optimizer", "n_keys", "rows", "table MiB", "step ms", "tokens/s")
		for _, p := range t.Points {
			fmt.Fprintf(w, "  %-5s %-9s %7d %10d %10.0f %10.2f %10.0f\n", pathOf(p.Path), p.Optimizer, p.NKeys, p.Rows, mib(p.ValueBytes),
				ms(p.Step), p.TokensPerSecond)
		}
		for _, g := range t.Growth {
			fmt.Fprintf(w, "  %s (%s): n_keys %d → %d (%.0f× rows): step time ×%.2f\n", g.Optimizer, pathOf(g.Path), g.FromNKeys, g.ToNKeys,
				g.RowsFactor, g.TimeRatio)
		}
	}
}

// Plots draws the report's charts into dir as bench-<name>-<chart>.png and .svg and returns the PNG paths.
func (r *Report) Plots(dir string) ([]string, error) {
	var pngs []string
	save := func(p *gonum.Plot, chart string) error {
		png, _, err := plot.Save(p, filepath.Join(dir, "bench-"+r.Name+"-"+chart), 0, 0)
		if err == nil {
			pngs = append(pngs, png)
		}
		return err
	}
	where := r.Backend.Spec
	if b := r.Bag; b != nil {
		var groups []string
		var values []float64
		for _, bar := range []struct {
			name string
			t    Throughput
		}{
			{"bag forward", b.Forward}, {"bag fwd+bwd", b.ForwardBackward},
			{"host bag forward", b.HostForward}, {"host bag fwd+bwd", b.HostForwardBackward},
			{"in-graph copy", b.GraphCopy}, {"host copy, 1 thread", b.HostCopy},
			{fmt.Sprintf("host copy, %d threads", b.HostThreads), b.HostCopyParallel},
		} {
			if bar.t.Seconds > 0 { // absent: a path that was not run
				groups, values = append(groups, bar.name), append(values, bar.t.GBPerSecond)
			}
		}
		p, err := plot.Bars(plot.BarSpec{
			Title:  fmt.Sprintf("Embedding bag vs plain copies (%s)", where),
			YLabel: "GB/s (bytes read + written)",
			Groups: groups,
			Series: []plot.Series{{Y: values}},
		})
		if err != nil {
			return pngs, err
		}
		p.X.Label.Text = fmt.Sprintf("%d tokens × %d rows of %d floats from a %s-row table; copies: the same %s",
			b.T, b.B, b.D, siCount(b.Rows), sizeLabel(4*int64(b.T)*int64(b.B)*int64(b.D)))
		if err := labelBars(p, values, "%.3g"); err != nil {
			return pngs, err
		}
		if err := save(p, "bandwidth"); err != nil {
			return pngs, err
		}
	}
	if l := r.Layers; l != nil && len(l.Memory)+len(l.Host) > 0 {
		series := func(name string, pts []LayerPoint, backward bool) plot.Series {
			s := plot.Series{Name: name}
			for _, p := range pts {
				s.X = append(s.X, float64(p.NKeys))
				if backward {
					s.Y = append(s.Y, p.ForwardBackwardTokensPerSecond)
				} else {
					s.Y = append(s.Y, p.ForwardTokensPerSecond)
				}
			}
			return s
		}
		spec := plot.LineSpec{
			Title:  fmt.Sprintf("Memory layer vs SwiGLU FFN (%s), dim %d, %d tokens", where, l.Dim, l.Tokens),
			XLabel: "n_keys (memory has n_keys² values)", YLabel: "tokens/s", LogX: true, LogY: true,
			HLines: []plot.HLine{{Name: "GoMLX SwiGLU forward", Y: l.FFN.ForwardTokensPerSecond},
				{Name: "GoMLX SwiGLU fwd+bwd", Y: l.FFN.ForwardBackwardTokensPerSecond}},
		}
		if len(l.Memory) > 0 {
			spec.Series = append(spec.Series, series("GoMLX memory forward", l.Memory, false), series("GoMLX memory fwd+bwd", l.Memory, true))
		}
		if len(l.Host) > 0 {
			spec.Series = append(spec.Series, series("GoMLX host-values memory forward", l.Host, false),
				series("GoMLX host-values memory fwd+bwd", l.Host, true))
		}
		if r.Torch != nil && len(r.Torch.Memory) > 0 {
			spec.Series = append(spec.Series, series("PyTorch memory forward", r.Torch.Memory, false),
				series("PyTorch memory fwd+bwd", r.Torch.Memory, true))
		}
		p, err := plot.Line(spec)
		if err != nil {
			return pngs, err
		}
		p.X.Tick.Marker = valueTicks(spec.Series[0].X)
		p.Y.Max *= 1.25 // keep the top curve off the frame (a log axis: a small factor)
		p.Y.Min /= 1.25
		if err := save(p, "layers"); err != nil {
			return pngs, err
		}
	}
	if t := r.Train; t != nil && len(t.Points) > 0 {
		var groups []string
		col := map[int]int{}
		for _, p := range t.Points {
			if _, ok := col[p.NKeys]; !ok {
				col[p.NKeys] = len(groups)
				groups = append(groups, fmt.Sprintf("n_keys=%d (%s rows)", p.NKeys, siCount(p.Rows)))
			}
		}
		unit, scale := "ms", 1e3
		for _, p := range t.Points {
			if p.Step.Seconds >= 2 {
				unit, scale = "s", 1
			}
		}
		// One series per (path, optimizer), in the order measured.
		var series []plot.Series
		index := map[[2]string]int{}
		for _, p := range t.Points {
			key := [2]string{pathOf(p.Path), p.Optimizer}
			i, ok := index[key]
			if !ok {
				i = len(series)
				index[key] = i
				series = append(series, plot.Series{Name: fmt.Sprintf("%s (%s)", key[1], key[0]), Y: make([]float64, len(groups))})
			}
			series[i].Y[col[p.NKeys]] = scale * p.Step.Seconds
		}
		p, err := plot.Bars(plot.BarSpec{
			Title:  fmt.Sprintf("Training step time vs table size (%s), %d tokens", where, t.Tokens),
			YLabel: unit + " per step (forward + backward + update)", Groups: groups, Series: series,
		})
		if err != nil {
			return pngs, err
		}
		if slices.ContainsFunc(t.Points, func(p TrainPoint) bool { return p.Path == PathHost }) {
			p.X.Label.Text = "graph: dense in-graph update; host: only the rows read updated"
		}
		if err := save(p, "train-step"); err != nil {
			return pngs, err
		}
	}
	return pngs, nil
}

// valueTicks labels exactly the given x values (e.g. 128, 256, 512, 1024 on a log axis).
func valueTicks(xs []float64) gonum.ConstantTicks {
	ticks := make(gonum.ConstantTicks, len(xs))
	for i, x := range xs {
		ticks[i] = gonum.Tick{Value: x, Label: strconv.FormatFloat(x, 'f', -1, 64)}
	}
	return ticks
}

// siCount writes 1024 as is, 65536 as "65.5k" and 1048576 as "1.05M".
func siCount(n int) string {
	switch {
	case n < 1e4:
		return strconv.Itoa(n)
	case n >= 1e6:
		return strconv.FormatFloat(float64(n)/1e6, 'g', 3, 64) + "M"
	}
	return strconv.FormatFloat(float64(n)/1e3, 'g', 3, 64) + "k"
}

// labelBars writes each bar's value above it (single-series bar charts, whose bars are centred on their
// group), so that small bars next to tall ones still read.
func labelBars(p *gonum.Plot, values []float64, format string) error {
	xys := make(plotter.XYs, len(values))
	labels := make([]string, len(values))
	for i, v := range values {
		xys[i] = plotter.XY{X: float64(i), Y: v}
		labels[i] = fmt.Sprintf(format, v)
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xys, Labels: labels})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].Font.Variant = "Sans"
		l.TextStyle[i].Font.Size = vg.Points(10)
		l.TextStyle[i].XAlign = draw.XCenter
	}
	l.Offset = vg.Point{Y: vg.Points(3)}
	p.Add(l)
	p.Y.Max *= 1.06 // room for the labels above the tallest bar
	return nil
}

// sizeLabel writes a byte count as "256 MiB" or "12 KiB".
func sizeLabel(bytes int64) string {
	switch {
	case bytes >= 1<<30:
		return strconv.FormatFloat(float64(bytes)/(1<<30), 'g', 3, 64) + " GiB"
	case bytes >= 1<<20:
		return strconv.FormatFloat(float64(bytes)/(1<<20), 'g', 3, 64) + " MiB"
	case bytes >= 1<<10:
		return strconv.FormatFloat(float64(bytes)/(1<<10), 'g', 3, 64) + " KiB"
	}
	return strconv.FormatInt(bytes, 10) + " B"
}
