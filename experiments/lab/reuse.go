package lab

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/memlayers/memlayers/experiments/results"
)

// Several sweeps contain the same computation under different names: the
// dense baseline is in the scaling, compare and capacity sweeps, and at the
// small preset the ablations' "1 layer" is the compare sweep's "memory".
// Training is deterministic for a seed and backend, so a finished run with the
// same identity is copied (its CopiedFrom naming the original) instead of
// being retrained.

// identityKeys are the parts of a run's recorded config that decide its numbers:
// the resolved model and training configs (the seed is in "train"), the
// dataset's size and name, the tokenizer and the evaluation settings. The
// spec's name and the sweep it came from are not part of it.
var identityKeys = []string{"preset", "model", "train", "tokenizer", "dataset", "dataset_name", "eval"}

// identityLabels name the identity keys in messages.
var identityLabels = map[string]string{"preset": "preset", "model": "model config", "train": "training config",
	"tokenizer": "tokenizer", "dataset": "dataset size", "dataset_name": "dataset", "eval": "evaluation settings"}

// configRecord is the config a run records in its results file (its dataset
// named as recordedDataset names it).
func (p *Plan) configRecord() map[string]any {
	spec := p.Spec
	if spec.Dataset != "" {
		spec.Dataset = p.recordedDataset()
	}
	return map[string]any{
		"spec": spec, "preset": p.Preset.Name, "model": p.Model, "train": p.Train,
		"tokenizer": p.Tokenizer.Name(), "dataset": p.Dataset.Stats(), "dataset_name": p.recordedDataset(),
		"eval": map[string]int{"qa_limit": p.Preset.EvalQALimit, "val_windows": len(p.ValWindows)},
	}
}

// retiredFields are config fields that no longer exist and never changed a
// run when they held this value: files that recorded them keep their
// identity. The memory layer's own value learning rate (always 0 in
// recorded runs) moved to the training config, the one place for it.
var retiredFields = []struct {
	key, field string
	value      any
}{{"model", "memory.value_lr", 0.0}}

// identityFields returns the compacted JSON of each identity key present in
// a recorded config; identity and staleKeys both compare these.
func identityFields(config json.RawMessage) (map[string]string, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(config, &fields); err != nil {
		return nil, fmt.Errorf("lab: recorded config: %w", err)
	}
	for _, r := range retiredFields {
		if raw, ok := fields[r.key]; ok {
			fields[r.key] = dropRetired(raw, strings.Split(r.field, "."), r.value)
		}
	}
	out := make(map[string]string, len(identityKeys))
	for _, k := range identityKeys {
		v, found := fields[k]
		if !found {
			continue
		}
		canon, err := canonicalJSON(v)
		if err != nil {
			return nil, fmt.Errorf("lab: recorded config %q: %w", k, err)
		}
		out[k] = canon
	}
	return out, nil
}

// dropRetired removes the field at path from a JSON object when it holds
// value (the JSON is returned unchanged otherwise).
func dropRetired(raw json.RawMessage, path []string, value any) json.RawMessage {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil {
		return raw
	}
	sub, ok := obj[path[0]]
	if !ok {
		return raw
	}
	if len(path) > 1 {
		obj[path[0]] = dropRetired(sub, path[1:], value)
	} else {
		var v any
		if err := json.Unmarshal(sub, &v); err != nil || v != value {
			return raw
		}
		delete(obj, path[0])
	}
	out, err := json.Marshal(obj)
	if err != nil {
		return raw
	}
	return out
}

// canonicalJSON re-encodes a JSON value with object keys sorted, so that
// two encodings of one config compare equal whatever their key order.
func canonicalJSON(raw json.RawMessage) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return "", err
	}
	out, err := json.Marshal(v)
	return string(out), err
}

// identity is the canonical JSON of a config's identity keys; ok is false
// when one of them is missing (files written before the identity existed are
// never reused).
func identity(config json.RawMessage) (id string, ok bool) {
	fields, err := identityFields(config)
	if err != nil {
		return "", false
	}
	var buf bytes.Buffer
	for _, k := range identityKeys {
		v, found := fields[k]
		if !found {
			return "", false
		}
		fmt.Fprintf(&buf, "%s=%s;", k, v)
	}
	return buf.String(), true
}

// staleKeys lists the identity keys whose recorded value differs from what
// plan would record (keys missing from an older file are not compared), by
// their labels, e.g. ["training config"] for a file trained before a change
// of the preset.
func staleKeys(config json.RawMessage, plan *Plan) ([]string, error) {
	raw, err := json.Marshal(plan.configRecord())
	if err != nil {
		return nil, err
	}
	have, err := identityFields(config)
	if err != nil {
		return nil, err
	}
	want, err := identityFields(raw)
	if err != nil {
		return nil, err
	}
	var stale []string
	for _, k := range identityKeys {
		if h, ok := have[k]; ok && h != want[k] {
			stale = append(stale, identityLabels[k])
		}
	}
	return stale, nil
}

// planIdentity is the identity a run of plan will record.
func (p *Plan) planIdentity() (string, error) {
	raw, err := json.Marshal(p.configRecord())
	if err != nil {
		return "", err
	}
	id, ok := identity(raw)
	if !ok {
		return "", fmt.Errorf("lab: %s: incomplete run identity", p.Spec.Label())
	}
	return id, nil
}

// findIdentical looks through the results of every sweep at the plan's
// preset under resultsDir for a finished run with the plan's identity. It
// returns nil when there is none. Unreadable files are skipped: they belong
// to other sweeps, whose own commands report them.
func findIdentical(resultsDir string, plan *Plan, exclude string) (*results.Run, string, error) {
	want, err := plan.planIdentity()
	if err != nil {
		return nil, "", err
	}
	paths, err := filepath.Glob(filepath.Join(resultsDir, "*", plan.Preset.Name, "*.json"))
	if err != nil {
		return nil, "", err
	}
	sort.Strings(paths)
	for _, path := range paths {
		if path == exclude {
			continue
		}
		r, err := results.Read(path)
		if err != nil || r.CopiedFrom != "" { // copy from originals only
			continue
		}
		if id, ok := identity(r.Config); ok && id == want {
			return r, path, nil
		}
	}
	return nil, "", nil
}

// reuse copies an identical finished run under this sweep's name: the
// numbers, provenance and timings are the original's, CopiedFrom names it.
func reuse(orig *results.Run, origPath string, s Sweep, plan *Plan) (*results.Run, error) {
	cp := *orig
	cp.Experiment = s.Name
	cp.Name = plan.Spec.Label()
	cp.CopiedFrom = filepath.ToSlash(origPath)
	cfg := plan.configRecord()
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(orig.Config, &fields); err == nil && fields["accounting"] != nil {
		cfg["accounting"] = fields["accounting"] // part of what was measured
	}
	if err := cp.SetConfig(cfg); err != nil {
		return nil, err
	}
	return &cp, nil
}
