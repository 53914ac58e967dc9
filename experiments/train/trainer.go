package train

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/checkpoint"
	"github.com/gomlx/gomlx/ml/train/optimizer"
	"github.com/gomlx/gomlx/support/exceptions"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/eval"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/memlayer"
)

// ModelFn builds a language model: tokens [B, T] int32 → logits [B, T, V] (any float dtype) and aux, a
// scalar extra loss added to the cross-entropy (e.g. a load-balancing loss), or nil. It is called with the
// store's root scope, once per compiled graph (training, evaluation); it must create its variables with
// explicit initialisers so that the run is a function of Config.Seed, use dropout only when
// scope.IsTraining(g), and be causal (see Evaluator).
type ModelFn func(scope *model.Scope, tokens *Node) (logits, aux *Node)

// Trainer trains one model on one dataset with AdamW. Create it with New, then call Run once.
type Trainer struct {
	backend compute.Backend
	modelFn ModelFn
	split   *lm.SplitModel // the model cut at its memory layers (host path)
	cfg     Config
	tok     data.Tokenizer
	ds      *data.Dataset

	windows  [][]int32
	dataHash string
	batcher  *data.Batcher
	store    *model.Store
	stepExec *model.Exec // the graph path's step
	host     *hostPath   // the host path, prepared by Run
	eval     *Evaluator
	ckptFS   ckptFS // where checkpoints are written (tests inject failures)

	// Loop state, all saved in checkpoints.
	step         int
	tokens       int64
	trainSeconds float64
	valueRows    int64 // value rows the host path updated, summed over the run's steps
	lastEvalStep int
	lossSum      float64 // training losses since the last evaluation
	lossCount    int
	evals        []results.EvalPoint
	wallBefore   float64 // wall time of the run's earlier sessions, up to their last checkpoint

	sessionStart time.Time // when this session's Run or Evaluate began
	ran          bool
}

// New prepares a run on the graph path: it packs ds.Documents into windows of cfg.SeqLen+1 tokens
// (data.PackDocuments; with cfg.ShuffleDocuments packed again in a new order every epoch,
// data.NewRepackingBatcher), deals them with a data.Batcher seeded by cfg.Seed, and creates an empty
// model.Store whose random number generator is seeded by cfg.Seed. Nothing is compiled until Run.
func New(b compute.Backend, modelFn ModelFn, cfg Config, tok data.Tokenizer, ds *data.Dataset) (*Trainer, error) {
	if cfg.path() == PathHost {
		return nil, errors.New(`train: memory_path="host" needs the model cut at its memory layers: use NewSplit`)
	}
	return NewSplit(b, modelFn, nil, cfg, tok, ds)
}

// NewSplit is New for a model that also comes cut at its memory layers (lm.Config.Split), so that it can
// train on either path: cfg.MemoryPath chooses. modelFn is the whole model: the graph path runs it, and the
// host path builds it once to create and initialise the variables exactly as the graph path would.
func NewSplit(b compute.Backend, modelFn ModelFn, split *lm.SplitModel, cfg Config, tok data.Tokenizer, ds *data.Dataset) (*Trainer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.path() == PathHost && split == nil {
		return nil, errors.New(`train: memory_path="host": the model has no split (a model without memory layers trains on the graph path)`)
	}
	switch {
	case b == nil:
		return nil, errors.New("train: backend is nil")
	case modelFn == nil:
		return nil, errors.New("train: model function is nil")
	case tok == nil:
		return nil, errors.New("train: tokenizer is nil")
	case ds == nil:
		return nil, errors.New("train: dataset is nil")
	}
	windows := data.PackDocuments(tok, ds.Documents, cfg.SeqLen)
	if len(windows) == 0 {
		return nil, fmt.Errorf("train: dataset %q has no training text (documents=%d)", ds.Name, len(ds.Documents))
	}
	var batcher *data.Batcher
	var err error
	if cfg.ShuffleDocuments {
		batcher, err = data.NewRepackingBatcher(tok, ds.Documents, cfg.SeqLen, cfg.BatchSize, cfg.Seed)
	} else {
		batcher, err = data.NewBatcher(windows, cfg.BatchSize, cfg.Seed)
	}
	if err != nil {
		return nil, err
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, cfg.Seed)
	if err := store.SetRNGStateFromSeed(cfg.Seed); err != nil {
		return nil, fmt.Errorf("train: seeding the random number generator: %s", oneLine(err.Error()))
	}
	t := &Trainer{
		backend: b, modelFn: modelFn, split: split, cfg: cfg, tok: tok, ds: ds,
		windows: windows, dataHash: dataHash(windows), batcher: batcher, store: store, ckptFS: osFS{},
	}
	if cfg.path() == PathHost {
		return t, nil // compiled by Run, once a checkpoint has been loaded (see prepareHost)
	}
	t.stepExec, err = model.NewExec(b, store, t.stepGraph)
	if err != nil {
		return nil, fmt.Errorf("train: %s", oneLine(err.Error()))
	}
	t.stepExec.WithName("train.Step")
	t.eval, err = NewEvaluator(b, store, modelFn, tok, cfg.SeqLen, cfg.BatchSize, cfg.MaxAnswerTokens)
	if err != nil {
		return nil, err
	}
	return t, nil
}

