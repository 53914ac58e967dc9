package lab

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"reflect"
	"strings"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// FinetuneSpec is one finetuning of a pretrained model on new facts (set B), measuring as it goes what
// the model learns (recall on B) and what it forgets (recall on the facts it was pretrained on, set A, and
// the NLL of held-out general text): what `memlab finetune` and the continual experiment run.
type FinetuneSpec struct {
	// Pretrained is how the model was pretrained: it rebuilds the model config, the tokenizer, the
	// pretraining data (its questions are set A; the sparse mode counts its background reads on it) and
	// the held-out text. The checkpoint must hold exactly that model, trained on exactly that data.
	Pretrained Spec `json:"pretrained"`
	// CheckpointDir holds the pretrained model's checkpoints. It is only read, except that the sparse mode
	// caches its background reads there, next to the checkpoint.
	CheckpointDir string `json:"-"`
	// NewFacts is set B: "generated" (the continual experiment's set B, for a model pretrained on
	// ContinualDataset) or "tsv:PATH" (a facts file, data.LoadFactsTSV).
	NewFacts string `json:"new_facts"`
	// Mode is a train.FinetuneModes entry; Optimizer "adamw" or "sgd" ("" takes ContinualOptimizer(Mode)).
	Mode      string `json:"mode"`
	Optimizer string `json:"optimizer"`
	// LR is the constant learning rate of every trained parameter.
	LR float64 `json:"lr"`
	// Steps is the length of the finetuning (batches of B); EvalEvery its evaluation interval (it also
	// evaluates before the first step and after the last).
	Steps     int `json:"steps"`
	EvalEvery int `json:"eval_every"`
	// TopSlots is t of the sparse mode; BackgroundBatch the pretraining windows per background batch of
	// its TF-IDF (0: the batch size; train.Options.BackgroundBatch). LoRARank is the adapters' rank in the
	// LoRA mode.
	TopSlots        int `json:"top_slots,omitempty"`
	BackgroundBatch int `json:"background_batch,omitempty"`
	LoRARank        int `json:"lora_rank,omitempty"`
	// OldQA bounds the questions of A that each evaluation decodes (0: all).
	OldQA int `json:"old_qa"`
	// AllowOverlap finetunes even when B shares subjects with A (FinetunePlan.Overlap counts them);
	// otherwise that is an error.
	AllowOverlap bool `json:"-"`
}

// Label names the run: "memory/sparse lr=10".
func (s FinetuneSpec) Label() string {
	kind := s.Pretrained.Model
	if kind == "" {
		kind = lm.KindDense
	}
	return fmt.Sprintf("%s/%s lr=%g", kind, s.Mode, s.LR)
}

// FinetunePlan is a FinetuneSpec resolved and checked against its checkpoint, before any graph is built.
type FinetunePlan struct {
	Spec       FinetuneSpec
	Pretrained *Plan
	Checkpoint *train.CheckpointInfo
	NewFacts   *data.Dataset
	// Model is the pretrained model's config, with adapters in the LoRA mode.
	Model lm.Config
	Train train.Config
	// OldQA are the questions of A that each evaluation decodes.
	OldQA []data.QA
	// Overlap is the number of B's subjects that A has too (0 unless Spec.AllowOverlap).
	Overlap int
}

// PlanFinetune resolves and checks s: every error is one line naming the setting and the fix, and comes
// before anything is trained or written.
func PlanFinetune(s FinetuneSpec) (*FinetunePlan, error) {
	if s.Optimizer == "" {
		s.Optimizer = ContinualOptimizer(s.Mode)
	}
	if err := s.validate(); err != nil {
		return nil, err
	}
	pre, err := Build(s.Pretrained)
	if err != nil {
		return nil, err
	}
	fp := &FinetunePlan{Spec: s, Pretrained: pre, Model: pre.Model}
	if fp.Checkpoint, err = train.ReadCheckpoint(s.CheckpointDir); err != nil {
		return nil, err
	}
	if err := fp.checkCheckpoint(); err != nil {
		return nil, err
	}
	if err := fp.checkMode(); err != nil {
		return nil, err
	}
	if fp.NewFacts, err = s.newFacts(); err != nil {
		return nil, err
	}
	if err := fp.checkOverlap(); err != nil {
		return nil, err
	}
	if s.Mode == train.FinetuneLoRA {
		fp.Model.LoRA = lm.LoRAConfig{Rank: s.LoRARank}
		if err := fp.Model.Validate(); err != nil {
			return nil, err
		}
	}
	fp.OldQA = pre.Dataset.TrainQA
	if s.OldQA > 0 && len(fp.OldQA) > s.OldQA {
		fp.OldQA = fp.OldQA[:s.OldQA]
	}
	tc := pre.Train
	tc.Steps, tc.EvalEvery, tc.CheckpointEvery = s.Steps, s.EvalEvery, 0
	tc.LR, tc.ValueLR, tc.WarmupSteps, tc.MinLRFraction, tc.WeightDecay = s.LR, s.LR, 0, 1, 0
	tc.Optimizer, tc.Finetune, tc.TopSlots = s.Optimizer, s.Mode, 0
	if s.Mode == train.FinetuneSparse {
		tc.TopSlots = s.TopSlots
	}
	if err := tc.Validate(); err != nil {
		return nil, err
	}
	fp.Train = tc
	return fp, nil
}

