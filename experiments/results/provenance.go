package results

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/memlayers/memlayers/experiments/backend"
)

// Provenance is what every results file records about where its numbers came from: without the seed,
// the data, the backend, the machine and the code, a number can be neither trusted nor reproduced.
// [Run] embeds it; other results documents (e.g. a notebook's own JSON) embed it too.
type Provenance struct {
	Seed int64 `json:"seed"`
	// Dataset is what the run learned from or measured: a file as a path relative to the repository root,
	// e.g. "tsv:experiments/data/testdata/capitals.tsv" (see [RepoRelative]), or the name of data generated
	// from the seed, e.g. "bios", "unicode", "recall", "random".
	Dataset string       `json:"dataset"`
	Backend backend.Info `json:"backend"`
	Machine Machine      `json:"machine"`
	Git     Git          `json:"git"`
	// Build is the commit the running program was built from (Go's VCS stamp, present for `go build` in
	// a checkout, absent for `go run` and tests). It differs from Git when commits land while a long
	// sweep runs: Git is the checkout when the run started, Build the code that actually ran.
	Build *Git `json:"build,omitempty"`
	// Note says which fields were filled in after the run, and from what, for files made before every
	// results file had to carry its provenance.
	Note string `json:"provenance_note,omitempty"`
}

// CheckProvenance reports the first field that is missing, or a dataset path that is absolute (a path of
// the machine that made the file, which means nothing on another one).
func (p Provenance) CheckProvenance() error {
	switch {
	case p.Dataset == "":
		return errors.New("provenance: dataset is empty; record what the run learned from (a name, or a path relative to the repository)")
	case filepath.IsAbs(DatasetFile(p.Dataset)):
		return fmt.Errorf("provenance: dataset=%q is an absolute path; record it relative to the repository root (results.RepoRelative)", p.Dataset)
	case p.Backend.Spec == "":
		return errors.New("provenance: backend.spec is empty; record backend.Describe of the backend the run used")
	case p.Machine.CPUModel == "" || p.Machine.OS == "":
		return errors.New("provenance: machine is empty; record results.CurrentMachine()")
	case p.Git.Commit == "":
		return errors.New("provenance: git.commit is empty; record results.CurrentGit (\"unknown\" outside a checkout)")
	}
	return nil
}

// DatasetFile is the file part of a dataset name: the text after a "kind:" prefix such as "tsv:", else the
// whole name. For generated data it is just the name.
func DatasetFile(dataset string) string {
	if kind, path, ok := strings.Cut(dataset, ":"); ok && kind != "" && !strings.ContainsAny(kind, `/\`) {
		return path
	}
	return dataset
}

// modulePath identifies this repository's go.mod.
const modulePath = "github.com/memlayers/memlayers"

// RepoRoot walks up from dir to the folder holding the go.mod of module github.com/memlayers/memlayers.
func RepoRoot(dir string) (string, error) {
	start, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("results: %w", err)
	}
	for d := start; ; d = filepath.Dir(d) {
		data, err := os.ReadFile(filepath.Join(d, "go.mod"))
		if err == nil && bytes.HasPrefix(bytes.TrimSpace(data), []byte("module "+modulePath)) {
			return d, nil
		}
		if filepath.Dir(d) == d {
			return "", fmt.Errorf("results: no go.mod of %s in %s or above it", modulePath, start)
		}
	}
}

// RepoRelative turns path (relative to the working directory, or absolute) into a slash-separated path
// relative to the repository that holds repoDir, so that a results file names its data the same way on
// every machine. Outside the repository (no go.mod of ours above repoDir) it is made relative to the
// working directory instead.
func RepoRelative(repoDir, path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		return filepath.ToSlash(path)
	}
	base, err := RepoRoot(repoDir)
	if err != nil {
		if base, err = os.Getwd(); err != nil {
			return filepath.ToSlash(path)
		}
	}
	rel, err := filepath.Rel(base, abs)
	if err != nil {
		return filepath.ToSlash(path)
	}
	return filepath.ToSlash(rel)
}

// RecordedDataset is dataset as a results file records it: a "kind:PATH" name (e.g. "tsv:facts.tsv") gets
// its path made relative to the repository that holds repoDir ([RepoRelative]); a plain name ("bios") is
// kept as it is.
func RecordedDataset(repoDir, dataset string) string {
	file := DatasetFile(dataset)
	if file == dataset {
		return dataset
	}
	return strings.TrimSuffix(dataset, file) + RepoRelative(repoDir, file)
}
