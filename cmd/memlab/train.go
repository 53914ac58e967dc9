package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

func init() {
	register("train", "train and evaluate one language model (dense, moe, peer, memory, memory+)", runTrain)
}

// specFlags registers the flags shared by train, eval and facts.
type specFlags struct {
	spec        lab.Spec
	model       string
	backend     *string
	out         *string
	overwrite   *bool
	checkpoints *string
	resume      *bool
	memoryPath  *string
	like        *string // SWEEP/RUN: start from that run of a sweep (train and eval only)
}

func addSpecFlags(fs *flag.FlagSet, defaultDataset string) *specFlags {
	f := &specFlags{}
	fs.StringVar(&f.spec.Preset, "preset", "tiny", "scale: "+strings.Join(lab.PresetNames(), ", "))
	fs.StringVar(&f.model, "model", "memory", "model kind: dense, moe, peer, memory, memory+")
	fs.StringVar(&f.spec.Dataset, "dataset", defaultDataset, "bios, unicode, languages, regions, random-facts (with --facts), continual (set A of the continual experiment), or tsv:PATH")
	fs.Int64Var(&f.spec.Seed, "seed", 1, "random seed (data, initialisation, batches), >= 1")
	fs.IntVar(&f.spec.Steps, "steps", 0, "training steps (0: the preset's)")
	fs.IntVar(&f.spec.People, "people", 0, "synthetic people (0: the preset's)")
	fs.IntVar(&f.spec.NKeys, "n-keys", 0, "memory half-keys: n-keys² slots (0: the preset's)")
	fs.IntVar(&f.spec.KNN, "knn", 0, "memory slots per head, <= n-keys (0: the preset's)")
	fs.IntVar(&f.spec.VDim, "v-dim", 0, "memory value dimension (0: the model's dim)")
	fs.Float64Var(&f.spec.DenseScale, "dense-scale", 0, "dense only: FLOPs ×factor of the base (e.g. 2, 4)")
	fs.StringVar(&f.spec.ScaleBy, "scale-by", "", "with --dense-scale: width (default) or depth")
	fs.StringVar(&f.spec.Name, "name", "", "run name in results (default: derived)")
	fs.IntVar(&f.spec.Dim, "dim", 0, "base model width (0: the preset's)")
	fs.IntVar(&f.spec.Layers, "layers", 0, "base model depth (0: the preset's)")
	fs.IntVar(&f.spec.BatchSize, "batch-size", 0, "training batch in windows (0: the preset's)")
	fs.IntVar(&f.spec.Facts, "facts", 0, "real-fact data: how many facts (0: all); --dataset random-facts: how many to draw (required)")
	fs.IntVar(&f.spec.ValueWords, "value-words", 0, "--dataset random-facts: words (8 bits each) per answer (0: 1)")
	fs.Func("swilu", "memory+ only: SiLU-gated values, true or false (default: on, the paper's)", boolPtrFlag(&f.spec.SwiLU))
	fs.Func("qk-norm", "memory+ only: normalised queries and keys, true or false (default: on, the paper's)", boolPtrFlag(&f.spec.QKNorm))
	f.backend = fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/plugin.so (env GOMLX_BACKEND)")
	f.out = fs.String("out", "", "results file (default results/train/<name>-seed<N>.json)")
	f.overwrite = fs.Bool("overwrite", false, "replace an existing results file")
	f.checkpoints = fs.String("checkpoint-dir", "", "checkpoint directory (default checkpoints/<name>-seed<N>)")
	f.resume = fs.Bool("resume", false, "continue from the last checkpoint in --checkpoint-dir")
	fs.IntVar(&f.spec.CheckpointEvery, "checkpoint-every", 0, "save a checkpoint every N steps (0: the preset's)")
	f.memoryPath = addMemoryPathFlag(fs)
	return f
}

// boolPtrFlag sets *p from a flag's true/false, leaving nil (the model's default) when the flag is absent.
func boolPtrFlag(p **bool) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("want true or false")
		}
		*p = &v
		return nil
	}
}

// addLikeFlag registers --like, for commands whose flags describe one run (train, eval).
func (f *specFlags) addLikeFlag(fs *flag.FlagSet) {
	f.like = fs.String("like", "", "start from one run of a sweep, SWEEP/RUN (e.g. memorize/memory+), at --preset and --seed;\n"+
		"the other flags change it, and a changed run needs its own --name")
}

// likeNeutral are the flags that do not change the run --like starts from: where it runs and what is written.
var likeNeutral = map[string]bool{"like": true, "preset": true, "seed": true, "name": true, "backend": true, "out": true,
	"overwrite": true, "checkpoint-dir": true, "resume": true, "checkpoint-every": true, "memory-path": true}

