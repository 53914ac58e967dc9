package train

import (
	"bytes"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/results"
)

// StateParam is the model.Store parameter (saved inside every GoMLX checkpoint's JSON file) that holds the
// trainer's own state as a JSON string: step, batcher position, configs and evaluations so far. Keeping
// it inside the checkpoint (rather than in a sidecar file) means the variables and the loop state can
// never come from two different saves.
const StateParam = "/memlayers_train_state"

// stateVersion is bumped when trainState changes incompatibly.
const stateVersion = 1

// trainState is everything besides the variables that a resumed run needs to continue exactly.
type trainState struct {
	Version      int                 `json:"version"`
	Step         int                 `json:"step"`
	Batcher      data.BatcherState   `json:"batcher"`
	Tokens       int64               `json:"tokens"`
	TrainSeconds float64             `json:"train_seconds"`
	WallSeconds  float64             `json:"wall_seconds,omitempty"` // the run's wall time up to this save, all sessions
	ValueRows    int64               `json:"value_rows,omitempty"`   // value rows updated so far (host path)
	LastEvalStep int                 `json:"last_eval_step"`
	LossSum      float64             `json:"loss_sum"` // training losses since the last evaluation
	LossCount    int                 `json:"loss_count"`
	Evals        []results.EvalPoint `json:"evals,omitempty"`

	Config    Config          `json:"config"`
	Model     json.RawMessage `json:"model,omitempty"`
	Tokenizer string          `json:"tokenizer"`
	DataHash  string          `json:"data_hash"`
}

// listCheckpoints returns the base names (without .json/.bin) of the GoMLX checkpoints in dir, oldest
// first; none when dir does not exist.
func listCheckpoints(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint dir %s: %s", dir, oneLine(err.Error()))
	}
	var names []string
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || !strings.HasPrefix(name, "checkpoint-") || !strings.HasSuffix(name, checkpoint.JsonNameSuffix) {
			continue
		}
		names = append(names, strings.TrimSuffix(name, checkpoint.JsonNameSuffix))
	}
	sort.Strings(names)
	return names, nil
}

// DataHash fingerprints training windows as checkpoints record them (CheckpointInfo.DataHash): a
// finetuning can tell from it whether the data it was told a model was trained on is that model's.
func DataHash(windows [][]int32) string { return dataHash(windows) }

// dataHash fingerprints the training windows, so that a resumed run can tell that the batcher positions it
// restores point into the same data.
func dataHash(windows [][]int32) string {
	h := fnv.New64a()
	var buf [4]byte
	for _, w := range windows {
		for _, id := range w {
			buf[0], buf[1], buf[2], buf[3] = byte(id), byte(id>>8), byte(id>>16), byte(id>>24)
			_, _ = h.Write(buf[:])
		}
		_, _ = h.Write([]byte{0xff, 0xff, 0xff, 0xff, 0xfe})
	}
	return fmt.Sprintf("%016x-%d", h.Sum64(), len(windows))
}

// difference is the first place where two JSON documents differ: the dotted key path and both values.
type difference struct {
	Path, A, B string
}

// firstDifference compares two JSON documents and returns their first difference in sorted key order, or
// nil when they are equal.
func firstDifference(a, b []byte) *difference {
	var va, vb any
	errA := json.Unmarshal(orNull(a), &va)
	errB := json.Unmarshal(orNull(b), &vb)
	if errA != nil || errB != nil {
		if bytes.Equal(a, b) {
			return nil
		}
		return &difference{Path: "config", A: "unreadable", B: "unreadable"}
	}
	return diffValues("", va, vb)
}

func orNull(b []byte) []byte {
	if len(bytes.TrimSpace(b)) == 0 {
		return []byte("null")
	}
	return b
}

func diffValues(path string, a, b any) *difference {
	ma, okA := a.(map[string]any)
	mb, okB := b.(map[string]any)
	if okA && okB {
		keys := make(map[string]bool)
		for k := range ma {
			keys[k] = true
		}
		for k := range mb {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			sub := k
			if path != "" {
				sub = path + "." + k
			}
			if d := diffValues(sub, ma[k], mb[k]); d != nil {
				return d
			}
		}
		return nil
	}
	if reflect.DeepEqual(a, b) {
		return nil
	}
	if path == "" {
		path = "config"
	}
	return &difference{Path: path, A: jsonText(a), B: jsonText(b)}
}

func jsonText(v any) string {
	if v == nil {
		return "unset"
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	s := string(b)
	if len(s) > 60 {
		s = s[:57] + "..."
	}
	return s
}

// checkResumable verifies that the state loaded from dir belongs to this run (same training config up to
// the resume-invariant fields, same model config, tokenizer and data) and returns a one-line error naming
// the first difference otherwise.
func (t *Trainer) checkResumable(dir string, st *trainState, modelJSON []byte) error {
	if st.Version != stateVersion {
		return fmt.Errorf("train: checkpoint %s has training state version %d, this program writes %d; use a new --checkpoint-dir",
			dir, st.Version, stateVersion)
	}
	mismatch := func(what string, d *difference) error {
		return fmt.Errorf("train: checkpoint %s was made with a different %s (%s %s in the checkpoint vs %s now); "+
			"use a new --checkpoint-dir or the same config", dir, what, d.Path, d.A, d.B)
	}
	ckptCfg, _ := json.Marshal(st.Config.resumeInvariant())
	nowCfg, _ := json.Marshal(t.cfg.resumeInvariant())
	if d := firstDifference(ckptCfg, nowCfg); d != nil && d.Path == "value_updates" {
		path := PathGraph
		if st.Config.path() == PathHost {
			path = PathHost
		}
		return fmt.Errorf("train: checkpoint %s was trained with %s value updates (value_updates %s); resume it with --memory-path %s, "+
			"or on the graph path with value_updates=%s", dir, st.Config.valueUpdates(), d.A, path, st.Config.valueUpdates())
	} else if d != nil {
		return mismatch("training config", d)
	}
	if d := firstDifference(st.Model, modelJSON); d != nil {
		return mismatch("model config", d)
	}
	if st.Tokenizer != t.tok.Name() {
		return mismatch("tokenizer", &difference{Path: "tokenizer", A: st.Tokenizer, B: t.tok.Name()})
	}
	if st.DataHash != t.dataHash {
		return fmt.Errorf("train: checkpoint %s was made with different training data (fingerprint %s vs %s now); use a new --checkpoint-dir or the same data",
			dir, st.DataHash, t.dataHash)
	}
	if st.Step < 0 || st.Step > t.cfg.Steps {
		return fmt.Errorf("train: checkpoint %s is at step %d, beyond steps=%d; raise --steps to at least %d or use a new --checkpoint-dir",
			dir, st.Step, t.cfg.Steps, st.Step)
	}
	return nil
}

// oneLine collapses whitespace (including newlines of wrapped errors) so that every error is one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// checkpointFiles returns "DIR/BASE.{json,bin}" for messages.
func checkpointFiles(dir, base string) string {
	return filepath.Join(dir, base) + ".{json,bin}"
}