// Store holds the model's variables (and, under OptimizerScope, AdamW's moments).
func (t *Trainer) Store() *model.Store { return t.store }

// Evaluator scores the trainer's model; use it after Run for custom evaluations (on the host path it
// exists only once Run has started).
func (t *Trainer) Evaluator() *Evaluator { return t.eval }

// prepareHost sets up the host path after a checkpoint (if any) has been attached to the store, so that
// the value tables come from it.
func (t *Trainer) prepareHost() error {
	if t.cfg.path() != PathHost || t.host != nil {
		return nil
	}
	err := catch(func() error {
		var err error
		t.host, err = newHostPath(t.backend, t.store, t.modelFn, t.split, t.cfg)
		return err
	})
	if err != nil {
		return fmt.Errorf("train: %s", strings.TrimPrefix(oneLine(err.Error()), "train: "))
	}
	t.eval = newEvaluator(t.tok, t.cfg.SeqLen, t.cfg.BatchSize, t.cfg.MaxAnswerTokens, t.host.evaluate)
	return nil
}

// Config returns the run's configuration.
func (t *Trainer) Config() Config { return t.cfg }

// Step is the number of optimizer steps taken so far (restored by a resume).
func (t *Trainer) Step() int { return t.step }

// Windows returns the packed training windows (do not modify them).
func (t *Trainer) Windows() [][]int32 { return t.windows }

// stepGraph is one training step: forward, masked mean cross-entropy plus aux, AdamW update.
func (t *Trainer) stepGraph(scope *model.Scope, tokens, targets, mask, lr, valueLR *Node) (loss, ce, gradNorm *Node) {
	g := tokens.Graph()
	store := scope.Store()
	store.SetTraining(g, true)
	logits, aux := t.modelFn(scope, tokens)
	ce = maskedMean(tokenNLL(logits, targets), mask)
	loss = ce
	if aux != nil {
		if !aux.Shape().IsScalar() {
			exceptions.Panicf("train: the model's aux loss must be a scalar, got %s", aux.Shape())
		}
		if aux.DType() != dtypes.Float32 {
			aux = ConvertDType(aux, dtypes.Float32)
		}
		loss = Add(loss, aux)
	}
	gradNorm = adamWUpdate(store, loss, lr, valueLR, t.cfg)
	return loss, ce, gradNorm
}

// stepResult is what one training step reports.
type stepResult struct {
	loss, ce, gradNorm float64
}

