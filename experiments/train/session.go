package train

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"time"

	"github.com/gomlx/gomlx/ml/model/checkpoint"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/results"
)

// session is one call of Run: what the loop's steps share.
type session struct {
	t         *Trainer
	ctx       context.Context
	opts      Options
	out       io.Writer
	modelJSON []byte
	handler   *checkpoint.Handler // nil without a checkpoint directory
	run       *results.Run        // nil when the caller wants no results record
	sum       *Summary
	lastSaved int // the step of the newest checkpoint, -1 before any
	prog      *progress
}

// begin fills opts' defaults, opens (and, resuming, loads) the checkpoint directory, prepares the host
// path and the results record.
func (t *Trainer) begin(ctx context.Context, opts Options) (*session, error) {
	if opts.ProgressEvery <= 0 {
		opts.ProgressEvery = max(1, t.cfg.Steps/20)
	}
	if opts.ProgressInterval <= 0 {
		opts.ProgressInterval = 30 * time.Second
	}
	if opts.KeepCheckpoints == 0 {
		opts.KeepCheckpoints = 2
	}
	r := &session{t: t, ctx: ctx, opts: opts, out: opts.Progress, run: opts.Results, lastSaved: -1}
	// The session's clock is its results record's (started by the caller or here), so that the wall time
	// saved in checkpoints and the record's wall_seconds measure the same thing.
	t.sessionStart = time.Now()
	if r.run != nil {
		if r.run.StartedAt.IsZero() {
			r.run.Start(".")
		}
		t.sessionStart = r.run.StartedAt
	}
	if r.out == nil {
		r.out = io.Discard
	}
	if opts.ModelConfig != nil {
		var err error
		if r.modelJSON, err = json.Marshal(opts.ModelConfig); err != nil {
			return nil, fmt.Errorf("train: model config cannot be encoded as JSON: %s", oneLine(err.Error()))
		}
	}
	if opts.CheckpointDir != "" {
		var err error
		if r.handler, err = t.openCheckpoint(opts, r.modelJSON, r.out); err != nil {
			return nil, err
		}
	}
	if err := t.prepareFinetune(ctx, opts, r.out); err != nil {
		return nil, err
	}
	if r.run != nil {
		r.run.Seed = t.cfg.Seed
		r.run.EarlierWallSeconds = t.wallBefore
		r.run.Backend = backend.Describe(t.backend)
		if len(r.run.Config) == 0 {
			_ = r.run.SetConfig(struct {
				Train     Config          `json:"train"`
				Model     json.RawMessage `json:"model,omitempty"`
				Tokenizer string          `json:"tokenizer"`
				Dataset   string          `json:"dataset"`
			}{t.cfg, r.modelJSON, t.tok.Name(), t.ds.Name})
		}
	}
	r.sum = &Summary{StartStep: t.step, Steps: t.cfg.Steps, CheckpointDir: opts.CheckpointDir}
	if opts.Resume && r.handler != nil && t.step > 0 {
		r.lastSaved = t.step
	}
	r.prog = newProgress(t.cfg, opts, r.out)
	return r, nil
}

// save writes a checkpoint of the current step, unless there is no checkpoint directory or the newest
// checkpoint is of this step already.
func (r *session) save() error {
	if r.handler == nil || r.lastSaved == r.t.step {
		return nil
	}
	if err := r.t.saveCheckpoint(r.handler, r.modelJSON, r.opts.KeepCheckpoints); err != nil {
		return err
	}
	r.lastSaved = r.t.step
	return nil
}

// evaluate runs and records one evaluation; cancelled means ctx was cancelled during it.
func (r *session) evaluate() (cancelled bool, err error) {
	metrics, err := r.t.evaluate(r.ctx, r.opts)
	if err != nil {
		if r.ctx.Err() != nil {
			return true, nil
		}
		return false, err
	}
	r.t.recordEval(metrics)
	fmt.Fprintln(r.out, evalLine(r.t.step, metrics))
	r.prog.resetWindow()
	return false, nil
}

