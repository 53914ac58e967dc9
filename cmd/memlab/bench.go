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
		"--lm-preset for a few steps on each memory path and writes results/bench/lm-train-<name>.json.", stdout)
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/path/plugin.so (env GOMLX_BACKEND)")
	quick := fs.Bool("quick", false, "CI-sized run on tiny sizes (the defaults below become bench.QuickConfig's)")
	name := fs.String("name", "", "run name (default: from the backend spec, e.g. go-ops_sequential, xla-cuda; -quick appended with --quick)")
	out := fs.String("out", "", "results file (default results/bench/<name>.json)")
	plotDir := fs.String("plots", "plots", "directory for the charts (empty: no charts)")
	overwrite := fs.Bool("overwrite", false, "replace an existing results file")
	replot := fs.String("replot", "", "measure nothing: print and redraw the charts of this results file (e.g. one from a GPU machine)")
	parts := fs.String("parts", "bag,layers,train", "measurements to run: "+strings.Join(benchParts, ", "))
	lmPreset := fs.String("lm-preset", "", "preset of --parts lm (default small; tiny with --quick)")
	torch := fs.Bool("torch", false, "also time scripts/torch_memory_layer.py (our PyTorch version) with the same sizes")
	python := fs.String("python", "/usr/bin/python3", "python with torch, for --torch")
	torchScript := fs.String("torch-script", filepath.Join("scripts", "torch_memory_layer.py"), "the PyTorch script, for --torch")
	torchDevice := fs.String("torch-device", "cpu", "PyTorch device for --torch: cpu or cuda")
	torchThreads := fs.Int("torch-threads", 2, "torch.set_num_threads for --torch on CPU")

	// Size flags: their defaults are DefaultConfig's; with --quick, only the flags given explicitly override
	// QuickConfig.
	def := bench.DefaultConfig()
	setters := map[string]func(c *bench.Config) error{}
	intFlag := func(flagName string, field func(*bench.Config) *int, usage string) {
		v := fs.Int(flagName, *field(&def), usage)
		setters[flagName] = func(c *bench.Config) error { *field(c) = *v; return nil }
	}
	listFlag := func(flagName string, field func(*bench.Config) *[]int, usage string) {
		v := fs.String(flagName, benchJoinInts(*field(&def)), usage+" (comma-separated)")
		setters[flagName] = func(c *bench.Config) error {
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
	optimizers := fs.String("optimizers", strings.Join(def.Optimizers, ","), "training-step optimizers: sgd, adam (comma-separated)")
	paths := fs.String("paths", strings.Join(def.Paths, ","), "memory-layer paths measured side by side: graph (values a GoMLX variable), "+
		"host (values in host memory) (comma-separated)")
	seed := fs.Int64("seed", def.Seed, "random seed")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	if *replot != "" {
		r, err := bench.ReadReport(*replot)
		if err != nil {
			return usagef("--replot: %v", err)
		}
		return benchPrintAndPlot(stdout, r, *plotDir)
	}

	c := def
	if *quick {
		c = bench.QuickConfig()
	}
	var setErr error
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) {
		set[f.Name] = true
		if apply, ok := setters[f.Name]; ok && setErr == nil {
			setErr = apply(&c)
		}
	})
	if setErr != nil {
		return setErr
	}
	if set["optimizers"] {
		c.Optimizers = benchSplitList(*optimizers)
	}
	if set["paths"] {
		c.Paths = benchSplitList(*paths)
	}
	if set["seed"] {
		c.Seed = *seed
	}
	if err := c.Validate(); err != nil {
		return usagef("%v", err)
	}
	run := map[string]bool{}
	for _, p := range benchSplitList(*parts) {
		if !slices.Contains(benchParts, p) {
			return usagef("--parts: unknown measurement %q; choose from %s", p, strings.Join(benchParts, ", "))
		}
		run[p] = true
	}
	if len(run) == 0 && !*torch {
		return usagef("--parts is empty and --torch is off: nothing to measure")
	}
	if *torch {
		if _, err := os.Stat(*torchScript); err != nil {
			return usagef("--torch-script %s not found (run memlab from the repository root, or pass --torch-script)", *torchScript)
		}
	}

	spec, err := backend.Resolve(*backendFlag)
	if err != nil {
		return usagef("%v", err)
	}
	if *name == "" {
		*name = benchName(spec, *quick)
	} else if !benchValidName.MatchString(*name) {
		return usagef("--name %q: use letters, digits, '.', '_' and '-' only", *name)
	}
	if *out == "" {
		*out = filepath.Join("results", "bench", *name+".json")
	}
	if !*overwrite {
		if _, err := os.Stat(*out); err == nil {
			return usagef("%s already exists; pass --overwrite or choose another --name/--out", *out)
		}
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return usagef("%v", err)
	}
	c.Progress = stdout
	if run["lm"] {
		lmOut := filepath.Join(filepath.Dir(*out), "lm-train-"+*name+".json")
		if err := benchLM(ctx, stdout, b, *name, *lmPreset, lmOut, *quick, *overwrite); err != nil {
			return err
		}
		delete(run, "lm")
		if len(run) == 0 && !*torch {
			return nil
		}
	}
	report := bench.NewReport(*name, b, c, ".", os.Getenv("GODEBUG"))
	report.Quick = *quick
	fmt.Fprintf(stdout, "backend: %s\n", report.Backend.Description)

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
	if *torch {
		if err := bench.TorchAvailable(ctx, *python); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			report.TorchSkipped = err.Error()
		} else {
			fmt.Fprintf(stdout, "PyTorch (%s, %s):\n", *torchScript, *torchDevice)
			opts := bench.TorchOptions{Python: *python, Script: *torchScript, Device: *torchDevice, Threads: *torchThreads}
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
		}
	}
	if run["train"] {
		fmt.Fprintln(stdout, "training step:")
		if report.Train, err = bench.MeasureTrainStep(ctx, b, c); err != nil {
			return err
		}
	}
	report.Finish()
	if err := results.WriteJSON(*out, report, *overwrite); err != nil {
		return err
	}
	if err := benchPrintAndPlot(stdout, report, *plotDir); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "results written to %s\n", *out)
	return nil
}

// benchLM runs the language-model training benchmark and writes its report to out.
// It goes next to the other parts' report (lm-train-<name>.json in --out's directory).
func benchLM(ctx context.Context, stdout io.Writer, b compute.Backend, name, preset, out string, quick, overwrite bool) error {
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
	c.Progress = stdout
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
