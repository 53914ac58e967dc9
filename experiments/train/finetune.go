package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/memlayer"
)

// Finetuning teaches a trained model new data. It is an ordinary run of the Trainer with three settings:
//
//   - Options.InitFrom names the checkpoint directory of the trained model: its newest checkpoint's
//     model weights initialise the run, and nothing else of it is taken (not its optimizer state, step,
//     data position or random state), so the run starts with a fresh optimizer on its own data. The
//     directory is only read.
//   - Config.Finetune chooses what moves: FinetuneFull every parameter; FinetuneLoRA only the low-rank
//     adapters of a model built with lm.Config.LoRA; FinetuneMemory only the value rows each batch reads;
//     FinetuneSparse only the Config.TopSlots rows per table and batch that rank highest by TF-IDF against
//     background batches of the pretraining data (memlayer.TopTFIDF; Options.BackgroundWindows).
//   - Config.Optimizer: AdamW (memlayer.Adam) or SGD.
//
// Frozen parameters get no update, and no gradient where it can be skipped: when only value rows train,
// the host path runs no VJP of the piece before the first memory layer and computes only the value
// gradient of that layer's bag. The memory and sparse modes need weight decay 0, since AdamW's decoupled
// decay would shrink every slot, the frozen ones included.

// Finetuning modes accepted by Config.Finetune.
const (
	FinetuneFull   = "full"
	FinetuneLoRA   = "lora"
	FinetuneMemory = "memory"
	FinetuneSparse = "sparse"
)

// FinetuneModes lists the modes in the order of how much of the model they train.
var FinetuneModes = []string{FinetuneFull, FinetuneLoRA, FinetuneMemory, FinetuneSparse}

// Optimizers accepted by Config.Optimizer.
const (
	OptimizerAdamW = "adamw"
	OptimizerSGD   = "sgd"
)

// validateFinetune reports the optimizer and finetuning fields' errors through bad.
func (c Config) validateFinetune(bad func(field string, value any, rule string)) {
	switch c.Optimizer {
	case "", OptimizerAdamW:
	case OptimizerSGD:
		if c.WeightDecay > 0 {
			bad("weight_decay", c.WeightDecay, `optimizer="sgd" has no weight decay; set it to 0`)
		}
	default:
		bad("optimizer", fmt.Sprintf("%q", c.Optimizer), `must be "adamw" or "sgd"`)
	}
	switch c.Finetune {
	case "", FinetuneFull, FinetuneLoRA:
	case FinetuneMemory, FinetuneSparse:
		if c.path() != PathHost {
			bad("finetune", fmt.Sprintf("%q", c.Finetune), `trains value rows on the host path: set memory_path="host" (a model with memory layers)`)
		}
		if c.WeightDecay > 0 {
			bad("weight_decay", c.WeightDecay, fmt.Sprintf(`finetune=%q needs 0: weight decay would shrink every slot, the frozen ones included`, c.Finetune))
		}
	default:
		bad("finetune", fmt.Sprintf("%q", c.Finetune), `must be "full", "lora", "memory" or "sparse"`)
	}
	switch {
	case c.Finetune == FinetuneSparse && c.TopSlots < 1:
		bad("top_slots", c.TopSlots, `finetune="sparse" needs the number of slots a step may update, >= 1`)
	case c.Finetune != FinetuneSparse && c.TopSlots != 0:
		bad("top_slots", c.TopSlots, `only used with finetune="sparse"; leave it 0`)
	}
}

// optimizer is Optimizer, OptimizerAdamW when empty.
func (c Config) optimizer() string {
	if c.Optimizer == "" {
		return OptimizerAdamW
	}
	return c.Optimizer
}

// trains reports whether graph variable v trains in this run (frozen variables get no update).
func (c Config) trains(v *model.Variable) bool {
	switch c.Finetune {
	case FinetuneLoRA:
		return lm.IsLoRAVariable(v.Path())
	case FinetuneMemory, FinetuneSparse:
		return memlayer.IsValueVariable(v)
	}
	return true
}

// trainsTables reports whether the host path's value tables train.
func (c Config) trainsTables() bool { return c.Finetune != FinetuneLoRA }

// CheckpointInfo describes the newest checkpoint of a directory: what a finetuning run starts from.
type CheckpointInfo struct {
	Dir  string `json:"dir"`
	File string `json:"file"` // base name, without .json/.bin
	Step int    `json:"step"`
	// Config, Model, Tokenizer and DataHash are those of the run that saved it.
	Config    Config          `json:"config"`
	Model     json.RawMessage `json:"model,omitempty"`
	Tokenizer string          `json:"tokenizer"`
	DataHash  string          `json:"data_hash"`
}

