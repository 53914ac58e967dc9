package main

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/memlayers/memlayers/experiments/data"
)

func init() {
	register("facts", "train and evaluate on your own facts (a TSV file: subject, relation, answer[, question])", runFacts)
	register("eval", "evaluate the last checkpoint of a run (same flags as train, with its --checkpoint-dir)", runEval)
}

// runFacts is train with a user TSV as the dataset: half of the subjects are
// held out (their statements are in the training text, their questions not).
func runFacts(ctx context.Context, args []string, stdout io.Writer) error {
	var file string
	var rest []string
	for i := 0; i < len(args); i++ { // accept --file X and --file=X anywhere
		switch a := args[i]; {
		case a == "--file" || a == "-file":
			if i+1 >= len(args) {
				return usagef("--file needs a path to a TSV file")
			}
			file = args[i+1]
			i++
		case strings.HasPrefix(a, "--file=") || strings.HasPrefix(a, "-file="):
			file = a[strings.Index(a, "=")+1:]
		case a == "-h" || a == "--help":
			fmt.Fprintln(stdout, "Usage: memlab facts --file FACTS.tsv [train flags]\n\n"+
				"Lines: subject<TAB>relation<TAB>answer[<TAB>question with {subject}]; '#' comments allowed.\n"+
				"Example: memlab facts --file experiments/data/testdata/capitals.tsv --model memory --steps 200\n"+
				"All other flags are those of 'memlab train' (see memlab train --help).")
			return nil
		default:
			rest = append(rest, a)
		}
	}
	if file == "" {
		return usagef("--file is required: a TSV of subject<TAB>relation<TAB>answer lines (see memlab facts --help)")
	}
	if _, err := data.LoadFactsTSV(file); err != nil { // line-numbered errors before anything else
		return usagef("%v", err)
	}
	name := strings.TrimSuffix(filepath.Base(file), filepath.Ext(file))
	return runTrain(ctx, append([]string{"--dataset", "tsv:" + file, "--name", "facts-" + name}, rest...), stdout)
}

// runEval resumes a run's checkpoint without training further: the trainer
// then only evaluates (if the final evaluation is missing) and reports.
func runEval(ctx context.Context, args []string, stdout io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "--help" {
			fmt.Fprintln(stdout, "Usage: memlab eval [train flags] --checkpoint-dir DIR\n\n"+
				"Evaluates the last checkpoint in DIR (made by 'memlab train' with the same flags) and writes\n"+
				"a results file. The flags must describe the same model and data as the training run.")
			return nil
		}
	}
	return runTrain(ctx, append([]string{"--resume"}, args...), stdout)
}