// trainStep runs one compiled step on b with the learning rates of step t.step+1.
func (t *Trainer) trainStep(b data.Batch) (res stepResult, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = errors.New(oneLine(fmt.Sprint(r)))
		}
	}()
	bs, T := b.Size()
	tokens := make([]int32, 0, bs*T)
	targets := make([]int32, 0, bs*T)
	mask := make([]float32, 0, bs*T)
	for i := range b.Inputs {
		tokens = append(tokens, b.Inputs[i]...)
		targets = append(targets, b.Targets[i]...)
		mask = append(mask, b.Mask[i]...)
	}
	factor := t.cfg.LRFactor(t.step + 1)
	tokT := tensors.FromFlatDataAndDimensions(tokens, bs, T)
	tgtT := tensors.FromFlatDataAndDimensions(targets, bs, T)
	maskT := tensors.FromFlatDataAndDimensions(mask, bs, T)
	if t.host != nil {
		return t.host.trainStep(tokT, tgtT, maskT, t.cfg.LR*factor, t.cfg.valueLR()*factor, t.step+1)
	}
	outs, err := t.stepExec.Call(tokT, tgtT, maskT, float32(t.cfg.LR*factor), float32(t.cfg.valueLR()*factor))
	if err != nil {
		return res, errors.New(oneLine(err.Error()))
	}
	defer finalizeAll(outs)
	res.loss = float64(tensors.ToScalar[float32](outs[0]))
	res.ce = float64(tensors.ToScalar[float32](outs[1]))
	res.gradNorm = float64(tensors.ToScalar[float32](outs[2]))
	return res, nil
}

// Options are the per-invocation settings of Run: where to report, where to checkpoint, what to evaluate.
type Options struct {
	// Progress receives one line every ProgressEvery steps or ProgressInterval, whichever comes first
	// (defaults: Steps/20 steps, 30s), plus the evaluation lines. Nil prints nothing.
	Progress         io.Writer
	ProgressEvery    int
	ProgressInterval time.Duration

	// CheckpointDir enables checkpoints (every Config.CheckpointEvery steps, at the end, and when ctx is
	// cancelled). A directory that already holds checkpoints is only used with Resume, and only if they
	// were made with the same config; it is never overwritten otherwise.
	CheckpointDir string
	// Resume continues from the latest checkpoint in CheckpointDir (or starts afresh if there is none).
	Resume bool
	// KeepCheckpoints is how many checkpoints to keep in CheckpointDir (default 2; -1 keeps all).
	KeepCheckpoints int

	// ModelConfig is the model's configuration (any JSON-encodable value). It is stored in checkpoints so
	// that resuming with a different model fails with a clear message, and written to Results' config.
	ModelConfig any

	// Results, if not nil, is filled: seed, backend, config (if empty), every evaluation, final metrics,
	// times. The caller writes it (results.Write).
	Results *results.Run

	// Built-in evaluation (every Config.EvalEvery steps and at the end) computes "train_loss" (mean since
	// the previous evaluation), EM/F1/answer NLL of the dataset's TrainQA ("train_qa_em", "train_qa_f1",
	// "train_qa_nll") and EvalQA ("eval_qa_*"), each limited to the first EvalQALimit questions when > 0,
	// and "val_nll" over ValWindows (windows of SeqLen+1 tokens from data.PackDocuments) if given.
	EvalQALimit   int
	ValWindows    [][]int32
	NoBuiltinEval bool
	// EvalFn, if set, adds metrics of its own to each evaluation.
	EvalFn func(ctx context.Context, step int, ev *Evaluator) (map[string]float64, error)

	// OnStep, if set, is called after every step (e.g. to plot a loss curve live).
	OnStep func(StepInfo)

	// InitFrom makes the run a finetuning (finetune.go): the model weights of the newest checkpoint in
	// this directory initialise it, unless the run resumes from its own CheckpointDir. It is only read.
	InitFrom string
	// BackgroundWindows are windows of the data InitFrom's model was trained on (SeqLen+1 tokens each,
	// data.PackDocuments), for Config.Finetune "sparse": the batches of them whose slot reads rank the
	// slots (memlayer.BackgroundReads), counted once and cached in InitFrom.
	BackgroundWindows [][]int32
	// BackgroundBatch is how many of them make one background batch (0: Config.BatchSize). A slot that
	// every background batch reads gets no weight, so with a table that one batch of the run's size
	// reads nearly whole, smaller background batches (down to one window) keep the ranking informative.
	BackgroundBatch int
	// EvalAtStart evaluates before the first step, the starting point of a finetuning run's curves.
	EvalAtStart bool
}

