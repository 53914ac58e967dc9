package results

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteRefusesIncompleteProvenance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		spoil func(*Run)
		want  string
	}{
		{"no dataset", func(r *Run) { r.Dataset = "" }, "dataset is empty"},
		{"absolute dataset", func(r *Run) { r.Dataset = "tsv:/work/main/facts.tsv" }, "absolute path"},
		{"no backend", func(r *Run) { r.Backend.Spec = "" }, "backend.spec"},
		{"no machine", func(r *Run) { r.Machine = Machine{} }, "machine"},
		{"no commit", func(r *Run) { r.Git.Commit = "" }, "git.commit"},
	} {
		r := sampleRun()
		tc.spoil(r)
		path := filepath.Join(t.TempDir(), "run.json")
		err := Write(path, r, true)
		if err == nil || !strings.Contains(err.Error(), tc.want) || strings.Count(err.Error(), "\n") > 0 {
			t.Errorf("%s: Write = %v, want one line naming %q", tc.name, err, tc.want)
		}
		if _, statErr := os.Stat(path); statErr == nil {
			t.Errorf("%s: a file was written despite the error", tc.name)
		}
	}
}

func TestRecordedDataset(t *testing.T) {
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	const capitals = "experiments/data/testdata/capitals.tsv"
	for _, tc := range []struct{ in, want string }{
		{"bios", "bios"},
		{"unicode", "unicode"},
		{"tsv:../data/testdata/capitals.tsv", "tsv:" + capitals}, // relative to this package's folder
		{"tsv:" + filepath.Join(root, capitals), "tsv:" + capitals},
	} {
		if got := RecordedDataset(".", tc.in); got != tc.want {
			t.Errorf("RecordedDataset(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if DatasetFile("tsv:a/b.tsv") != "a/b.tsv" || DatasetFile("bios") != "bios" || DatasetFile("/x:y/z") != "/x:y/z" {
		t.Error("DatasetFile must strip a kind prefix and nothing else")
	}
	if _, err := RepoRoot(t.TempDir()); err == nil {
		t.Error("RepoRoot found the repository above a temporary folder")
	}
}

// TestCommittedResultsHaveProvenance reads every JSON file under the repository's results/ (runs,
// benchmarks, the notebooks' own documents; not the hidden folders git ignores): each must say which
// seed, data, backend, machine and commit made it, and name a data file by a path inside the repository
// that exists.
func TestCommittedResultsHaveProvenance(t *testing.T) {
	root, err := RepoRoot(".")
	if err != nil {
		t.Fatal(err)
	}
	files := 0
	err = filepath.WalkDir(filepath.Join(root, "results"), func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir // results/.checkpoints: a running sweep's checkpoints, never committed
		}
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".json") {
			return err
		}
		files++
		rel, _ := filepath.Rel(root, path)
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var keys map[string]json.RawMessage
		var p Provenance
		if err := json.Unmarshal(data, &keys); err != nil {
			t.Errorf("%s: not a JSON object: %v", rel, err)
			return nil
		}
		if err := json.Unmarshal(data, &p); err != nil {
			t.Errorf("%s: provenance fields of the wrong type: %v", rel, err)
			return nil
		}
		if _, ok := keys["seed"]; !ok {
			t.Errorf("%s: no seed", rel)
		}
		if err := p.CheckProvenance(); err != nil {
			t.Errorf("%s: %v", rel, err)
			return nil
		}
		if file := DatasetFile(p.Dataset); file != p.Dataset {
			if strings.HasPrefix(file, "../") {
				t.Errorf("%s: dataset %q lies outside the repository", rel, p.Dataset)
			} else if _, err := os.Stat(filepath.Join(root, file)); err != nil {
				t.Errorf("%s: dataset %q: %v", rel, p.Dataset, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Fatal("no results files found under results/")
	}
}
