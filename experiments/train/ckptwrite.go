package train

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
)

// Checkpoints are written in GoMLX's layout (ml/model/checkpoint reads them: checkpoint-n<count>-<time>-
// step-<step>.json for the metadata and .bin for the tensors), but atomically: both files are written
// under temporary names, synced to disk, and renamed, the .bin first and the .json last, so that a
// checkpoint appears in the directory complete or not at all (GoMLX lists checkpoints by their .json).
// The previous checkpoints stay until the new one is complete. A save cut short leaves only temporary
// files, which the next run removes.

// ckptFS is the file system a checkpoint is written through; tests inject a failing one.
type ckptFS interface {
	Create(path string) (ckptFile, error)
	Rename(from, to string) error
	Remove(path string) error
	SyncDir(dir string) error
}

// ckptFile is a file being written.
type ckptFile interface {
	io.Writer
	Sync() error
	Close() error
}

// osFS is the real file system.
type osFS struct{}

func (osFS) Create(path string) (ckptFile, error) { return os.Create(path) }
func (osFS) Rename(from, to string) error         { return os.Rename(from, to) }
func (osFS) Remove(path string) error             { return os.Remove(path) }
func (osFS) SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// savedCheckpoint mirrors GoMLX's checkpoint metadata (field names are its JSON keys).
type savedCheckpoint struct {
	Params    []savedParam
	Variables []savedVar
	BinFormat string
}

type savedVar struct {
	ParameterName string // "var:" + the variable's path
	Dimensions    []int
	DType         dtypes.DType
	Pos, Length   int // bytes in the .bin file
}

type savedParam struct {
	Scope, Key string
	Value      any
	ValueType  string
}

// tmpPrefix starts the names of files being written; they never match a checkpoint's name.
const tmpPrefix = ".tmp-"

var checkpointCount = regexp.MustCompile(`^checkpoint-n(\d+)-`)

// nextCheckpointName returns the base name of the next checkpoint of step in dir, numbered after the
// existing ones (names sort in the order they were saved).
func nextCheckpointName(dir string, step int) (string, error) {
	names, err := listCheckpoints(dir)
	if err != nil {
		return "", err
	}
	count := 0
	for _, name := range names {
		if m := checkpointCount.FindStringSubmatch(name); m != nil {
			if n, err := strconv.Atoi(m[1]); err == nil && n >= count {
				count = n + 1
			}
		}
	}
	return fmt.Sprintf("checkpoint-n%07d-%s-step-%08d", count, time.Now().Format("20060102-150405"), step), nil
}

// writeCheckpoint writes every variable of store, the values in pending (loaded from a checkpoint and not
// yet used by any graph) and the store's parameters as checkpoint base in dir, atomically (see above), then
// keeps only the newest keep checkpoints (keep < 0 keeps all).
func writeCheckpoint(fs ckptFS, dir, base string, store *model.Store, pending map[string]*tensors.Tensor, keep int) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	meta := savedCheckpoint{BinFormat: checkpoint.BinUncompressed.String()}
	for path, value := range store.IterParams() {
		scope, key := model.SplitPath(path)
		meta.Params = append(meta.Params, savedParam{Scope: scope, Key: key, Value: value, ValueType: fmt.Sprintf("%T", value)})
	}
	type namedTensor struct {
		name  string
		value *tensors.Tensor
	}
	var all []namedTensor
	for v := range store.IterVariables() {
		value, err := v.Value()
		if err != nil {
			return fmt.Errorf("variable %s: %w", v.Path(), err)
		}
		all = append(all, namedTensor{"var:" + v.Path(), value})
	}
	names := make([]string, 0, len(pending))
	for name := range pending {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		all = append(all, namedTensor{name, pending[name]})
	}

	tmpBin := filepath.Join(dir, tmpPrefix+base+checkpoint.BinDataSuffix)
	tmpJSON := filepath.Join(dir, tmpPrefix+base+checkpoint.JsonNameSuffix)
	cleanup := func(err error) error {
		_ = fs.Remove(tmpBin)
		_ = fs.Remove(tmpJSON)
		return err
	}
	bin, err := fs.Create(tmpBin)
	if err != nil {
		return cleanup(err)
	}
	pos := 0
	for _, t := range all {
		var writeErr error
		n := 0
		if err := t.value.ConstBytes(func(data []byte) { n, writeErr = bin.Write(data) }); err != nil {
			writeErr = err
		}
		if writeErr != nil {
			_ = bin.Close()
			return cleanup(writeErr)
		}
		shape := t.value.Shape()
		meta.Variables = append(meta.Variables, savedVar{ParameterName: t.name, Dimensions: shape.Dimensions,
			DType: shape.DType, Pos: pos, Length: n})
		pos += n
	}
	if err := errors.Join(bin.Sync(), bin.Close()); err != nil {
		return cleanup(err)
	}
	text, err := json.MarshalIndent(meta, "", "\t")
	if err != nil {
		return cleanup(err)
	}
	js, err := fs.Create(tmpJSON)
	if err != nil {
		return cleanup(err)
	}
	if _, err := js.Write(text); err != nil {
		_ = js.Close()
		return cleanup(err)
	}
	if err := errors.Join(js.Sync(), js.Close()); err != nil {
		return cleanup(err)
	}
	finalBin := filepath.Join(dir, base+checkpoint.BinDataSuffix)
	if err := fs.Rename(tmpBin, finalBin); err != nil {
		return cleanup(err)
	}
	if err := fs.Rename(tmpJSON, filepath.Join(dir, base+checkpoint.JsonNameSuffix)); err != nil {
		_ = fs.Remove(finalBin)
		return cleanup(err)
	}
	if err := fs.SyncDir(dir); err != nil {
		return err
	}
	return pruneCheckpoints(fs, dir, keep)
}