// trainStep trains one batch and reports it.
func (r *session) trainStep() error {
	t := r.t
	b := t.batcher.Next()
	start := time.Now()
	res, err := t.trainStep(b)
	elapsed := time.Since(start)
	if err != nil {
		hint := ""
		if r.opts.Resume && t.step == r.sum.StartStep && t.step > 0 {
			hint = fmt.Sprintf(" (the checkpoint in %s may come from a different model; use a new --checkpoint-dir)", r.opts.CheckpointDir)
		}
		return fmt.Errorf("train: step %d: %s%s", t.step+1, err, hint)
	}
	t.step++
	if t.host != nil {
		t.valueRows += int64(t.host.rowsUpdated)
	}
	bs, T := b.Size()
	t.tokens += int64(bs * T)
	t.trainSeconds += elapsed.Seconds()
	r.sum.Loss, r.sum.GradNorm = res.loss, res.gradNorm
	r.sum.Losses = append(r.sum.Losses, res.loss)
	if math.IsNaN(res.loss) || math.IsInf(res.loss, 0) {
		return &NonFiniteLossError{Step: t.step, Loss: res.loss, LR: t.cfg.LR, GradClip: t.cfg.GradClip}
	}
	t.lossSum += res.loss
	t.lossCount++
	factor := t.cfg.LRFactor(t.step)
	if r.opts.OnStep != nil {
		r.opts.OnStep(StepInfo{Step: t.step, Loss: res.loss, CE: res.ce, GradNorm: res.gradNorm,
			LR: t.cfg.LR * factor, ValueLR: t.cfg.valueLR() * factor, Tokens: t.tokens})
	}
	r.prog.step(t.step, res.loss, bs*T, elapsed)
	return nil
}

// end runs the final evaluation (unless the last step was just evaluated), saves, and fills the
// summary's and the results record's final metrics.
func (r *session) end() (*Summary, error) {
	t := r.t
	if t.lastEvalStep != t.step || len(t.evals) == 0 {
		if cancelled, err := r.evaluate(); cancelled {
			return r.interrupted()
		} else if err != nil {
			return r.finish(err)
		}
	}
	if err := r.save(); err != nil {
		return r.finish(err)
	}
	if t.host != nil {
		t.host.sync() // the tables hold the final model for whoever reads them
	}
	t.fillSummary(r.sum, r.handler)
	r.sum.Final = t.finalMetrics(r.sum)
	if t.host != nil && t.step > 0 {
		r.sum.Final["value_rows_per_step"] = float64(t.valueRows) / float64(t.step)
		usage, err := t.memoryUsage()
		if err != nil {
			return r.finish(err)
		}
		maps.Copy(r.sum.Final, usage)
	}
	if r.run != nil {
		r.run.Final = r.sum.Final
	}
	return r.finish(nil)
}

// interrupted saves a checkpoint (when there is a directory and a step to save) and returns an
// *InterruptedError.
func (r *session) interrupted() (*Summary, error) {
	r.sum.Interrupted = true
	if r.handler == nil || r.t.step == 0 {
		return r.finish(&InterruptedError{Step: r.t.step})
	}
	if err := r.save(); err != nil {
		return r.finish(fmt.Errorf("train: interrupted at step %d, but saving the checkpoint failed: %w", r.t.step, err))
	}
	return r.finish(&InterruptedError{Step: r.t.step, Dir: r.opts.CheckpointDir})
}

// finish fills the summary and the results record's evaluations, whatever the outcome.
func (r *session) finish(err error) (*Summary, error) {
	r.t.fillSummary(r.sum, r.handler)
	if r.run != nil {
		r.run.Evals = append([]results.EvalPoint(nil), r.t.evals...)
		r.run.Finish()
	}
	return r.sum, err
}
