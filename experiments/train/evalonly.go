package train

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// ErrNoCheckpoint matches (errors.Is) the error Evaluate returns when there is no checkpoint to evaluate.
var ErrNoCheckpoint = errors.New("train: no checkpoint")

// LatestCheckpoint returns the name of the newest checkpoint in dir, or an error matching
// ErrNoCheckpoint when there is none (dir missing or empty).
func LatestCheckpoint(dir string) (string, error) {
	names, err := listCheckpoints(dir)
	if err != nil {
		return "", err
	}
	if len(names) == 0 {
		return "", fmt.Errorf("%w in %s; train the model first, or give the --checkpoint-dir its training used", ErrNoCheckpoint, dir)
	}
	return names[len(names)-1], nil
}

// Evaluate restores the newest checkpoint in opts.CheckpointDir and evaluates the model as it is there,
// without any training step: a checkpoint saved at step 250 of 300 is evaluated at step 250. It fills
// the summary and opts.Results like Run (the evaluations recorded in the checkpoint, then this one) and
// writes nothing to the checkpoint directory. Without a checkpoint it fails with ErrNoCheckpoint rather
// than training from scratch. Like Run, it can be called once per Trainer, instead of Run.
func (t *Trainer) Evaluate(ctx context.Context, opts Options) (*Summary, error) {
	if t.ran {
		return nil, errors.New("train: Run or Evaluate was already called on this Trainer; create a new one with New")
	}
	t.ran = true
	dir := opts.CheckpointDir
	if dir == "" {
		return nil, errors.New("train: Evaluate needs a checkpoint directory (Options.CheckpointDir)")
	}
	latest, err := LatestCheckpoint(dir)
	if err != nil {
		return nil, err
	}
	opts.Resume = true
	out := opts.Progress
	if out == nil {
		out = io.Discard
	}
	quiet := opts // the checkpoint is opened without "resumed from" lines
	quiet.Progress = nil
	r, err := t.begin(ctx, quiet)
	if err != nil {
		return nil, err
	}
	r.out = out
	fmt.Fprintf(out, "evaluating %s at step %d/%d, without training\n", checkpointFiles(dir, latest), t.step, t.cfg.Steps)

	metrics, err := t.evaluate(ctx, opts)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("train: evaluation of %s interrupted: %w", dir, ctx.Err())
		}
		return nil, err
	}
	if n := len(t.evals); n > 0 && t.evals[n-1].Step == t.step {
		for k, v := range t.evals[n-1].Metrics { // keep what this evaluation does not recompute (train_loss)
			if _, ok := metrics[k]; !ok {
				metrics[k] = v
			}
		}
		t.evals = t.evals[:n-1]
	}
	t.recordEval(metrics)
	fmt.Fprintln(out, evalLine(t.step, metrics))
	t.fillSummary(r.sum, r.handler)
	r.sum.Final = t.finalMetrics(r.sum)
	if r.run != nil {
		r.run.Final = r.sum.Final
	}
	return r.finish(nil)
}

// finalMetrics is the last evaluation plus the run statistics of sum, as Run reports them.
func (t *Trainer) finalMetrics(sum *Summary) map[string]float64 {
	final := map[string]float64{}
	if n := len(t.evals); n > 0 {
		for k, v := range t.evals[n-1].Metrics {
			final[k] = v
		}
	}
	final["steps"] = float64(t.step)
	final["tokens"] = float64(t.tokens)
	final["train_seconds"] = t.trainSeconds
	final["tokens_per_second"] = sum.TokensPerSecond
	final["params"] = float64(sum.Params)
	final["value_params"] = float64(sum.ValueParams)
	return final
}
