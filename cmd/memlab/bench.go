package main

import (
	"context"

	"flag"
	"fmt"
	"github.com/gomlx/compute"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/bench"
	"github.com/memlayers/memlayers/experiments/results"
)

func init() {
	register("bench", "time the memory layer: embedding bag vs copies, vs SwiGLU FFN, training step, PyTorch", runBench)
}

// benchParts are the measurements `memlab bench` can run, in the order it runs them.
var benchParts = []string{"bag", "layers", "train", "lm"}

func runBench(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("bench", "Measure on one backend, in one run: the embedding bag's bandwidth next to plain copies of the same\n"+
		"bytes; memory-layer tokens/s next to a SwiGLU FFN of the same width at several memory sizes; a training\n"+
		"step as the table grows 16×; and, with --torch, our own PyTorch version of the layer. The memory layer\n"+
		"runs on both paths (--paths): graph (values a GoMLX variable) and host (values in host memory).\n"+
		"Writes results/bench/<name>.json and plots/bench-<name>-*.png|svg. --quick: tiny sizes, seconds (flags\n"+
		"still override). --parts lm (not in the default parts: ~15 minutes) trains every model kind of the\n"+
		"--lm-preset for a few steps on each memory path (with --torch also the dense, memory and Memory+ models\n"+
		"in PyTorch, scripts/torch_lm_bench.py) and writes results/bench/lm-train-<name>.json.", stdout)
	f := addBenchFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *f.replot != "" {
		r, err := bench.ReadReport(*f.replot)
		if err != nil {
			return usagef("--replot: %v", err)
		}
		return benchPrintAndPlot(stdout, r, *f.plotDir)
	}
	c, err := f.config(fs)
	if err != nil {
		return err
	}
	parts, err := f.partsToRun()
	if err != nil {
		return err
	}
	if err := f.resolveOutput(parts); err != nil {
		return err
	}
	b, err := backend.New(*f.backend)
	if err != nil {
		return usagef("%v", err)
	}
	c.Progress = stdout
	if parts["lm"] {
		lmOut := filepath.Join(filepath.Dir(*f.out), "lm-train-"+*f.name+".json")
		var torch *bench.TorchOptions
		if *f.torch {
			torch = &bench.TorchOptions{Python: *f.python, Script: filepath.Join(filepath.Dir(*f.torchScript), "torch_lm_bench.py")}
		}
		if err := benchLM(ctx, stdout, b, *f.name, *f.lmPreset, lmOut, *f.quick, *f.overwrite, torch); err != nil {
			return err
		}
		delete(parts, "lm")
		if len(parts) == 0 { // --torch went to the language models
			return nil
		}
	}
	return f.measureLayer(ctx, stdout, b, c, parts)
}

// benchFlags are memlab bench's flags; the size flags' defaults are bench.DefaultConfig's, and with
// --quick only those given explicitly override bench.QuickConfig.
type benchFlags struct {
	backend, name, out, plotDir, replot, parts, lmPreset      *string
	python, torchScript, torchDevice, optimizers, pathsToTime *string
	quick, overwrite, torch                                   *bool
	torchThreads                                              *int
	seed                                                      *int64
	setters                                                   map[string]func(c *bench.Config) error
}