// ReadCheckpoint reads the training state of the newest checkpoint in dir, without loading its weights.
// Errors are one line naming the directory or file and the fix.
func ReadCheckpoint(dir string) (*CheckpointInfo, error) {
	info, _, err := loadCheckpoint(dir, false)
	return info, err
}

// loadCheckpoint reads the newest checkpoint in dir into a new store (its variables too when immediate).
func loadCheckpoint(dir string, immediate bool) (*CheckpointInfo, *model.Store, error) {
	names, err := listCheckpoints(dir)
	if err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("train: %s holds no checkpoint; train the model there first (memlab train --checkpoint-dir %s)", dir, dir)
	}
	store := model.NewStore()
	err = catch(func() error {
		c := checkpoint.Load(store).Dir(dir)
		if immediate {
			c = c.Immediate()
		}
		_, err := c.Done()
		return err
	})
	if err != nil {
		return nil, nil, corruptCheckpointError(dir, names, err)
	}
	latest := names[len(names)-1]
	raw, found := store.GetParam(StateParam)
	text, isString := raw.(string)
	if !found || !isString {
		return nil, nil, fmt.Errorf("train: checkpoint %s holds no memlayers training state (was it written by another program?)", checkpointFiles(dir, latest))
	}
	st, err := decodeTrainState([]byte(text))
	if err != nil {
		return nil, nil, corruptCheckpointError(dir, names, err)
	}
	info := &CheckpointInfo{Dir: dir, File: latest, Step: st.Step, Config: st.Config, Model: st.Model,
		Tokenizer: st.Tokenizer, DataHash: st.DataHash}
	return info, store, nil
}

// initFrom copies the model weights of dir's newest checkpoint into the trainer's store (value tables
// brought up to date with any weight decay a host-path run left pending) and returns what it loaded.
func (t *Trainer) initFrom(dir string, out io.Writer) (*CheckpointInfo, error) {
	info, src, err := loadCheckpoint(dir, true)
	if err != nil {
		return nil, err
	}
	var paths []string
	for v := range src.IterVariables() {
		paths = append(paths, v.Path())
	}
	sort.Strings(paths)
	if err := catch(func() error { return applyPendingDecay(src, paths) }); err != nil {
		return nil, fmt.Errorf("train: init from %s: %s", checkpointFiles(dir, info.File), oneLine(err.Error()))
	}
	copied := 0
	for _, path := range paths {
		v := src.GetVariable(path)
		if v == nil || strings.HasPrefix(path, OptimizerScope+"/") || path == "/global_step" || strings.Contains(path, "#") {
			continue // optimizer state, the step counter and the random state stay behind
		}
		if _, err := t.store.CreateVariable(path, v.MustValue()); err != nil {
			return nil, fmt.Errorf("train: init from %s: variable %s: %s", checkpointFiles(dir, info.File), path, oneLine(err.Error()))
		}
		copied++
	}
	fmt.Fprintf(out, "initialised %d variables from %s (step %d)\n", copied, checkpointFiles(dir, info.File), info.Step)
	return info, nil
}

// prepareFinetune loads Options.InitFrom's weights (unless the run resumed from its own checkpoint),
// prepares the host path, and for FinetuneSparse gives it the background reads.
func (t *Trainer) prepareFinetune(ctx context.Context, opts Options, out io.Writer) error {
	var info *CheckpointInfo
	var err error
	switch {
	case opts.InitFrom != "" && t.step == 0:
		info, err = t.initFrom(opts.InitFrom, out)
	case opts.InitFrom != "":
		info, err = ReadCheckpoint(opts.InitFrom)
	case t.cfg.Finetune != "" && t.cfg.Finetune != FinetuneFull:
		err = fmt.Errorf("train: finetune=%q starts from a trained model: give Options.InitFrom (its checkpoint directory)", t.cfg.Finetune)
	}
	if err != nil {
		return err
	}
	if err := t.prepareHost(); err != nil {
		return err
	}
	if t.cfg.Finetune != FinetuneSparse {
		return nil
	}
	bb := opts.BackgroundBatch
	if bb == 0 {
		bb = t.cfg.BatchSize
	}
	if bb < 0 {
		return fmt.Errorf("train: background batch=%d: must be >= 1 (0 means the batch size)", bb)
	}
	counts, err := t.backgroundReads(ctx, info, opts.BackgroundWindows, bb, out)
	if err != nil {
		return err
	}
	t.host.background = counts
	return nil
}