// pruneCheckpoints removes all but the newest keep checkpoints of dir (each .json first, so that a prune
// cut short never leaves a listed checkpoint without its data).
func pruneCheckpoints(fs ckptFS, dir string, keep int) error {
	if keep < 0 {
		return nil
	}
	names, err := listCheckpoints(dir)
	if err != nil {
		return err
	}
	for len(names) > keep {
		base := filepath.Join(dir, names[0])
		if err := fs.Remove(base + checkpoint.JsonNameSuffix); err != nil {
			return err
		}
		if err := fs.Remove(base + checkpoint.BinDataSuffix); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		names = names[1:]
	}
	return nil
}

// removeUnfinishedSaves deletes the temporary files of saves that were cut short and returns their names.
func removeUnfinishedSaves(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var removed []string
	for _, e := range entries {
		if !e.IsDir() && strings.HasPrefix(e.Name(), tmpPrefix+"checkpoint-") {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return removed, err
			}
			removed = append(removed, e.Name())
		}
	}
	return removed, nil
}

// checkCheckpointFiles reports why checkpoint base of dir cannot be loaded (nil if it looks whole): its
// metadata must decode and describe a data file of exactly the .bin's size (for an uncompressed one).
func checkCheckpointFiles(dir, base string) error {
	text, err := os.ReadFile(filepath.Join(dir, base+checkpoint.JsonNameSuffix))
	if err != nil {
		return err
	}
	var meta savedCheckpoint
	if err := json.Unmarshal(text, &meta); err != nil {
		return fmt.Errorf("metadata: %s", oneLine(err.Error()))
	}
	info, err := os.Stat(filepath.Join(dir, base+checkpoint.BinDataSuffix))
	if err != nil {
		return err
	}
	if meta.BinFormat != checkpoint.BinUncompressed.String() {
		return nil // GoMLX's gzip files carry no size to check before loading
	}
	want := 0
	for _, v := range meta.Variables {
		if v.Pos != want || v.Length < 0 {
			return fmt.Errorf("metadata: variable %s at byte %d, expected %d", v.ParameterName, v.Pos, want)
		}
		want += v.Length
	}
	if info.Size() != int64(want) {
		return fmt.Errorf("data file has %d bytes, the metadata describes %d", info.Size(), want)
	}
	return nil
}

// setAsideBrokenCheckpoints removes the temporary files of unfinished saves; then, when the newest
// checkpoints of dir cannot be loaded (torn by a crash during a save made before saves were atomic, or
// damaged since) but an older one is intact, it moves the unreadable ones into dir/broken, with a one-line
// notice each, and returns the remaining names: the run resumes from the newest intact checkpoint. When
// none is intact it changes nothing and returns an error naming the file. Nothing is deleted but the
// temporary files.
func setAsideBrokenCheckpoints(dir string, names []string, out io.Writer) ([]string, error) {
	removed, err := removeUnfinishedSaves(dir)
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint dir %s: %s", dir, oneLine(err.Error()))
	}
	if len(removed) > 0 {
		fmt.Fprintf(out, "removed the temporary files of a save that was cut short: %s\n", strings.Join(removed, ", "))
	}
	if len(names) == 0 {
		return names, nil
	}
	problems := map[string]error{}
	intact := len(names) - 1
	for ; intact >= 0; intact-- {
		if problems[names[intact]] = checkCheckpointFiles(dir, names[intact]); problems[names[intact]] == nil {
			break
		}
	}
	switch {
	case intact == len(names)-1:
		return names, nil
	case intact < 0:
		latest := names[len(names)-1]
		problem := problems[latest]
		file := filepath.Join(dir, latest+checkpoint.JsonNameSuffix)
		if strings.HasPrefix(problem.Error(), "data file") {
			file = filepath.Join(dir, latest+checkpoint.BinDataSuffix)
		}
		fix := "it is the only checkpoint there: use a new --checkpoint-dir"
		if len(names) > 1 {
			fix = "no checkpoint there is intact: use a new --checkpoint-dir"
		}
		return nil, fmt.Errorf("train: checkpoint file %s is corrupt (%s); %s", file, oneLine(problem.Error()), fix)
	}
	broken := filepath.Join(dir, "broken")
	if err := os.MkdirAll(broken, 0o755); err != nil {
		return nil, fmt.Errorf("train: checkpoint dir %s: %s", dir, oneLine(err.Error()))
	}
	for _, name := range names[intact+1:] {
		for _, suffix := range []string{checkpoint.JsonNameSuffix, checkpoint.BinDataSuffix} {
			err := os.Rename(filepath.Join(dir, name+suffix), filepath.Join(broken, name+suffix))
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("train: checkpoint %s is unreadable (%s) and could not be moved aside: %s",
					checkpointFiles(dir, name), oneLine(problems[name].Error()), oneLine(err.Error()))
			}
		}
		fmt.Fprintf(out, "checkpoint %s is unreadable (%s): moved it to %s; resuming from %s\n",
			name, oneLine(problems[name].Error()), broken, names[intact])
	}
	return names[:intact+1], nil
}