func addBenchFlags(fs *flag.FlagSet) *benchFlags {
	f := &benchFlags{setters: map[string]func(c *bench.Config) error{}}
	f.backend = fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/path/plugin.so (env GOMLX_BACKEND)")
	f.quick = fs.Bool("quick", false, "CI-sized run on tiny sizes (the defaults below become bench.QuickConfig's)")
	f.name = fs.String("name", "", "run name (default: from the backend spec, e.g. go-ops_sequential, xla-cuda; -quick appended with --quick)")
	f.out = fs.String("out", "", "results file (default results/bench/<name>.json)")
	f.plotDir = fs.String("plots", "plots", "directory for the charts (empty: no charts)")
	f.overwrite = fs.Bool("overwrite", false, "replace an existing results file")
	f.replot = fs.String("replot", "", "measure nothing: print and redraw the charts of this results file (e.g. one from a GPU machine)")
	f.parts = fs.String("parts", "bag,layers,train", "measurements to run: "+strings.Join(benchParts, ", "))
	f.lmPreset = fs.String("lm-preset", "", "preset of --parts lm (default small; tiny with --quick)")
	f.torch = fs.Bool("torch", false, "also time scripts/torch_memory_layer.py (our PyTorch version) with the same sizes")
	f.python = fs.String("python", "/usr/bin/python3", "python with torch, for --torch")
	f.torchScript = fs.String("torch-script", filepath.Join("scripts", "torch_memory_layer.py"), "the PyTorch script, for --torch")
	f.torchDevice = fs.String("torch-device", "cpu", "PyTorch device for --torch: cpu or cuda")
	f.torchThreads = fs.Int("torch-threads", 2, "torch.set_num_threads for --torch on CPU")

	def := bench.DefaultConfig()
	intFlag := func(flagName string, field func(*bench.Config) *int, usage string) {
		v := fs.Int(flagName, *field(&def), usage)
		f.setters[flagName] = func(c *bench.Config) error { *field(c) = *v; return nil }
	}
	listFlag := func(flagName string, field func(*bench.Config) *[]int, usage string) {
		v := fs.String(flagName, benchJoinInts(*field(&def)), usage+" (comma-separated)")
		f.setters[flagName] = func(c *bench.Config) error {
			list, err := benchIntList(flagName, *v)
			*field(c) = list
			return err
		}
	}
	intFlag("tokens", func(c *bench.Config) *int { return &c.Tokens }, "tokens per call")
	intFlag("dim", func(c *bench.Config) *int { return &c.Dim }, "model dimension")
	intFlag("heads", func(c *bench.Config) *int { return &c.Heads }, "memory heads")
	intFlag("k-dim", func(c *bench.Config) *int { return &c.KDim }, "memory key dimension")
	intFlag("knn", func(c *bench.Config) *int { return &c.KNN }, "memory slots per head")
	intFlag("v-dim", func(c *bench.Config) *int { return &c.VDim }, "memory value dimension")
	intFlag("ffn-hidden", func(c *bench.Config) *int { return &c.FFNHidden }, "SwiGLU hidden width (0: 4·dim)")
	intFlag("bag-n-keys", func(c *bench.Config) *int { return &c.BagNKeys }, "embedding-bag table: bag-n-keys² rows of v-dim")
	intFlag("warmup", func(c *bench.Config) *int { return &c.Warmup }, "untimed calls before timing (the first compiles)")
	intFlag("repeats", func(c *bench.Config) *int { return &c.Repeats }, "timed calls; the minimum is reported")
	listFlag("n-keys", func(c *bench.Config) *[]int { return &c.NKeys }, "memory sizes of the layer sweep")
	listFlag("train-n-keys", func(c *bench.Config) *[]int { return &c.TrainNKeys }, "memory sizes of the training step; first and last compared")
	f.optimizers = fs.String("optimizers", strings.Join(def.Optimizers, ","), "training-step optimizers: sgd, adam (comma-separated)")
	f.pathsToTime = fs.String("paths", strings.Join(def.Paths, ","), "memory-layer paths measured side by side: graph (values a GoMLX variable), "+
		"host (values in host memory) (comma-separated)")
	f.seed = fs.Int64("seed", def.Seed, "random seed")
	return f
}

// config is the sizes to measure: the defaults (or --quick's), then every size flag given explicitly.
func (f *benchFlags) config(fs *flag.FlagSet) (bench.Config, error) {
	c := bench.DefaultConfig()
	if *f.quick {
		c = bench.QuickConfig()
	}
	var setErr error
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) {
		set[fl.Name] = true
		if apply, ok := f.setters[fl.Name]; ok && setErr == nil {
			setErr = apply(&c)
		}
	})
	if setErr != nil {
		return c, setErr
	}
	if set["optimizers"] {
		c.Optimizers = benchSplitList(*f.optimizers)
	}
	if set["paths"] {
		c.Paths = benchSplitList(*f.pathsToTime)
	}
	if set["seed"] {
		c.Seed = *f.seed
	}
	if err := c.Validate(); err != nil {
		return c, usagef("%v", err)
	}
	return c, nil
}