// parse parses args; with --like it starts the spec from that sweep run and parses args again over it, so
// that every flag given changes the sweep's run and every other field keeps the sweep's value.
func (f *specFlags) parse(fs *flag.FlagSet, args []string) error {
	if err := parseFlags(fs, args); err != nil || f.like == nil || *f.like == "" {
		return err
	}
	sweepName, runName, ok := strings.Cut(*f.like, "/")
	if !ok || sweepName == "" || runName == "" {
		return usagef("--like=%q: must be SWEEP/RUN, e.g. memorize/memory+", *f.like)
	}
	sw, err := lab.SweepByName(sweepName, f.spec.Preset, []int64{f.spec.Seed})
	if err != nil {
		return usagef("--like=%q: %v", *f.like, err)
	}
	base, err := sw.Run(runName, f.spec.Seed)
	if err != nil {
		return usagef("--like=%q: %v", *f.like, err)
	}
	var changed []string
	fs.Visit(func(fl *flag.Flag) {
		if !likeNeutral[fl.Name] {
			changed = append(changed, "--"+fl.Name)
		}
	})
	if len(changed) > 0 && f.spec.Name == "" {
		return usagef("--like=%q changed by %s: give it its own --name (e.g. --name %s-changed), so that its results are not taken for the sweep's run",
			*f.like, strings.Join(changed, " "), runName)
	}
	f.spec, f.model = base, string(base.Model)
	return parseFlags(fs, args)
}

// addMemoryPathFlag registers --memory-path.
func addMemoryPathFlag(fs *flag.FlagSet) *string {
	return fs.String("memory-path", "auto", "where memory layers run: host (value tables in host memory, sparse updates; "+
		"memory, memory+ and peer models), graph (one compiled graph; XLA/GPU), or auto (host on the Go backend)")
}

// memoryPath resolves --memory-path on the backend --backend selects: "" leaves
// the choice to lab's default for the model (the host path where it has one) on the Go backend.
func memoryPath(flagValue, backendFlag string) (string, error) {
	switch flagValue {
	case "auto":
		if backend.IsGo(backendFlag) {
			return "", nil
		}
		return train.PathGraph, nil
	case train.PathGraph, train.PathHost:
		return flagValue, nil
	}
	return "", usagef("--memory-path=%q: must be auto, graph or host", flagValue)
}

// resolve builds the plan, fills the default --out and --checkpoint-dir, refuses an existing results
// file (unless --overwrite), and prints the plan's warnings.
func (f *specFlags) resolve(cmd string) (*lab.Plan, error) {
	if f.spec.Seed < 1 {
		return nil, usagef("--seed=%d: must be >= 1 (seeds start at 1, as in sweep --seeds)", f.spec.Seed)
	}
	f.spec.Model = lm.Kind(f.model)
	if f.spec.Dataset == lab.ContinualDataset {
		// The continual experiment's pretraining (its model sizes and length) where the flags leave them.
		base, err := lab.ContinualPretrainSpec(f.spec.Preset, f.spec.Model, f.spec.Seed)
		if err != nil {
			return nil, usagef("%v", err)
		}
		for _, v := range []struct{ flag, base *int }{{&f.spec.Steps, &base.Steps}, {&f.spec.NKeys, &base.NKeys},
			{&f.spec.Dim, &base.Dim}, {&f.spec.Layers, &base.Layers}} {
			if *v.flag == 0 {
				*v.flag = *v.base
			}
		}
		if *f.checkpoints == "" { // where memlab finetune and the experiment look for it
			*f.checkpoints = lab.ContinualCheckpointDir("checkpoints", f.spec.Preset, f.spec.Model, f.spec.Seed)
		}
	}
	path, err := memoryPath(*f.memoryPath, *f.backend)
	if err != nil {
		return nil, err
	}
	f.spec.MemoryPath = path
	plan, err := lab.Build(f.spec)
	if err != nil {
		return nil, usagef("%v", err)
	}
	id := fmt.Sprintf("%s-seed%d", plan.Spec.Label(), plan.Spec.Seed)
	if *f.out == "" {
		*f.out = filepath.Join("results", "train", plan.Preset.Name+"-"+id+".json")
	}
	if *f.checkpoints == "" {
		*f.checkpoints = filepath.Join("checkpoints", plan.Preset.Name+"-"+id)
	}
	if st, err := os.Stat(*f.out); err == nil && !st.IsDir() && !*f.overwrite {
		return nil, usagef("%s already exists; pass --overwrite or choose another --out", *f.out)
	}
	for _, w := range plan.Warnings {
		warnf(cmd, "%s", w)
	}
	return plan, nil
}