// validate checks the settings that need no data.
func (s FinetuneSpec) validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, "lab: finetune "+fmt.Sprintf(format, args...)) }
	known := false
	for _, m := range train.FinetuneModes {
		known = known || m == s.Mode
	}
	if !known {
		bad("mode=%q: must be one of %s", s.Mode, strings.Join(train.FinetuneModes, ", "))
	}
	if s.Optimizer != train.OptimizerAdamW && s.Optimizer != train.OptimizerSGD {
		bad("optimizer=%q: must be adamw or sgd", s.Optimizer)
	}
	if !(s.LR > 0) || math.IsInf(s.LR, 0) {
		bad("lr=%v: must be a finite number > 0", s.LR)
	}
	if s.Steps < 1 {
		bad("steps=%d: must be >= 1", s.Steps)
	}
	if s.EvalEvery < 0 {
		bad("eval_every=%d: must be >= 0 (0 evaluates at the start and the end only)", s.EvalEvery)
	}
	if s.OldQA < 0 {
		bad("old_qa=%d: must be >= 0 (0 decodes every question of A)", s.OldQA)
	}
	switch {
	case s.Mode == train.FinetuneSparse && s.TopSlots < 1:
		bad("top_slots=%d: the sparse mode updates the top t slots per batch; t must be >= 1", s.TopSlots)
	case s.Mode != train.FinetuneSparse && s.TopSlots != 0:
		bad("top_slots=%d: only the sparse mode uses it", s.TopSlots)
	case s.Mode != train.FinetuneSparse && s.BackgroundBatch != 0:
		bad("background_batch=%d: only the sparse mode uses it", s.BackgroundBatch)
	case s.BackgroundBatch < 0:
		bad("background_batch=%d: must be >= 1 (0 means the batch size)", s.BackgroundBatch)
	case s.Mode == train.FinetuneLoRA && s.LoRARank < 1:
		bad("lora_rank=%d: the lora mode needs a rank >= 1", s.LoRARank)
	case s.Mode != train.FinetuneLoRA && s.LoRARank != 0:
		bad("lora_rank=%d: only the lora mode uses it", s.LoRARank)
	}
	if s.CheckpointDir == "" {
		bad("checkpoint dir is empty: name the pretrained model's checkpoint directory")
	}
	switch {
	case s.NewFacts == "generated" && s.Pretrained.Dataset != ContinualDataset:
		bad("new facts \"generated\" is the continual experiment's set B, for a model pretrained on --dataset %s; give a facts file as tsv:PATH", ContinualDataset)
	case s.NewFacts != "generated" && !strings.HasPrefix(s.NewFacts, "tsv:"):
		bad("new facts %q: must be generated or tsv:PATH", s.NewFacts)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// describe names a model's kind and size in a few words.
func describe(c lm.Config) string {
	s := fmt.Sprintf("%s model (dim %d, %d layers", c.Model, c.Dim, c.Layers)
	if c.Model.IsMemory() {
		s += fmt.Sprintf(", %d memory slots", c.Memory.Rows())
	}
	return s + ")"
}

// checkCheckpoint requires the checkpoint to hold the pretrained spec's model, trained on its data.
func (fp *FinetunePlan) checkCheckpoint() error {
	info := fp.Checkpoint
	var have lm.Config
	if err := json.Unmarshal(info.Model, &have); err != nil || len(info.Model) == 0 {
		return fmt.Errorf("lab: checkpoint %s/%s records no language-model config; was it written by memlab train?", info.Dir, info.File)
	}
	want := fp.Pretrained.Model
	vocab := have.Vocab
	have.Vocab = want.Vocab // the vocabulary comes from the data, checked below
	if !reflect.DeepEqual(have, want) {
		what := describe(have) + "; the flags describe a " + describe(want)
		if describe(have) == describe(want) {
			what = describe(have) + " configured otherwise than the flags describe (memory layer, placement or norms)"
		}
		return fmt.Errorf("lab: checkpoint dir %s holds a %s; pass the --preset, --model and sizes it was trained with", info.Dir, what)
	}
	windows := data.PackDocuments(fp.Pretrained.Tokenizer, fp.Pretrained.Dataset.Documents, fp.Pretrained.Train.SeqLen)
	if train.DataHash(windows) != info.DataHash || vocab != want.Vocab {
		return fmt.Errorf("lab: checkpoint dir %s holds a model trained on other data than --dataset %s --seed %d give; pass the dataset and seed it was trained with",
			info.Dir, fp.Pretrained.recordedDataset(), fp.Pretrained.Spec.Seed)
	}
	return nil
}

// checkMode refuses modes the model cannot do and a t larger than its table.
func (fp *FinetunePlan) checkMode() error {
	mode, m := fp.Spec.Mode, fp.Pretrained.Model
	if (mode == train.FinetuneMemory || mode == train.FinetuneSparse) && !m.Model.IsMemory() {
		return fmt.Errorf("lab: finetune mode %s trains memory slots, and the %s has none; use --mode full or lora", mode, describe(m))
	}
	if mode == train.FinetuneSparse && fp.Spec.TopSlots > m.Memory.Rows() {
		return fmt.Errorf("lab: finetune top_slots=%d: larger than the table's %d slots (n_keys²); choose t <= %d",
			fp.Spec.TopSlots, m.Memory.Rows(), m.Memory.Rows())
	}
	return nil
}

// newFacts loads set B (validate checked its name).
func (s FinetuneSpec) newFacts() (*data.Dataset, error) {
	if s.NewFacts == "generated" {
		return ContinualNewFacts(s.Pretrained.Preset, s.Pretrained.Seed)
	}
	facts, err := data.LoadFactsTSV(strings.TrimPrefix(s.NewFacts, "tsv:"))
	if err != nil {
		return nil, fmt.Errorf("lab: finetune new facts: %s", oneLine(err.Error()))
	}
	return data.FactsDataset(s.NewFacts, facts, 1, s.Pretrained.Seed)
}

// checkOverlap counts B's subjects that A has too: an error unless AllowOverlap.
func (fp *FinetunePlan) checkOverlap() error {
	old := map[string]bool{}
	for _, f := range fp.Pretrained.Dataset.Facts {
		old[f.Subject] = true
	}
	seen := map[string]bool{}
	var shared []string
	for _, f := range fp.NewFacts.Facts {
		if old[f.Subject] && !seen[f.Subject] {
			shared = append(shared, f.Subject)
		}
		seen[f.Subject] = true
	}
	fp.Overlap = len(shared)
	if len(shared) > 0 && !fp.Spec.AllowOverlap {
		return fmt.Errorf("lab: %d of the new facts' %d subjects (e.g. %q) are subjects of the facts the model was pretrained on, so recall on them mixes learning with forgetting; remove them, or pass --allow-overlap",
			len(shared), len(seen), shared[0])
	}
	return nil
}

// recordedNewFacts names set B as results files record it (a facts file relative to the repository).
func (fp *FinetunePlan) recordedNewFacts() string {
	if fp.Spec.NewFacts == "generated" {
		return fp.NewFacts.Name
	}
	return results.RecordedDataset(".", fp.Spec.NewFacts)
}

// configRecord is what a finetuning's results file records as its config.
func (fp *FinetunePlan) configRecord() map[string]any {
	spec := fp.Spec
	spec.NewFacts = fp.recordedNewFacts()
	pre := fp.Pretrained.configRecord()
	pre["checkpoint"] = fp.Checkpoint.File
	pre["checkpoint_step"] = fp.Checkpoint.Step
	return map[string]any{
		"finetune": spec, "pretrained": pre, "model": fp.Model, "train": fp.Train,
		"tokenizer": fp.Pretrained.Tokenizer.Name(), "new_facts": fp.NewFacts.Stats(),
		"eval": map[string]int{"old_qa": len(fp.OldQA), "new_qa": len(fp.NewFacts.TrainQA), "val_windows": len(fp.Pretrained.ValWindows)},
	}
}

// Finetune runs a planned finetuning and returns its results record (the caller writes it). Every
// evaluation records new_em/f1/nll (set B), old_em/f1/nll (set A), val_nll (held-out text),
// forgetting_pct (the drop of old_em since step 0, in % of it) and val_nll_increase; the final metrics add
// seconds_per_step and, for value-row modes, value_rows_per_step.
func Finetune(ctx context.Context, b compute.Backend, fp *FinetunePlan, opts Options) (run *results.Run, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("lab: finetune %s: %v", fp.Spec.Label(), r)
		}
	}()
	mc := fp.Model
	modelFn := func(scope *model.Scope, tokens *Node) (*Node, *Node) { return lm.Forward(scope, mc, tokens) }
	var split *lm.SplitModel
	if fp.Train.MemoryPath == train.PathHost {
		if split, err = mc.Split(); err != nil {
			return nil, err
		}
	}
	tr, err := train.NewSplit(b, modelFn, split, fp.Train, fp.Pretrained.Tokenizer, fp.NewFacts)
	if err != nil {
		return nil, err
	}
	experiment := opts.Experiment
	if experiment == "" {
		experiment = "finetune"
	}
	run = &results.Run{Experiment: experiment, Name: fp.Spec.Label()}
	run.Start(opts.RepoDir)
	run.Dataset = fp.recordedNewFacts()
	if err := run.SetConfig(fp.configRecord()); err != nil {
		return nil, err
	}
	progress := opts.Progress
	if progress == nil {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "%s: finetuning %s from %s (step %d) on %s, %s, %d steps; A: %d questions, B: %d\n",
		fp.Spec.Label(), describe(fp.Pretrained.Model), fp.Checkpoint.Dir, fp.Checkpoint.Step, fp.NewFacts.Stats(),
		fp.Train.Optimizer, fp.Train.Steps, len(fp.OldQA), len(fp.NewFacts.TrainQA))
	ev := &continualEval{fp: fp, out: progress}
	background := data.PackDocuments(fp.Pretrained.Tokenizer, fp.Pretrained.Dataset.Documents, fp.Train.SeqLen)
	_, err = tr.Run(ctx, train.Options{
		Progress: opts.Progress, InitFrom: fp.Spec.CheckpointDir, BackgroundWindows: background, BackgroundBatch: fp.Spec.BackgroundBatch,
		EvalAtStart: true, NoBuiltinEval: true, EvalFn: ev.evaluate, ModelConfig: mc, Results: run,
	})
	if err != nil {
		return run, err
	}
	run.Final["old_em_start"], run.Final["new_em_start"], run.Final["val_nll_start"] = ev.start["old_em"], ev.start["new_em"], ev.start["val_nll"]
	if steps := run.Final["steps"]; steps > 0 {
		run.Final["seconds_per_step"] = run.Final["train_seconds"] / steps
	}
	run.Final["overlap_subjects"] = float64(fp.Overlap)
	run.Finish()
	return run, nil
}