// partsToRun checks --parts (and --torch's script) and returns the parts to measure.
func (f *benchFlags) partsToRun() (map[string]bool, error) {
	run := map[string]bool{}
	for _, p := range benchSplitList(*f.parts) {
		if !slices.Contains(benchParts, p) {
			return nil, usagef("--parts: unknown measurement %q; choose from %s", p, strings.Join(benchParts, ", "))
		}
		run[p] = true
	}
	if len(run) == 0 && !*f.torch {
		return nil, usagef("--parts is empty and --torch is off: nothing to measure")
	}
	if *f.torch {
		if _, err := os.Stat(*f.torchScript); err != nil {
			return nil, usagef("--torch-script %s not found (run memlab from the repository root, or pass --torch-script)", *f.torchScript)
		}
	}
	return run, nil
}

// resolveOutput fills --name and --out; an existing --out is refused only when a part that writes it runs
// (--parts lm alone writes lm-train-<name>.json).
func (f *benchFlags) resolveOutput(parts map[string]bool) error {
	spec, err := backend.Resolve(*f.backend)
	if err != nil {
		return usagef("%v", err)
	}
	if *f.name == "" {
		*f.name = benchName(spec, *f.quick)
	} else if !benchValidName.MatchString(*f.name) {
		return usagef("--name %q: use letters, digits, '.', '_' and '-' only", *f.name)
	}
	if *f.out == "" {
		*f.out = filepath.Join("results", "bench", *f.name+".json")
	}
	writesOut := len(parts) > 1 || !parts["lm"]
	if writesOut && !*f.overwrite {
		if _, err := os.Stat(*f.out); err == nil {
			return usagef("%s already exists; pass --overwrite or choose another --name/--out", *f.out)
		}
	}
	return nil
}

// measureLayer runs the layer-level parts (bag, layers, PyTorch, train), writes the report and draws it.
func (f *benchFlags) measureLayer(ctx context.Context, stdout io.Writer, b compute.Backend, c bench.Config, run map[string]bool) error {
	report := bench.NewReport(*f.name, b, c, ".", os.Getenv("GODEBUG"))
	report.Quick = *f.quick
	fmt.Fprintf(stdout, "backend: %s\n", report.Backend.Description)
	var err error
	if run["bag"] {
		fmt.Fprintln(stdout, "embedding bag vs copies:")
		if report.Bag, err = bench.MeasureBag(ctx, b, c); err != nil {
			return err
		}
	}
	if run["layers"] {
		fmt.Fprintln(stdout, "memory layer vs SwiGLU FFN:")
		if report.Layers, err = bench.MeasureLayers(ctx, b, c); err != nil {
			return err
		}
	}
	if *f.torch {
		if err := f.measureTorch(ctx, stdout, c, report); err != nil {
			return err
		}
	}
	if run["train"] {
		fmt.Fprintln(stdout, "training step:")
		if report.Train, err = bench.MeasureTrainStep(ctx, b, c); err != nil {
			return err
		}
	}
	report.Finish()
	if err := results.WriteJSON(*f.out, report, *f.overwrite); err != nil {
		return err
	}
	if err := benchPrintAndPlot(stdout, report, *f.plotDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results written to %s\n", *f.out)
	return nil
}

// measureTorch times our PyTorch version of the layer; a missing or failing PyTorch is recorded in the
// report as a skip, not an error.
func (f *benchFlags) measureTorch(ctx context.Context, stdout io.Writer, c bench.Config, report *bench.Report) error {
	if err := bench.TorchAvailable(ctx, *f.python); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		report.TorchSkipped = err.Error()
		return nil
	}
	fmt.Fprintf(stdout, "PyTorch (%s, %s):\n", *f.torchScript, *f.torchDevice)
	opts := bench.TorchOptions{Python: *f.python, Script: *f.torchScript, Device: *f.torchDevice, Threads: *f.torchThreads}
	res, err := bench.RunTorch(ctx, opts, c)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case err != nil:
		report.TorchSkipped = "the PyTorch run failed: " + err.Error()
	default:
		report.Torch = res
		report.TorchRatios = bench.CompareTorch(report.Layers, res)
		fmt.Fprintf(stdout, "  PyTorch %s on %s: %d memory sizes timed\n", res.TorchVersion, res.Device, len(res.Memory))
	}
	return nil
}

