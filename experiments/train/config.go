package train

import (
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/memlayers/memlayers/memlayer"
)

// Schedule names accepted by Config.Schedule.
const (
	ScheduleLinear = "linear"
	ScheduleCosine = "cosine"
)

// Memory paths accepted by Config.MemoryPath.
const (
	// PathGraph runs the whole model, memory layers included, as one compiled
	// graph (memlayer.Layer): what XLA/GPU backends should run.
	PathGraph = "graph"
	// PathHost keeps the value tables in host memory: the model is cut at its
	// memory layers into graph pieces (lm.SplitModel) and each step searches,
	// reads and updates only the rows its tokens looked up (memlayer.HostBag,
	// memlayer.HostAdam), so its cost does not grow with the tables.
	PathHost = "host"
)

// Value-table update rules accepted by Config.ValueUpdates (see memlayer.Adam).
const (
	// UpdatesDense moves every row of a value table on every step, as dense
	// AdamW does (rows keep moving with their momentum).
	UpdatesDense = "dense"
	// UpdatesSparse moves a row's moments and takes its Adam step only on
	// steps whose gradient reaches it; weight decay still applies every step.
	UpdatesSparse = "sparse"
)

// Config holds the optimisation and loop settings of one training run. The zero value is not valid: start
// from DefaultConfig and change what you need, then call Validate (New does).
type Config struct {
	// Steps is the total number of optimizer steps of the run (not of one session: a resumed run continues
	// up to the same Steps).
	Steps int `json:"steps"`
	// BatchSize and SeqLen give the [B, T] shape of every training batch.
	BatchSize int `json:"batch_size"`
	SeqLen    int `json:"seq_len"`

	// LR is the peak learning rate of every trainable variable except the memory value tables.
	LR float64 `json:"lr"`
	// MinLRFraction is the schedule's factor at the last step: the rate decays from LR to LR·MinLRFraction.
	MinLRFraction float64 `json:"min_lr_fraction"`
	// WarmupSteps is the length of the linear warmup (the factor is step/WarmupSteps for the first steps).
	WarmupSteps int `json:"warmup_steps"`
	// Schedule is the decay after warmup: "linear" (the reference code's) or "cosine". Empty means linear.
	Schedule string `json:"schedule,omitempty"`

	// AdamW hyperparameters. WeightDecay is decoupled (PyTorch AdamW) and applies to rank >= 2 variables only,
	// memory value tables included (as in the reference code).
	WeightDecay float64 `json:"weight_decay"`
	Beta1       float64 `json:"beta1"`
	Beta2       float64 `json:"beta2"`
	Eps         float64 `json:"eps"`

	// ValueLR is the learning rate of the memory value tables (memlayer.IsValueVariable), the one place
	// where it is set: the trainer gives it to the value tables on both paths. Like the reference code, it is
	// multiplied by the same warmup/decay factor as LR. 0 means: use LR.
	ValueLR float64 `json:"value_lr"`
	// MemoryPath is where the memory layers run: PathGraph (also when empty) or PathHost, which needs a
	// model given with its split (NewSplit). Both compute the same model; a checkpoint resumes on either
	// path when ValueUpdates agree.
	MemoryPath string `json:"memory_path,omitempty"`
	// ValueUpdates is how value tables are updated: UpdatesDense or UpdatesSparse. Empty means the path's
	// own: dense on the graph path, sparse on the host path (which cannot do dense).
	ValueUpdates string `json:"value_updates,omitempty"`
	// GradClip clips the global gradient norm (over all trainable variables) to this value; 0 disables it.
	GradClip float64 `json:"grad_clip"`

	// EvalEvery runs the periodic evaluation every so many steps; 0 evaluates only at the end.
	EvalEvery int `json:"eval_every"`
	// CheckpointEvery saves a checkpoint every so many steps (when a checkpoint directory is given); 0 saves
	// only at the end and on interruption.
	CheckpointEvery int `json:"checkpoint_every"`
	// Seed drives the initialisation, dropout and the order of the batches.
	Seed int64 `json:"seed"`
	// MaxAnswerTokens bounds greedy decoding in QA evaluation.
	MaxAnswerTokens int `json:"max_answer_tokens"`
	// ShuffleDocuments packs the documents again, in a new order, every
	// epoch (data.NewRepackingBatcher) instead of once; see data/repack.go
	// for why a model that sees the text many times needs it.
	ShuffleDocuments bool `json:"shuffle_documents,omitempty"`
}

// DefaultConfig returns settings that suit the tiny CPU models of this project.
func DefaultConfig() Config {
	return Config{
		Steps:           600,
		BatchSize:       16,
		SeqLen:          128,
		LR:              1e-3,
		MinLRFraction:   0.1,
		WarmupSteps:     50,
		Schedule:        ScheduleLinear,
		WeightDecay:     0.1,
		Beta1:           0.9,
		Beta2:           0.95,
		Eps:             1e-8,
		ValueLR:         1e-3,
		GradClip:        1.0,
		EvalEvery:       100,
		CheckpointEvery: 100,
		Seed:            1,
		MaxAnswerTokens: 24,
	}
}