// continualEval measures learning and forgetting at each evaluation of a finetuning.
type continualEval struct {
	fp    *FinetunePlan
	out   io.Writer
	start map[string]float64 // the first evaluation's metrics (step 0)
}

func (c *continualEval) evaluate(ctx context.Context, step int, ev *train.Evaluator) (map[string]float64, error) {
	m := map[string]float64{}
	sets := []struct {
		prefix string
		qas    []data.QA
	}{{"new", c.fp.NewFacts.TrainQA}, {"old", c.fp.OldQA}}
	for _, set := range sets {
		s, err := ev.EvaluateQA(ctx, set.qas)
		if err != nil {
			return nil, err
		}
		m[set.prefix+"_em"], m[set.prefix+"_f1"] = s.EM, s.F1
		if s.NLLCount > 0 {
			m[set.prefix+"_nll"] = s.AnswerNLL
		}
	}
	if len(c.fp.Pretrained.ValWindows) > 0 {
		nll, err := ev.EvaluateText(ctx, c.fp.Pretrained.ValWindows)
		if err != nil {
			return nil, err
		}
		m["val_nll"] = nll
	}
	if c.start == nil {
		c.start = m
	}
	if old := c.start["old_em"]; old > 0 {
		m["forgetting_pct"] = 100 * (old - m["old_em"]) / old
	}
	text := "n/a"
	if nll, ok := m["val_nll"]; ok {
		m["val_nll_increase"] = nll - c.start["val_nll"]
		text = fmt.Sprintf("%.3f (%+.3f)", nll, m["val_nll_increase"])
	}
	fmt.Fprintf(c.out, "finetune step %d/%d: learned %.1f%% of the new facts | recall of the old %.1f%% (forgot %.1f%% of it) | text NLL %s\n",
		step, c.fp.Train.Steps, 100*m["new_em"], 100*m["old_em"], m["forgetting_pct"], text)
	return m, nil
}

// oneLine collapses whitespace so that an error stays on one line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