// checkOut makes sure that the results file can be written, before hours of training: it is not a
// directory, and a file can be created next to it (its directory is created if missing).
func checkOut(path string) error {
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		return usagef("--out %s is a directory; give a file name such as %s", path, filepath.Join(path, "run.json"))
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return usagef("--out %s: cannot create directory %s (%v); choose another --out", path, dir, cause(err))
	}
	probe, err := os.CreateTemp(dir, "."+filepath.Base(path)+".check-*")
	if err != nil {
		return usagef("--out %s: cannot write in %s (%v); choose another --out", path, dir, cause(err))
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// cause strips the path from a file system error, whose message names it already.
func cause(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// trainFlags registers memlab train's flags.
func trainFlags(stdout io.Writer) (*flag.FlagSet, *specFlags) {
	fs := newFlagSet("train", "Train one model on a dataset, evaluate held-out factual QA (exact match, F1, answer NLL)\n"+
		"and text NLL, and write a results file. Interrupt with Ctrl-C: a checkpoint is saved; rerun with --resume.\n"+
		"--like reruns one run of a sweep, e.g. --like memorize/memory+ --preset small --swilu=false --name memory+-no-gate.", stdout)
	f := addSpecFlags(fs, "bios")
	f.addLikeFlag(fs)
	fs.IntVar(&f.spec.Exposures, "exposures", 0, fmt.Sprintf("train until every document was seen this many times (>= %d), instead of --steps: the capacity regime of the memorize sweep", lab.MinExposures))
	return fs, f
}

func runTrain(ctx context.Context, args []string, stdout io.Writer) error {
	fs, f := trainFlags(stdout)
	if err := f.parse(fs, args); err != nil {
		return err
	}
	if f.spec.Exposures != 0 && f.spec.Exposures < lab.MinExposures {
		return usagef("--exposures=%d: must be >= %d (0: train for --steps)", f.spec.Exposures, lab.MinExposures)
	}
	plan, err := f.resolve("train")
	if err != nil {
		return err
	}
	return f.execute(ctx, plan, stdout, false)
}

// execute trains (or, with evalOnly, evaluates the newest checkpoint of) plan and writes its results
// file.
func (f *specFlags) execute(ctx context.Context, plan *lab.Plan, stdout io.Writer, evalOnly bool) error {
	if evalOnly {
		if _, err := train.LatestCheckpoint(*f.checkpoints); err != nil {
			return usagef("%v", err)
		}
	}
	b, err := backend.New(*f.backend)
	if err != nil {
		return usagef("%v", err)
	}
	if !evalOnly {
		if err := lab.CheckMemory(plan, b); err != nil {
			return usagef("%v", err)
		}
	}
	if err := checkOut(*f.out); err != nil {
		return err
	}
	opts := lab.Options{Progress: stdout, CheckpointDir: *f.checkpoints, Resume: *f.resume, EvalOnly: evalOnly}
	run, err := lab.Run(ctx, b, plan, opts)
	var diverged *train.NonFiniteLossError
	switch {
	case errors.Is(err, train.ErrInterrupted):
		return interrupted{err}
	case errors.Is(err, train.ErrNoCheckpoint):
		return usagef("%v", err)
	case errors.As(err, &diverged):
		return fmt.Errorf("train: loss became %s at step %d with the preset's learning rate %g and gradient clipping %g, "+
			"which no flag changes; try another --seed, or lower plan.Train.LR from Go (see notebooks/)",
			diverged.What(), diverged.Step, plan.Train.LR, plan.Train.GradClip)
	case err != nil:
		return err
	}
	if err := results.Write(*f.out, run, *f.overwrite); err != nil {
		if evalOnly {
			return err
		}
		return fmt.Errorf("%v; the trained model is in %s: rerun the same command with --resume and a writable --out to write the results without training again",
			err, *f.checkpoints)
	}
	printFinal(stdout, run)
	fmt.Fprintf(stdout, "results written to %s\n", *f.out)
	return nil
}

// printFinal prints a run's final metrics on one line. A metric the run did
// not measure (e.g. text NLL: a facts file has no held-out text) reads "n/a",
// never a zero that looks like a perfect score.
func printFinal(w io.Writer, run *results.Run) {
	m := run.Final
	fmt.Fprintf(w, "%s: held-out QA EM %s F1 %s answer NLL %s | seen QA EM %s | text NLL %s | %.0f tok/s, %.0fs\n",
		run.Name, percent(m, "eval_qa_em"), percent(m, "eval_qa_f1"), nats(m, "eval_qa_nll"), percent(m, "train_qa_em"),
		nats(m, "val_nll"), m["tokens_per_second"], run.WallSeconds)
}

func percent(m map[string]float64, key string) string {
	if v, ok := m[key]; ok {
		return fmt.Sprintf("%.1f%%", 100*v)
	}
	return "n/a"
}

func nats(m map[string]float64, key string) string {
	if v, ok := m[key]; ok {
		return fmt.Sprintf("%.3f", v)
	}
	return "n/a"
}

// interrupted is a run stopped by SIGINT/SIGTERM after saving a checkpoint:
// its message is the trainer's (where the checkpoint is, how to resume) and it
// counts as context.Canceled for the exit status.
type interrupted struct{ err error }

func (e interrupted) Error() string   { return e.err.Error() }
func (e interrupted) Unwrap() []error { return []error{e.err, context.Canceled} }
