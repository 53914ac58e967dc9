// Package nbhelp holds the little that the GoNB notebooks in notebooks/ share: where their results and
// charts go, the RERUN switch, and turning a recall run into a results file.
//
// Every GoNB cell runs as a fresh program, so a training cell writes its results files and later cells
// plot from those files (as the CLI does): a chart can be redrawn without retraining.
package nbhelp

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/gomlx/compute"
	gplot "gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/plot"
	"github.com/memlayers/memlayers/experiments/recall"
	"github.com/memlayers/memlayers/experiments/results"
)

// OutputEnv names a folder that takes the place of the repository root for results/ and plots/.
// notebooks/notebooks_test.go sets it, so that executing the notebooks in CI leaves the tree untouched.
const OutputEnv = "MEMLAB_NOTEBOOK_OUTPUT"

// RerunEnv is the environment variable that forces notebooks to retrain ("true") or to reuse saved
// results ("false").
const RerunEnv = "RERUN"

const modulePath = "github.com/memlayers/memlayers"

// Must returns v, and panics with err if it is not nil: in a notebook cell, a panic is the error report.
func Must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// Rerun reports whether a notebook should retrain rather than read saved results: the value of $RERUN
// when it is set (true/false, 1/0), else def. Cheap notebooks pass true, expensive ones false.
func Rerun(def bool) bool {
	v, err := strconv.ParseBool(os.Getenv(RerunEnv))
	if err != nil {
		return def
	}
	return v
}

// NeedsRun reports whether a result must be computed: rerun is set or one of the files is missing.
func NeedsRun(rerun bool, paths ...string) bool {
	if rerun {
		return true
	}
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			return true
		}
	}
	return false
}

// RepoRoot finds the repository: from $GONB_DIR (the notebook's folder, under GoNB) or else the working
// directory, it walks up to the go.mod of module github.com/memlayers/memlayers.
func RepoRoot() (string, error) {
	start := os.Getenv("GONB_DIR")
	if start == "" {
		start = "."
	}
	root, err := results.RepoRoot(start)
	if err != nil {
		return "", fmt.Errorf("nbhelp: %w; open the notebooks from the repository's notebooks/ folder", err)
	}
	return root, nil
}

// Out joins parts onto the output root: $MEMLAB_NOTEBOOK_OUTPUT if set, else the repository root.
// E.g. Out("results", "01-memory-layer", "recall-memory.json").
func Out(parts ...string) (string, error) {
	root := os.Getenv(OutputEnv)
	if root == "" {
		var err error
		if root, err = RepoRoot(); err != nil {
			return "", err
		}
	}
	return filepath.Join(append([]string{root}, parts...)...), nil
}

// SavePlot writes p to plots/<name>.png and .svg under the output root and returns the PNG bytes, for
// gonbui.DisplayPNG. Sizes are in inches; 0 uses the default size (7 × 4.5 in).
func SavePlot(p *gplot.Plot, name string, widthIn, heightIn float64) ([]byte, error) {
	pathNoExt, err := Out("plots", name)
	if err != nil {
		return nil, err
	}
	w, h := vg.Length(widthIn)*vg.Inch, vg.Length(heightIn)*vg.Inch
	pngPath, _, err := plot.Save(p, pathNoExt, w, h)
	if err != nil {
		return nil, err
	}
	return os.ReadFile(pngPath)
}

// WriteJSON writes v to path (replacing it); ReadJSON reads it back. A document that carries a
// [results.Provenance] (a results.Run, or a struct that embeds one) is refused when it is incomplete.
func WriteJSON(path string, v any) error {
	if p, ok := v.(interface{ CheckProvenance() error }); ok {
		if err := p.CheckProvenance(); err != nil {
			return fmt.Errorf("nbhelp: %s: %w", path, err)
		}
	}
	return results.WriteJSON(path, v, true)
}

// ReadJSON decodes the JSON file at path into a T.
func ReadJSON[T any](path string) (T, error) {
	var v T
	data, err := os.ReadFile(path)
	if err != nil {
		return v, fmt.Errorf("nbhelp: %w", err)
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return v, fmt.Errorf("nbhelp: %s: %w", path, err)
	}
	return v, nil
}

// RecallDataset names the recall task's data in results files: random (pattern → label) pairs generated
// from the seed.
const RecallDataset = "recall"

// Provenance is the provenance of a notebook's own results document (one that is not a [results.Run]):
// seed, dataset (a "tsv:PATH" recorded relative to the repository), backend b, this machine and the
// repository's commit.
func Provenance(b compute.Backend, seed int64, dataset string) (results.Provenance, error) {
	root, err := RepoRoot()
	if err != nil {
		return results.Provenance{}, err
	}
	p := results.Provenance{Seed: seed, Dataset: results.RecordedDataset(root, dataset), Backend: backend.Describe(b),
		Machine: results.CurrentMachine(), Git: results.CurrentGit(root)}
	return p, p.CheckProvenance()
}

// RecallRun records a finished recall run as a results file: its config, every evaluation (accuracy and
// mean training loss; "tokens" counts the pairs seen), and final accuracy, chance and slot usage.
func RecallRun(experiment, name string, b compute.Backend, res *recall.Result) (*results.Run, error) {
	if res == nil || len(res.Points) == 0 {
		return nil, errors.New("nbhelp: RecallRun: the recall result has no evaluation points")
	}
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	r := &results.Run{Experiment: experiment, Name: name}
	if err := r.SetConfig(res.Config); err != nil {
		return nil, err
	}
	r.Start(root)
	r.Seed, r.Dataset, r.Backend = res.Config.Seed, RecallDataset, backend.Describe(b)
	r.StartedAt = r.StartedAt.Add(-time.Duration(res.Seconds * float64(time.Second)))
	for _, p := range res.Points {
		r.AddEval(p.Step, int64(p.Step)*int64(res.Config.Batch), map[string]float64{"accuracy": p.Accuracy, "loss": p.Loss})
	}
	r.Final = map[string]float64{"accuracy": res.Final, "chance": res.Chance}
	if !res.Config.NoMemory {
		r.Final["slots_used"] = res.Usage.Fraction
		r.Final["usage_kl"] = res.Usage.KL
	}
	r.Finish()
	return r, nil
}
