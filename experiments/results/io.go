package results

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Write saves r as indented JSON at path; see [WriteJSON] for the guarantees. A run whose provenance is
// incomplete is an error and nothing is written: every results file must say where its numbers came from.
func Write(path string, r *Run, overwrite bool) error {
	if r == nil {
		return fmt.Errorf("results: %s: nil run", path)
	}
	if err := r.CheckProvenance(); err != nil {
		return fmt.Errorf("results: %s: %w", path, err)
	}
	return WriteJSON(path, r, overwrite)
}

// WriteJSON saves v as indented JSON at path, creating missing directories; see [WriteFile] for the
// guarantees. If v cannot be encoded nothing on disk changes.
func WriteJSON(path string, v any, overwrite bool) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("results: %s: encoding JSON: %w", path, err)
	}
	return WriteFile(path, append(data, '\n'), overwrite)
}

// WriteFile saves data at path, creating missing directories.
//
// The write is atomic: the bytes go to a temporary file in the same directory, are flushed to disk, and
// the file is then renamed into place, so an interrupted run never leaves a truncated results file that
// would later break plotting. An existing file is an error unless overwrite is true, because a results file
// may be the only copy of hours of training.
func WriteFile(path string, data []byte, overwrite bool) error {
	if !overwrite {
		if _, err := os.Lstat(path); err == nil {
			return existsError(path)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("results: %w", err)
	}
	tmpPath := tmp.Name()
	defer os.Remove(tmpPath) // No-op once renamed or linked and removed.
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o644)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if closeErr := tmp.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		return fmt.Errorf("results: writing %s: %w", path, err)
	}
	if overwrite {
		err = os.Rename(tmpPath, path)
	} else {
		err = publishNew(tmpPath, path)
	}
	if err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// publishNew moves tmpPath to path only if path does not exist. A hard link fails atomically when the
// target exists, closing the gap between the existence check and the rename; where links are not
// supported it falls back to check-then-rename.
func publishNew(tmpPath, path string) error {
	err := os.Link(tmpPath, path)
	if err == nil {
		return nil // The deferred Remove drops the temporary name.
	}
	if errors.Is(err, fs.ErrExist) {
		return existsError(path)
	}
	if _, statErr := os.Lstat(path); statErr == nil {
		return existsError(path)
	}
	if err := os.Rename(tmpPath, path); err != nil {
		return fmt.Errorf("results: %w", err)
	}
	return nil
}

// ErrExists matches (errors.Is) the error of a write that would replace an existing results file.
var ErrExists = errors.New("results: file exists")

func existsError(path string) error { return &existsErr{path} }

// existsErr names the results file that a write refused to replace.
type existsErr struct{ path string }

func (e *existsErr) Error() string {
	return fmt.Sprintf("results: %s already exists; pass --overwrite or choose another --out", e.path)
}

func (e *existsErr) Is(target error) bool { return target == ErrExists }

// syncDir flushes the directory entry of a rename; best effort, as not every OS or filesystem allows it.
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// Read loads one results file.
func Read(path string) (*Run, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var r Run
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("results: %s is not a valid results file: %w", path, err)
	}
	return &r, nil
}

// ReadDir loads every run in dir (not recursive), in file name order.
//
// Files not ending in ".json", hidden files (including our temporary files) and JSON documents without an
// "experiment" field (e.g. benchmark files written with [WriteJSON]) are skipped; any unreadable or corrupt
// JSON file is an error naming that file, so a bad file is never silently left out of a plot.
func ReadDir(dir string) ([]*Run, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("results: %w", err)
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || strings.HasPrefix(name, ".") || !strings.EqualFold(filepath.Ext(name), ".json") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var runs []*Run
	for _, name := range names {
		path := filepath.Join(dir, name)
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("results: %w", err)
		}
		var probe any
		if err := json.Unmarshal(data, &probe); err != nil {
			return nil, fmt.Errorf("results: %s is not a valid JSON document: %w", path, err)
		}
		if obj, ok := probe.(map[string]any); !ok || obj["experiment"] == nil {
			continue
		}
		var r Run
		if err := json.Unmarshal(data, &r); err != nil {
			return nil, fmt.Errorf("results: %s is not a valid results file: %w", path, err)
		}
		runs = append(runs, &r)
	}
	return runs, nil
}
