// Package train trains any GoMLX language model given as a ModelFn (tokens [B, T] → logits [B, T, V])
// on a data.Dataset, evaluates it (QA exact match / F1 / answer NLL, held-out text NLL) and checkpoints
// it so that an interrupted run resumes bit for bit. It knows nothing about the model's architecture; it
// recognises memory value tables only by memlayer.IsValueVariable, to give them their own learning rate.
//
// # Usage
//
//	tr, err := train.New(backend, modelFn, cfg, tokenizer, dataset) // cfg.Validate() is called
//	// or, for a model that can also run its memory layers on the host (Config.MemoryPath "host"):
//	tr, err := train.NewSplit(backend, modelFn, lmConfig.Split(), cfg, tokenizer, dataset)
//	sum, err := tr.Run(ctx, train.Options{
//		Progress: os.Stderr, CheckpointDir: dir, Resume: resume,
//		ModelConfig: modelCfg, Results: run, EvalQALimit: 200,
//	})
//	switch {
//	case errors.Is(err, train.ErrInterrupted): // ctx cancelled: a checkpoint was saved, rerun with Resume
//	case errors.Is(err, train.ErrNonFiniteLoss): // NaN/Inf loss: the message names the step
//	}
//
// # Two paths for the memory layers
//
// On the graph path (the default, and what XLA/GPU backends should run) one compiled step computes the
// masked mean cross-entropy (plus the model's aux loss), its gradients, clips them to a global norm of
// Config.GradClip and applies AdamW, all in one graph. On the host path (hostpath.go) the model comes cut
// at its memory layers (lm.SplitModel): the pieces are compiled graphs, the value tables live in host
// memory, and each step searches, reads, differentiates and updates only the rows its tokens looked up,
// so its cost does not grow with the tables. Both compute the same model from the same initialisation
// (tests compare their losses and parameters), and a checkpoint of one resumes on the other when their
// value-update rules agree.
//
// # Optimiser (AdamW)
//
// One rule, memlayer.Adam: AdamW with β1, β2, ε and bias correction (t = GoMLX's "/global_step").
// Weight decay is decoupled (w ← w·(1−rate·wd), as PyTorch's AdamW) and applies to variables of rank ≥ 2
// only — memory value tables included, as in the reference code. The global-norm clipping covers every
// gradient, value rows included. AdamW's moments live in the store under OptimizerScope
// ("/optimizer/<variable path>/m" and "/v"), so checkpoints carry them; the host path saves its tables'
// moments under the same names.
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
// Value tables follow Config.ValueUpdates. "dense" (the graph path's default) moves every row on every
// step, rows no token selected included (Adam's momentum still moves rows touched earlier), like
// PyTorch's dense AdamW in the reference code; the committed graph-path results used it. "sparse" (the
// host path's rule, selectable on the graph path) moves a row's moments and takes its Adam step only on
// steps whose gradient reaches it; weight decay still shrinks every row on every step (the host applies a
// row's pending decay when it next reads it; see memlayer.HostAdam).
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
