package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/memlayer"
)

// Background reads for FinetuneSparse: which slots of each value table the pretrained model reads on
// batches of its pretraining data (memlayer.BackgroundReads), counted once with forward passes and cached
// in the pretrained model's checkpoint directory, next to the checkpoint they were counted with.

// backgroundFile is the cache's file format.
type backgroundFile struct {
	Checkpoint string                               `json:"checkpoint"` // the checkpoint's base name
	DataHash   string                               `json:"data_hash"`  // of the background windows
	BatchSize  int                                  `json:"batch_size"`
	Tables     map[string]*memlayer.BackgroundReads `json:"tables"` // by value-table path
}

// backgroundCachePath is where the counts of windows, in batches of batchSize windows, under the checkpoint
// info.File of info.Dir are cached. The name starts with "background-", never "checkpoint-", so that
// nothing mistakes it for a checkpoint.
func backgroundCachePath(info *CheckpointInfo, hash string, batchSize int) string {
	return filepath.Join(info.Dir, fmt.Sprintf("background-%s-%s-b%d.json", info.File, hash, batchSize))
}

// backgroundReads returns the background counts of the host path's tables over windows in batches of bs:
// read from the cache when it holds them, else counted (one forward pass per full batch) and cached.
func (t *Trainer) backgroundReads(ctx context.Context, info *CheckpointInfo, windows [][]int32, bs int, out io.Writer) (map[string]*memlayer.BackgroundReads, error) {
	if len(windows) < bs {
		return nil, fmt.Errorf("train: finetune=sparse: %d background windows, fewer than one background batch (%d); give more of the pretraining data",
			len(windows), bs)
	}
	hash := dataHash(windows)
	path := backgroundCachePath(info, hash, bs)
	if counts, err := t.readBackground(path, info, hash, bs); err == nil {
		fmt.Fprintf(out, "background slot reads from %s\n", path)
		return counts, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(out, "recounting the background slot reads: %s\n", oneLine(err.Error()))
	}
	counts, err := t.countBackground(ctx, windows, bs)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(backgroundFile{Checkpoint: info.File, DataHash: hash, BatchSize: bs, Tables: counts})
	if err != nil {
		return nil, err
	}
	if err := results.WriteFile(path, data, true); err != nil {
		fmt.Fprintf(out, "background slot reads not cached: %s\n", oneLine(err.Error()))
	} else {
		fmt.Fprintf(out, "background slot reads of %d batches cached in %s\n", len(windows)/bs, path)
	}
	return counts, nil
}

// readBackground reads a cache file and checks that it fits this model and data.
func (t *Trainer) readBackground(path string, info *CheckpointInfo, hash string, bs int) (map[string]*memlayer.BackgroundReads, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var f backgroundFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("%s: %s", path, oneLine(err.Error()))
	}
	if f.Checkpoint != info.File || f.DataHash != hash || f.BatchSize != bs {
		return nil, fmt.Errorf("%s was counted for another checkpoint, data or batch size", path)
	}
	for _, tbl := range t.host.tables {
		if err := f.Tables[tbl.path].Validate(tbl.values.Rows); err != nil {
			return nil, fmt.Errorf("%s: table %s: %s", path, tbl.path, oneLine(err.Error()))
		}
	}
	return f.Tables, nil
}

// countBackground runs the host path's forward on every full batch of bs windows and counts, per table,
// the batches that read each slot.
func (t *Trainer) countBackground(ctx context.Context, windows [][]int32, bs int) (map[string]*memlayer.BackgroundReads, error) {
	p := t.host
	counts := map[string]*memlayer.BackgroundReads{}
	for _, tbl := range p.tables {
		counts[tbl.path] = memlayer.NewBackgroundReads(tbl.values.Rows)
	}
	seq := t.cfg.SeqLen
	for start := 0; start+bs <= len(windows); start += bs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		tokens := make([]int32, 0, bs*seq)
		for _, w := range windows[start : start+bs] {
			tokens = append(tokens, w[:seq]...)
		}
		last, _, err := p.forward(tensors.FromFlatDataAndDimensions(tokens, bs, seq))
		if err != nil {
			return nil, fmt.Errorf("train: counting background slot reads: %s", err)
		}
		finalizeAll(last)
		for _, tbl := range p.tables {
			if err := counts[tbl.path].AddBatch(p.tableReads(tbl)...); err != nil {
				return nil, err
			}
		}
	}
	return counts, nil
}