// Validate reports every invalid field, each as "train: field=value: rule", joined by "; " on one line
// (nil if the config is valid).
func (c Config) Validate() error {
	var errs []string
	bad := func(field string, value any, rule string) {
		errs = append(errs, fmt.Sprintf("train: %s=%v: %s", field, value, rule))
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	if c.Steps < 1 {
		bad("steps", c.Steps, "must be >= 1")
	}
	if c.BatchSize < 1 {
		bad("batch_size", c.BatchSize, "must be >= 1")
	}
	if c.SeqLen < 1 {
		bad("seq_len", c.SeqLen, "must be >= 1")
	}
	if c.LR < 0 || !finite(c.LR) {
		bad("lr", c.LR, "must be a finite number >= 0")
	}
	if c.ValueLR < 0 || !finite(c.ValueLR) {
		bad("value_lr", c.ValueLR, "must be a finite number >= 0 (0 means: use lr)")
	}
	if c.LR == 0 && c.ValueLR == 0 {
		bad("lr", c.LR, "must be > 0 when value_lr is 0 too (nothing would train)")
	}
	if c.MinLRFraction < 0 || c.MinLRFraction > 1 || !finite(c.MinLRFraction) {
		bad("min_lr_fraction", c.MinLRFraction, "must be in [0, 1]")
	}
	if c.WarmupSteps < 0 {
		bad("warmup_steps", c.WarmupSteps, "must be >= 0")
	} else if c.Steps >= 1 && c.WarmupSteps > c.Steps {
		bad("warmup_steps", c.WarmupSteps, fmt.Sprintf("must be <= steps (%d)", c.Steps))
	}
	switch c.Schedule {
	case "", ScheduleLinear, ScheduleCosine:
	default:
		bad("schedule", fmt.Sprintf("%q", c.Schedule), `must be "linear" or "cosine"`)
	}
	if c.WeightDecay < 0 || !finite(c.WeightDecay) {
		bad("weight_decay", c.WeightDecay, "must be a finite number >= 0")
	}
	if c.Beta1 < 0 || c.Beta1 >= 1 || math.IsNaN(c.Beta1) {
		bad("beta1", c.Beta1, "must be in [0, 1)")
	}
	if c.Beta2 < 0 || c.Beta2 >= 1 || math.IsNaN(c.Beta2) {
		bad("beta2", c.Beta2, "must be in [0, 1)")
	}
	if c.Eps <= 0 || !finite(c.Eps) {
		bad("eps", c.Eps, "must be a finite number > 0")
	}
	if c.GradClip < 0 || !finite(c.GradClip) {
		bad("grad_clip", c.GradClip, "must be a finite number >= 0 (0 disables clipping)")
	}
	if c.EvalEvery < 0 {
		bad("eval_every", c.EvalEvery, "must be >= 0 (0 evaluates only at the end)")
	}
	if c.CheckpointEvery < 0 {
		bad("checkpoint_every", c.CheckpointEvery, "must be >= 0 (0 saves only at the end and on interruption)")
	}
	if c.MaxAnswerTokens < 1 {
		bad("max_answer_tokens", c.MaxAnswerTokens, "must be >= 1")
	}
	switch c.MemoryPath {
	case "", PathGraph, PathHost:
	default:
		bad("memory_path", fmt.Sprintf("%q", c.MemoryPath), `must be "graph" or "host"`)
	}
	switch c.ValueUpdates {
	case "", UpdatesDense, UpdatesSparse:
		if c.MemoryPath == PathHost && c.ValueUpdates == UpdatesDense {
			bad("value_updates", `"dense"`, `the host path updates value rows sparsely; use memory_path="graph" for dense updates`)
		}
	default:
		bad("value_updates", fmt.Sprintf("%q", c.ValueUpdates), `must be "dense" or "sparse"`)
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

// LRFactor is the schedule's multiplier of LR and ValueLR at step (1-based: the first update is step 1):
// step/WarmupSteps during warmup, then a linear or cosine decay from 1 at the end of warmup to
// MinLRFraction at step Steps. Unlike PyTorch's LambdaLR, the first update does not get factor 0.
func (c Config) LRFactor(step int) float64 {
	if c.WarmupSteps > 0 && step <= c.WarmupSteps {
		return float64(step) / float64(c.WarmupSteps)
	}
	decaySteps := c.Steps - c.WarmupSteps
	p := 1.0
	if decaySteps > 0 {
		p = float64(step-c.WarmupSteps) / float64(decaySteps)
	}
	p = min(max(p, 0), 1)
	if c.Schedule == ScheduleCosine {
		return c.MinLRFraction + (1-c.MinLRFraction)*0.5*(1+math.Cos(math.Pi*p))
	}
	return 1 - p*(1-c.MinLRFraction)
}

// valueLR is the peak learning rate of the value tables.
func (c Config) valueLR() float64 {
	if c.ValueLR == 0 {
		return c.LR
	}
	return c.ValueLR
}

// path is MemoryPath, PathGraph when empty.
func (c Config) path() string {
	if c.MemoryPath == "" {
		return PathGraph
	}
	return c.MemoryPath
}

// valueUpdates is ValueUpdates, or the path's own rule when empty.
func (c Config) valueUpdates() string {
	switch {
	case c.ValueUpdates != "":
		return c.ValueUpdates
	case c.path() == PathHost:
		return UpdatesSparse
	}
	return UpdatesDense
}

// adam is the AdamW rule of the run.
func (c Config) adam() memlayer.Adam {
	return memlayer.Adam{Beta1: c.Beta1, Beta2: c.Beta2, Epsilon: c.Eps, WeightDecay: c.WeightDecay}
}

// resumeInvariant returns the config without the fields that may change when a run is resumed: the
// length of the run, how often it evaluates and checkpoints, how long answers may be, and the memory
// path (both compute the same model; the value-update rule, resolved, must match). Everything else
// must match the checkpoint for the continuation to be the same run.
func (c Config) resumeInvariant() Config {
	c.Steps, c.EvalEvery, c.CheckpointEvery, c.MaxAnswerTokens = 0, 0, 0, 0
	if c.Schedule == "" {
		c.Schedule = ScheduleLinear
	}
	c.ValueUpdates, c.MemoryPath = c.valueUpdates(), ""
	return c
}