// StepInfo describes one finished training step.
type StepInfo struct {
	Step     int     // 1-based
	Loss     float64 // cross-entropy + aux
	CE       float64 // masked mean cross-entropy (nats per token)
	GradNorm float64 // global gradient norm before clipping
	LR       float64 // scheduled LR of this step
	ValueLR  float64 // scheduled learning rate of the value tables
	Tokens   int64   // tokens consumed so far (B·T per step)
}

// Summary reports a Run, also when it stops early (then with an error).
type Summary struct {
	StartStep int // step the session started from (> 0 when resumed)
	Step      int // steps done so far
	Steps     int // Config.Steps
	Tokens    int64
	// Loss is the last step's loss; Losses has one entry per step of this session.
	Loss     float64
	Losses   []float64
	GradNorm float64
	// Params counts trainable model parameters (optimizer state excluded); ValueParams those in memory
	// value tables.
	Params, ValueParams int
	// TrainSeconds is the time spent in training steps over all sessions of the run.
	TrainSeconds    float64
	TokensPerSecond float64
	// Final holds the final evaluation and run statistics, as put in Results.Final.
	Final         map[string]float64
	CheckpointDir string
	Interrupted   bool
}

// ErrInterrupted matches (errors.Is) the error Run returns when ctx is cancelled.
var ErrInterrupted = errors.New("train: interrupted")

// InterruptedError is returned by Run when ctx was cancelled: the run stopped between two steps and, when
// a checkpoint directory was given, saved a checkpoint there first.
type InterruptedError struct {
	Step int
	Dir  string // "" when no checkpoint was saved (no checkpoint dir, or interrupted before the first step)
}

func (e *InterruptedError) Error() string {
	if e.Dir == "" {
		return fmt.Sprintf("train: interrupted at step %d; no checkpoint was saved", e.Step)
	}
	return fmt.Sprintf("train: interrupted at step %d, checkpoint saved to %s; rerun with --resume", e.Step, e.Dir)
}

// Is makes errors.Is(err, ErrInterrupted) true.
func (e *InterruptedError) Is(target error) bool { return target == ErrInterrupted }

// ErrNonFiniteLoss matches (errors.Is) the error Run returns when the loss becomes NaN or infinite.
var ErrNonFiniteLoss = errors.New("train: loss became non-finite")

// NonFiniteLossError names the step at which the loss stopped being a finite number, and the settings
// that usually cause it.
type NonFiniteLossError struct {
	Step     int
	Loss     float64
	LR       float64
	GradClip float64
}

func (e *NonFiniteLossError) Error() string {
	hint := "lower Config.LR or set Config.GradClip (clipping is off)"
	if e.GradClip > 0 {
		hint = fmt.Sprintf("lower Config.LR or Config.GradClip (now %g)", e.GradClip)
	}
	return fmt.Sprintf("train: loss became %s at step %d with learning rate %g; %s", e.What(), e.Step, e.LR, hint)
}

// What is "NaN" or "infinite".
func (e *NonFiniteLossError) What() string {
	if math.IsInf(e.Loss, 0) {
		return "infinite"
	}
	return "NaN"
}

// Is makes errors.Is(err, ErrNonFiniteLoss) true.
func (e *NonFiniteLossError) Is(target error) bool { return target == ErrNonFiniteLoss }

