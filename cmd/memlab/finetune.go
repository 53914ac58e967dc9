package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/lab"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

func init() {
	register("finetune", "teach a trained model new facts (full, lora, memory or sparse) and measure what it forgets", runFinetune)
}

func runFinetune(ctx context.Context, args []string, stdout io.Writer) error {
	fs := newFlagSet("finetune", "Start from a trained model's checkpoint and learn a new facts set in one mode:\n"+
		"  full    every parameter (AdamW)\n"+
		"  lora    low-rank adapters on the attention and feed-forward weights only (AdamW)\n"+
		"  memory  only the memory value rows each batch reads (SGD)\n"+
		"  sparse  only the --top-slots rows per batch that TF-IDF ranks most specific to it (SGD), counted\n"+
		"          against the pretraining data (counted once, cached next to the checkpoint)\n"+
		"Every --eval-every steps it prints what the model learned (exact match on the new facts) and forgot\n"+
		"(exact match on the facts it was trained on, NLL of held-out text), and it writes a results file.\n"+
		"Describe the pretrained model with the flags it was trained with (memlab train's --preset, --model,\n"+
		"--dataset, --seed, ...); the checkpoint is only read.", stdout)
	var spec lab.FinetuneSpec
	pre := &spec.Pretrained
	fs.StringVar(&pre.Preset, "preset", "tiny", "the pretrained model's preset: "+strings.Join(lab.PresetNames(), ", "))
	model := fs.String("model", "memory", "the pretrained model's kind: dense, moe, peer, memory, memory+")
	fs.StringVar(&pre.Dataset, "dataset", lab.ContinualDataset, "the data it was trained on: continual, bios, unicode, languages, regions or tsv:PATH")
	fs.Int64Var(&pre.Seed, "seed", 1, "its seed (data, initialisation; also the finetuning's batch order)")
	fs.IntVar(&pre.People, "people", 0, "its synthetic people (0: the preset's)")
	fs.IntVar(&pre.NKeys, "n-keys", 0, "its memory half-keys (0: the preset's, or the continual experiment's with --dataset continual)")
	fs.IntVar(&pre.KNN, "knn", 0, "its memory slots per head (0: the preset's)")
	backendFlag := fs.String("backend", "", "GoMLX backend: go (default), xla:cuda, xla:/abs/plugin.so (env GOMLX_BACKEND)")
	memPath := addMemoryPathFlag(fs)
	ckpt := fs.String("checkpoint-dir", "", "the pretrained model's checkpoints (default: the continual experiment's, checkpoints/continual/<preset>/<model>-seed<N>, or memlab train's, checkpoints/<preset>-<model>-seed<N>)")
	fs.StringVar(&spec.NewFacts, "facts", "generated", "the new facts: tsv:PATH, or generated (the continual experiment's set B, with --dataset continual)")
	fs.StringVar(&spec.Mode, "mode", train.FinetuneSparse, "what trains: full, lora, memory or sparse")
	fs.StringVar(&spec.Optimizer, "optimizer", "", "adamw or sgd (default: sgd for memory and sparse, adamw for full and lora)")
	fs.Float64Var(&spec.LR, "lr", 0, "learning rate, constant (0: the mode's default, lab.DefaultFinetuneLR)")
	fs.IntVar(&spec.Steps, "steps", 50, "finetuning steps (batches of the new facts)")
	fs.IntVar(&spec.EvalEvery, "eval-every", 10, "evaluate every so many steps (and at the start and the end)")
	fs.IntVar(&spec.TopSlots, "top-slots", 0, "sparse: slots updated per batch, t (0: 500)")
	fs.IntVar(&spec.BackgroundBatch, "background-batch", 0, "sparse: pretraining windows per background batch of the TF-IDF (0: 1)")
	fs.IntVar(&spec.LoRARank, "lora-rank", 0, "lora: the adapters' rank (0: 8)")
	fs.IntVar(&spec.OldQA, "old-qa", 200, "questions of the old facts decoded per evaluation (0: all)")
	fs.BoolVar(&spec.AllowOverlap, "allow-overlap", false, "finetune even when new facts share subjects with the old ones")
	out := fs.String("out", "", "results file (default results/finetune/<preset>-<model>-<mode>-lr<lr>-seed<N>.json)")
	overwrite := fs.Bool("overwrite", false, "replace an existing results file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	pre.Model = lm.Kind(*model)
	if pre.Dataset == lab.ContinualDataset {
		// The continual experiment's model at this preset, with the sizes given here on top.
		base, err := lab.ContinualBaseSpec(pre.Preset, pre.Model, pre.Seed)
		if err != nil {
			return usagef("%v", err)
		}
		base.People, base.KNN = pre.People, pre.KNN
		if pre.NKeys > 0 {
			base.NKeys = pre.NKeys
		}
		*pre = base
	}
	path, err := memoryPath(*memPath, *backendFlag)
	if err != nil {
		return err
	}
	pre.MemoryPath = path
	if spec.LR == 0 {
		spec.LR = lab.DefaultFinetuneLR(spec.Mode)
	}
	if spec.Mode == train.FinetuneSparse && spec.TopSlots == 0 {
		spec.TopSlots = 500
	}
	if spec.Mode == train.FinetuneSparse && spec.BackgroundBatch == 0 {
		spec.BackgroundBatch = 1
	}
	if spec.LoRARank == 0 && spec.Mode == train.FinetuneLoRA {
		spec.LoRARank = 8
	}
	spec.CheckpointDir = *ckpt
	switch {
	case spec.CheckpointDir != "":
	case pre.Dataset == lab.ContinualDataset:
		spec.CheckpointDir = lab.ContinualCheckpointDir("checkpoints", pre.Preset, pre.Model, pre.Seed)
	default:
		spec.CheckpointDir = filepath.Join("checkpoints", fmt.Sprintf("%s-%s-seed%d", pre.Preset, pre.Label(), pre.Seed))
	}
	fp, err := lab.PlanFinetune(spec)
	if err != nil {
		return usagef("%v", err)
	}
	if fp.Overlap > 0 {
		fmt.Fprintf(stdout, "warning: %d of the new facts' subjects are subjects of the old facts too (--allow-overlap)\n", fp.Overlap)
	}
	if *out == "" {
		name := strings.NewReplacer("/", "-", " ", "-", "=", "", "+", "plus").Replace(fp.Spec.Label())
		*out = filepath.Join("results", "finetune", fmt.Sprintf("%s-%s-seed%d.json", pre.Preset, name, pre.Seed))
	}
	if !*overwrite {
		if _, err := os.Stat(*out); err == nil {
			return usagef("%s already exists; pass --overwrite or choose another --out", *out)
		}
	}
	b, err := backend.New(*backendFlag)
	if err != nil {
		return usagef("%v", err)
	}
	run, err := lab.Finetune(ctx, b, fp, lab.Options{Progress: stdout})
	if err != nil {
		if errors.Is(err, train.ErrInterrupted) || errors.Is(err, context.Canceled) {
			return interrupted{err}
		}
		return err
	}
	if err := results.Write(*out, run, *overwrite); err != nil {
		return err
	}
	m := run.Final
	fmt.Fprintf(stdout, "%s: learned %s of the new facts; recall of the old %s → %s (forgot %.1f%%); text NLL %s → %s; %.3f s/step\n",
		run.Name, percent(m, "new_em"), percent(m, "old_em_start"), percent(m, "old_em"), m["forgetting_pct"],
		nats(m, "val_nll_start"), nats(m, "val_nll"), m["seconds_per_step"])
	fmt.Fprintf(stdout, "results written to %s\n", *out)
	return nil
}
