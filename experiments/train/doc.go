// Package train trains any GoMLX language model given as a ModelFn (tokens [B, T] → logits [B, T, V])
// on a data.Dataset, evaluates it (QA exact match / F1 / answer NLL, held-out text NLL) and checkpoints
// it so that an interrupted run resumes bit for bit. It knows nothing about the model's architecture; it
// recognises memory value tables only by memlayer.IsValueVariable, to give them their own learning rate.
//
// # Usage
//
//	tr, err := train.New(backend, modelFn, cfg, tokenizer, dataset) // cfg.Validate() is called
//	sum, err := tr.Run(ctx, train.Options{
//		Progress: os.Stderr, CheckpointDir: dir, Resume: resume,
//		ModelConfig: modelCfg, Results: run, EvalQALimit: 200,
//	})
//	switch {
//	case errors.Is(err, train.ErrInterrupted): // ctx cancelled: a checkpoint was saved, rerun with Resume
//	case errors.Is(err, train.ErrNonFiniteLoss): // NaN/Inf loss: the message names the step
//	}
//
// # Optimiser (AdamW, written in-graph)
//
// One compiled step computes the masked mean cross-entropy (plus the model's aux loss), its gradients,
// clips them to a global norm of Config.GradClip, and applies AdamW with β1, β2, ε and bias correction
// (t = GoMLX's "/global_step"). Weight decay is decoupled (w ← w·(1−rate·wd), as PyTorch's AdamW) and
// applies to variables of rank ≥ 2 only — memory value tables included, as in the reference code.
// AdamW's moments live in the store under OptimizerScope ("/optimizer/<variable path>/m" and "/v"), so
// checkpoints carry them.
//
// Learning rates: memory value tables (memlayer.IsValueVariable) use Config.ValueLR, everything else
// Config.LR; both are multiplied by the same schedule factor (Config.LRFactor). The paper describes the
// value rate as a fixed 1e-3, but the reference code puts it in its own parameter group whose rate the
// LambdaLR warmup/decay factor still multiplies; we follow the code. ValueLR = 0 means "use LR".
//
// Schedule: linear warmup over WarmupSteps (factor step/WarmupSteps, so the first update is not wasted
// with factor 0), then a "linear" (the reference code's default) or "cosine" decay to MinLRFraction at
// step Steps. The rates are computed on the host and fed to the step as scalars, so changing them never
// recompiles.
//
// The update is dense: each step reads and rewrites every row of every value table, including rows no
// token selected (whose gradient is zero; Adam's momentum still moves rows touched earlier, exactly like
// PyTorch's dense AdamW in the reference). The cost is O(table size) per step; an update restricted to
// the selected rows (lazy/sparse Adam) is a later performance change.
//
// # Checkpoints
//
// Checkpoints are GoMLX checkpoints (ml/model/checkpoint) in Options.CheckpointDir, files
// checkpoint-n<counter>-<time>-step-<step>.{json,bin}; the last Options.KeepCheckpoints (default 2) are
// kept. Each holds every variable of the store — model weights, AdamW moments, "/global_step" and the
// store's random number generator state "/#rngState" (dropout) — and, as the store parameter StateParam
// inside the same JSON file, the trainer's own state: step, data.BatcherState, tokens seen, training time,
// the evaluations so far, the training config, Options.ModelConfig, the tokenizer name and a fingerprint
// of the training windows. Variables and loop state therefore always come from the same save.
//
// They are saved every Config.CheckpointEvery steps, at the end of the run, and when ctx is cancelled
// (the run stops between two steps and returns an *InterruptedError: "train: interrupted at step N,
// checkpoint saved to DIR; rerun with --resume"). A resumed run restores everything above and continues
// with the same batches, learning rates, dropout masks and optimizer state, so its numbers equal those of
// an uninterrupted run bit for bit (on the same backend). Steps, EvalEvery, CheckpointEvery and
// MaxAnswerTokens may change on resume (a longer Steps also stretches the decay, so such a run is no
// longer identical to an uninterrupted one); any other difference in the training config, the model
// config, the tokenizer or the data is refused with a one-line error naming the first difference. A
// directory that already holds checkpoints is never written to without Resume, and a corrupt latest
// checkpoint is reported with the file and the fix. GoMLX writes the .bin before the .json, so a save
// that was cut short leaves the previous checkpoint as the latest.
//
// # Evaluation
//
// Evaluator runs forward passes of one fixed shape [BatchSize, SeqLen] (one compiled graph; partial
// batches are padded): greedy decoding from data.Prompt (after BOS, left context cut to SeqLen) up to
// MaxAnswerTokens or a newline/special token, parsed by data.ParseAnswer and scored by eval.Accumulator;
// the answer NLL sums the NLL of the data.Target tokens given the prompt (teacher forcing, the same mask as
// data.QABatch); EvaluateText is the mean NLL per token (nats) of held-out windows. Evaluation graphs are
// built with training off and fail if the model would change a variable.
package train