// Run trains up to Config.Steps, evaluating and checkpointing on the way, and returns a summary. It stops
// early with an *InterruptedError when ctx is cancelled (after saving a checkpoint) and with a
// *NonFiniteLossError when the loss becomes NaN/Inf (nothing saved: the last good checkpoint stays).
// Run can be called once per Trainer.
func (t *Trainer) Run(ctx context.Context, opts Options) (*Summary, error) {
	if t.ran {
		return nil, errors.New("train: Run was already called on this Trainer; create a new one with New")
	}
	t.ran = true
	r, err := t.begin(ctx, opts)
	if err != nil {
		return nil, err
	}
	if opts.EvalAtStart && t.step == 0 && len(t.evals) == 0 {
		if cancelled, err := r.evaluate(); cancelled {
			return r.interrupted()
		} else if err != nil {
			return r.finish(err)
		}
	}
	for t.step < t.cfg.Steps {
		if ctx.Err() != nil {
			return r.interrupted()
		}
		if t.cfg.EvalEvery > 0 && t.step > 0 && t.step%t.cfg.EvalEvery == 0 && t.lastEvalStep != t.step {
			if cancelled, err := r.evaluate(); cancelled {
				return r.interrupted()
			} else if err != nil {
				return r.finish(err)
			}
		}
		if t.cfg.CheckpointEvery > 0 && t.step > 0 && t.step%t.cfg.CheckpointEvery == 0 {
			if err := r.save(); err != nil {
				return r.finish(err)
			}
			r.prog.resetWindow()
		}
		if err := r.trainStep(); err != nil {
			return r.finish(err)
		}
	}
	if ctx.Err() != nil {
		return r.interrupted()
	}
	return r.end()
}

// fillSummary copies the loop state into sum. Parameters are counted over the store's variables plus,
// when resuming, the checkpoint values no graph has asked for yet (a finished run builds none).
func (t *Trainer) fillSummary(sum *Summary, h *checkpoint.Handler) {
	sum.Step, sum.Tokens, sum.TrainSeconds = t.step, t.tokens, t.trainSeconds
	if t.trainSeconds > 0 {
		sum.TokensPerSecond = float64(t.tokens) / t.trainSeconds
	}
	sum.Params, sum.ValueParams = 0, 0
	count := func(path, name string, size int) {
		if strings.HasPrefix(path, OptimizerScope+"/") {
			return
		}
		sum.Params += size
		if name == memlayer.VarValues || name == memlayer.VarPEERUp {
			sum.ValueParams += size
		}
	}
	for v := range t.store.IterVariables() {
		if v.Trainable && v.DType().IsFloat() {
			count(v.Path(), v.Name(), v.Shape().Size())
		}
	}
	if t.host != nil {
		sum.Params += t.host.valueParams()
		sum.ValueParams += t.host.valueParams()
	}
	if h != nil {
		for key, value := range h.LoadedVariables() {
			path, ok := strings.CutPrefix(key, "var:")
			if ok && value.Shape().DType.IsFloat() {
				_, name := model.SplitPath(path)
				count(path, name, value.Shape().Size())
			}
		}
	}
}

// evaluate computes the metrics of one evaluation at the current step.
func (t *Trainer) evaluate(ctx context.Context, opts Options) (map[string]float64, error) {
	if t.host != nil {
		t.host.sync()
	}
	metrics := map[string]float64{}
	if t.lossCount > 0 {
		metrics["train_loss"] = t.lossSum / float64(t.lossCount)
	}
	if !opts.NoBuiltinEval {
		qaSets := []struct {
			prefix string
			qas    []data.QA
		}{{"train_qa", t.ds.TrainQA}, {"eval_qa", t.ds.EvalQA}}
		for _, set := range qaSets {
			qas := set.qas
			if opts.EvalQALimit > 0 && len(qas) > opts.EvalQALimit {
				qas = qas[:opts.EvalQALimit]
			}
			if len(qas) == 0 {
				continue
			}
			s, err := t.eval.EvaluateQA(ctx, qas)
			if err != nil {
				return nil, fmt.Errorf("train: evaluation at step %d (%s): %w", t.step, set.prefix, err)
			}
			addScores(metrics, set.prefix, s)
		}
		if len(opts.ValWindows) > 0 {
			nll, err := t.eval.EvaluateText(ctx, opts.ValWindows)
			if err != nil {
				return nil, fmt.Errorf("train: evaluation at step %d (val_nll): %w", t.step, err)
			}
			metrics["val_nll"] = nll
		}
	}
	if opts.EvalFn != nil {
		extra, err := opts.EvalFn(ctx, t.step, t.eval)
		if err != nil {
			return nil, fmt.Errorf("train: evaluation at step %d: %w", t.step, err)
		}
		for k, v := range extra {
			metrics[k] = v
		}
	}
	return metrics, nil
}