// benchLM runs the language-model training benchmark and writes its report to out.
// It goes next to the other parts' report (lm-train-<name>.json in --out's directory).
func benchLM(ctx context.Context, stdout io.Writer, b compute.Backend, name, preset, out string, quick, overwrite bool,
	torch *bench.TorchOptions) error {
	c := bench.DefaultLMConfig()
	if quick {
		c = bench.QuickLMConfig()
	}
	if preset != "" {
		c.Preset = preset
	}
	if err := c.Validate(); err != nil {
		return usagef("%v", err)
	}
	if !overwrite {
		if _, err := os.Stat(out); err == nil {
			return usagef("%s already exists; pass --overwrite or choose another --name", out)
		}
	}
	c.Progress, c.Torch = stdout, torch
	fmt.Fprintf(stdout, "language-model training, preset %s:\n", c.Preset)
	r, err := bench.MeasureLMTrain(ctx, b, name, c, ".", os.Getenv("GODEBUG"))
	if err != nil {
		return err
	}
	if err := results.WriteJSON(out, r, overwrite); err != nil {
		return err
	}
	r.Print(stdout)
	fmt.Fprintf(stdout, "results written to %s\n", out)
	return nil
}

// benchPrintAndPlot prints the report's tables and draws its charts into plotDir ("" for none).
func benchPrintAndPlot(stdout io.Writer, r *bench.Report, plotDir string) error {
	r.Print(stdout)
	fmt.Fprintln(stdout)
	if plotDir == "" {
		return nil
	}
	pngs, err := r.Plots(plotDir)
	if err != nil {
		return err
	}
	for _, p := range pngs {
		fmt.Fprintf(stdout, "plot: %s (and .svg)\n", p)
	}
	return nil
}

var benchValidName = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)

// benchName derives a file-name-safe run name from a backend spec: "go-ops_sequential", "go", "xla-cuda",
// "xla-cpu", …
func benchName(spec string, quick bool) string {
	kind, config, _ := strings.Cut(spec, ":")
	plugin, options, _ := strings.Cut(config, ",")
	name := spec
	if kind == backend.XLAName && filepath.IsAbs(plugin) {
		base := strings.TrimSuffix(filepath.Base(plugin), filepath.Ext(plugin))
		base = strings.TrimSuffix(strings.TrimPrefix(base, "pjrt_c_api_"), "_plugin")
		if strings.Contains(strings.ToLower(base), "cuda") {
			base = "cuda"
		}
		name = kind + "-" + base
		if options != "" {
			name += "-" + options
		}
	}
	name = strings.Trim(benchUnsafeName.ReplaceAllString(name, "-"), "-")
	if quick {
		name += "-quick"
	}
	return name
}

var benchUnsafeName = regexp.MustCompile(`[^A-Za-z0-9._]+`)

func benchSplitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func benchIntList(flagName, s string) ([]int, error) {
	var out []int
	for _, f := range benchSplitList(s) {
		n, err := strconv.Atoi(f)
		if err != nil {
			return nil, usagef("--%s %q: want comma-separated integers, e.g. 128,256", flagName, s)
		}
		out = append(out, n)
	}
	if len(out) == 0 {
		return nil, usagef("--%s is empty: give at least one integer", flagName)
	}
	return out, nil
}

func benchJoinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ",")
}
