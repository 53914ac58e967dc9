package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/memlayers/memlayers/experiments/lab"
)

func init() {
	register("facts", "train and evaluate on your own facts (a TSV file: subject, relation, answer[, question])", runFacts)
	register("eval", "evaluate the last checkpoint of a run without training (same flags as train, with its --checkpoint-dir)", runEval)
}

// runFacts is train with a user TSV as the dataset: half of the subjects are held out (their statements
// are in the training text, their questions not).
func runFacts(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("facts", "Train on the facts of a TSV file and evaluate their questions; half of the subjects are held out\n"+
		"(their statements are in the training text, their questions are not).\n\n"+
		"Lines: subject<TAB>relation<TAB>answer[<TAB>question with {subject}]; '#' comments allowed. Several lines\n"+
		"with the same subject and relation give a question several accepted answers (any one counts as right).\n"+
		"Example: memlab facts --file experiments/data/testdata/capitals.tsv --model memory --exposures 100\n"+
		"The other flags are those of 'memlab train'.", stdout)
	f := addSpecFlags(fs, "")
	file := fs.String("file", "", "the TSV file of facts (required)")
	lenient := fs.Bool("lenient", false, "skip bad lines (wrong number of fields, empty fields, …) and summarise them, instead of stopping at the first")
	exposures := fs.Float64("exposures", 0, fmt.Sprintf("train until each fact was seen about this many times (sets --steps; below %d exact match stays low)", lab.MinExposures))
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { set[fl.Name] = true })
	switch {
	case *file == "":
		return usagef("--file is required: a TSV of subject<TAB>relation<TAB>answer lines (see memlab facts --help)")
	case set["dataset"]:
		return usagef("--dataset cannot be used with facts, which trains on --file; for the other datasets use memlab train --dataset")
	case set["exposures"] && set["steps"]:
		return usagef("--exposures and --steps both set the length of training; give one of them")
	case set["exposures"] && !(*exposures > 0):
		return usagef("--exposures=%g: must be > 0", *exposures)
	}
	f.spec.Dataset = "tsv:" + *file
	f.spec.LenientTSV = *lenient
	if f.spec.Name == "" {
		f.spec.Name = "facts-" + strings.TrimSuffix(filepath.Base(*file), filepath.Ext(*file))
	}
	plan, err := f.resolve("facts")
	if err != nil {
		if !*lenient && strings.HasPrefix(err.Error(), *file+":") { // a bad line, "FILE:LINE: problem; fix"
			return usagef("%v (or pass --lenient to skip bad lines)", err)
		}
		return err
	}
	if *exposures > 0 {
		f.spec.Steps = plan.StepsForExposures(*exposures)
		if plan, err = lab.Build(f.spec); err != nil {
			return usagef("%v", err)
		}
	}
	describeFacts(stdout, plan)
	return f.execute(ctx, plan, stdout, false)
}

// describeFacts prints the size of a facts dataset and how many times training shows each fact, with a
// warning when that is too few to memorise them.
func describeFacts(stdout io.Writer, plan *lab.Plan) {
	ds := plan.Dataset
	questions := len(ds.TrainQA) + len(ds.EvalQA)
	several, _ := ds.Meta["several_answers"].(int)
	exp := plan.Exposures()
	fmt.Fprintf(stdout, "facts: %d statements, %d questions (%d with several answers), %d training; %d steps show each fact about %.1f times\n",
		len(ds.Facts), questions, several, len(ds.TrainQA), plan.Train.Steps, exp)
	if exp < lab.MinExposures {
		warnf("facts", "each fact is seen only about %.1f times in training, too few to memorise it; pass --exposures %d (%d steps): "+
			"on 428 real facts, 10 exposures recalled none, 30 about a third and 100 all", exp, lab.RecommendedExposures,
			plan.StepsForExposures(lab.RecommendedExposures))
	}
}

// runEval evaluates the newest checkpoint of a run as it is: it never trains, and a missing checkpoint
// is an error.
func runEval(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("eval", "Evaluate the newest checkpoint in --checkpoint-dir (made by 'memlab train' with the same flags) as it is,\n"+
		"without training, and write a results file. The flags must describe the same model and data as the\n"+
		"training run; a checkpoint saved before the end of training is evaluated at its step.", stdout)
	f := addSpecFlags(fs, "bios")
	f.addLikeFlag(fs)
	if err := f.parse(fs, args); err != nil {
		return err
	}
	if *f.resume {
		return usagef("--resume is for train: eval never trains, it evaluates the newest checkpoint as it is")
	}
	plan, err := f.resolve("eval")
	if err != nil {
		return err
	}
	return f.execute(ctx, plan, stdout, true)
}