func addScores(metrics map[string]float64, prefix string, s eval.Scores) {
	metrics[prefix+"_em"] = s.EM
	metrics[prefix+"_f1"] = s.F1
	if s.NLLCount > 0 {
		metrics[prefix+"_nll"] = s.AnswerNLL
	}
}

// recordEval appends an evaluation point and restarts the train_loss average.
func (t *Trainer) recordEval(metrics map[string]float64) {
	t.evals = append(t.evals, results.EvalPoint{Step: t.step, Tokens: t.tokens, Metrics: metrics})
	t.lastEvalStep = t.step
	t.lossSum, t.lossCount = 0, 0
}

// openCheckpoint attaches a GoMLX checkpoint handler to the store and, when resuming from an existing
// checkpoint, restores and checks the loop state.
func (t *Trainer) openCheckpoint(opts Options, modelJSON []byte, out io.Writer) (*checkpoint.Handler, error) {
	dir := opts.CheckpointDir
	names, err := listCheckpoints(dir)
	if err != nil {
		return nil, err
	}
	if opts.Resume {
		if names, err = setAsideBrokenCheckpoints(dir, names, out); err != nil {
			return nil, err
		}
	}
	if len(names) > 0 && !opts.Resume {
		return nil, fmt.Errorf("train: checkpoint dir %s already holds a checkpoint (%s); rerun with --resume to continue it, or use a new --checkpoint-dir",
			dir, names[len(names)-1])
	}
	var handler *checkpoint.Handler
	err = catch(func() error {
		var err error
		handler, err = checkpoint.Build(t.store).Dir(dir).Keep(opts.KeepCheckpoints).Done()
		return err
	})
	if err != nil {
		if len(names) == 0 {
			return nil, fmt.Errorf("train: checkpoint dir %s: %s", dir, truncate(oneLine(err.Error()), 300))
		}
		return nil, corruptCheckpointError(dir, names, err)
	}
	if len(names) == 0 {
		if opts.Resume {
			fmt.Fprintf(out, "no checkpoint in %s yet: starting from step 0\n", dir)
		}
		return handler, nil
	}

	latest := checkpointFiles(dir, names[len(names)-1])
	raw, found := t.store.GetParam(StateParam)
	text, isString := raw.(string)
	if !found || !isString {
		return nil, fmt.Errorf("train: checkpoint %s holds no memlayers training state (was it written by another program?); use a new --checkpoint-dir", latest)
	}
	st, err := decodeTrainState([]byte(text))
	if err != nil {
		return nil, corruptCheckpointError(dir, names, err)
	}
	if err := t.checkResumable(dir, &st, modelJSON); err != nil {
		return nil, err
	}
	var globalStep int64
	if err := catch(func() error { globalStep = optimizer.GetGlobalStep(t.store); return nil }); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s has an unreadable global_step (%s); use a new --checkpoint-dir", latest, truncate(oneLine(err.Error()), 200))
	}
	if globalStep != int64(st.Step) {
		return nil, corruptCheckpointError(dir, names,
			fmt.Errorf("inconsistent: global_step %d but training state step %d", globalStep, st.Step))
	}
	if t.cfg.path() == PathGraph {
		// A host-path checkpoint holds value tables with pending weight decay (memlayer.HostAdam).
		var loaded []string
		for key := range handler.LoadedVariables() {
			if path, ok := strings.CutPrefix(key, "var:"); ok {
				loaded = append(loaded, path)
			}
		}
		sort.Strings(loaded)
		if err := catch(func() error { return applyPendingDecay(t.store, loaded) }); err != nil {
			return nil, corruptCheckpointError(dir, names, err)
		}
	}
	if err := t.batcher.SetState(st.Batcher); err != nil {
		return nil, fmt.Errorf("train: checkpoint %s: %s; use a new --checkpoint-dir", latest, oneLine(err.Error()))
	}
	t.step, t.tokens, t.trainSeconds, t.valueRows = st.Step, st.Tokens, st.TrainSeconds, st.ValueRows
	t.lastEvalStep, t.evals = st.LastEvalStep, st.Evals
	t.lossSum, t.lossCount = st.LossSum, st.LossCount
	t.wallBefore = st.WallSeconds
	fmt.Fprintf(out, "resumed from %s at step %d/%d\n", latest, t.step, t.cfg.Steps)
	return handler, nil
}

// corruptCheckpointError describes a latest checkpoint that GoMLX could not load, naming the file and
// the way out, on one line.
func corruptCheckpointError(dir string, names []string, err error) error {
	msg := oneLine(err.Error())
	latest := names[len(names)-1]
	file := checkpointFiles(dir, latest)
	switch {
	case strings.Contains(msg, "data file"):
		file = filepath.Join(dir, latest+checkpoint.BinDataSuffix)
	case strings.Contains(msg, "decode contents") || strings.Contains(msg, "metadata file"):
		file = filepath.Join(dir, latest+checkpoint.JsonNameSuffix)
	}
	cause := msg
	if i := strings.LastIndex(msg, ": "); i >= 0 && i+2 < len(msg) {
		cause = msg[i+2:]
	}
	fix := "it is the only checkpoint there: use a new --checkpoint-dir"
	if len(names) > 1 {
		fix = fmt.Sprintf("delete %s to resume from the previous checkpoint (%s), or use a new --checkpoint-dir",
			checkpointFiles(dir, latest), names[len(names)-2])
	}
	return fmt.Errorf("train: checkpoint file %s is corrupt (%s); %s", file, truncate(cause, 200), fix)
}

// saveCheckpoint stores the loop state as a store parameter and saves a GoMLX checkpoint.
func (t *Trainer) saveCheckpoint(h *checkpoint.Handler, modelJSON []byte, keep int) error {
	st := trainState{
		Version: stateVersion, Step: t.step, Batcher: t.batcher.State(), Tokens: t.tokens,
		TrainSeconds: t.trainSeconds, WallSeconds: t.wallBefore + time.Since(t.sessionStart).Seconds(),
		ValueRows: t.valueRows, LastEvalStep: t.lastEvalStep, Evals: t.evals,
		LossSum: t.lossSum, LossCount: t.lossCount,
		Config: t.cfg, Model: modelJSON, Tokenizer: t.tok.Name(), DataHash: t.dataHash,
	}
	text, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("train: encoding the training state: %s", oneLine(err.Error()))
	}
	t.store.SetParam(StateParam, string(text))
	if t.host != nil {
		if err := t.host.exportToStore(); err != nil {
			return err
		}
		defer func() { _ = t.host.dropFromStore() }()
	}
	err = catch(func() error {
		base, err := nextCheckpointName(h.Dir(), t.step)
		if err != nil {
			return err
		}
		return writeCheckpoint(t.ckptFS, h.Dir(), base, t.store, h.LoadedVariables(), keep)
	})
	if err != nil {
		return fmt.Errorf("train: saving checkpoint at step %d to %s: %s; the previous checkpoints are untouched",
			t.step, h.Dir(), truncate(oneLine(err.Error()), 300))
	}
	return nil
}

// catch runs fn, turning a panic into an error.
func catch(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return fn()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-3] + "..."
}

// evalLine formats an evaluation for the progress writer: "eval step 100  eval_qa_em 0.120  ...".
func evalLine(step int, metrics map[string]float64) string {
	keys := make([]string, 0, len(metrics))
	for k := range metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	fmt.Fprintf(&sb, "eval step %d", step)
	for _, k := range keys {
		fmt.Fprintf(&sb, "  %s %.4g", k, metrics[k])
	}
	return sb.String()
}
