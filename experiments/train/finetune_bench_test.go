package train

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/memlayer"
)

// BenchmarkFinetuneStep times one finetuning step per mode of the continual experiment's small memory
// model (dim 64, 2 layers, a 256² memory of 4 heads × 16 slots, batches of 16 × 64 tokens), on the host
// path:
//
//	go test ./experiments/train -run XXX -bench FinetuneStep -benchtime 20x
//
// "memory/all-gradients" is the memory mode's update computed the way a step without the value-only
// shortcut would: every gradient (the first piece's VJP, the first memory layer's query and key
// gradients, an SGD step of rate 0 on the graph variables) with only the value rows moving. Its difference to
// "memory" is what the shortcut saves. Reported: s/step (after two warm-up steps that compile the
// graphs) and rows/step (value rows updated).
func BenchmarkFinetuneStep(b *testing.B) {
	mc := lm.Config{Vocab: data.NumBytesAndSpecials, Dim: 64, Layers: 2, Heads: 4, SeqLen: 64, TiedEmbeddings: true,
		Model: lm.KindMemory, Memory: memlayer.Config{Heads: 4, KNN: 16, NKeys: 256, KDim: 128, QueryBias: true}}
	text := &data.Dataset{Name: "random", Documents: []string{randomText(40000)}}
	background := data.PackDocuments(data.ByteTokenizer{}, text.Documents, 64)
	dir := filepath.Join(b.TempDir(), "pretrained")
	pre := lmTrainerOnB(b, mc, benchConfig(FinetuneFull, OptimizerAdamW, 1, 1e-3), text)
	if _, err := pre.Run(context.Background(), Options{CheckpointDir: dir, NoBuiltinEval: true}); err != nil {
		b.Fatal(err)
	}
	for _, tc := range []struct {
		name, mode, optimizer string
		lr                    float64
	}{
		{"full", FinetuneFull, OptimizerAdamW, 1e-3},
		{"lora", FinetuneLoRA, OptimizerAdamW, 1e-3},
		{"memory", FinetuneMemory, OptimizerSGD, 10},
		{"memory/all-gradients", FinetuneFull, OptimizerSGD, 0},
		{"sparse", FinetuneSparse, OptimizerSGD, 10},
	} {
		b.Run(tc.name, func(b *testing.B) {
			const warmup = 2
			cfg := benchConfig(tc.mode, tc.optimizer, warmup+b.N, tc.lr)
			model := mc
			if tc.mode == FinetuneLoRA {
				model.LoRA = lm.LoRAConfig{Rank: 8}
			}
			if tc.mode == FinetuneSparse {
				cfg.TopSlots = 200
			}
			if tc.lr == 0 {
				cfg.ValueLR = 10 // only the value rows move, as in the memory mode
			}
			var start time.Time
			tr := lmTrainerOnB(b, model, cfg, text)
			sum, err := tr.Run(context.Background(), Options{InitFrom: dir, BackgroundWindows: background, BackgroundBatch: 1,
				NoBuiltinEval: true, OnStep: func(s StepInfo) {
					if s.Step == warmup {
						start = time.Now()
					}
				}})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(start).Seconds()/float64(b.N), "s/step")
			b.ReportMetric(sum.Final["value_rows_per_step"], "rows/step")
		})
	}
}

// benchConfig is a constant-rate finetuning of steps batches of 16 × 64 tokens, evaluated only at the end.
func benchConfig(mode, optimizer string, steps int, lr float64) Config {
	cfg := DefaultConfig()
	cfg.Steps, cfg.BatchSize, cfg.SeqLen, cfg.WarmupSteps, cfg.MinLRFraction = steps, 16, 64, 0, 1
	cfg.LR, cfg.ValueLR, cfg.WeightDecay, cfg.EvalEvery, cfg.CheckpointEvery = lr, lr, 0, 0, 0
	cfg.MemoryPath, cfg.Finetune, cfg.Optimizer = PathHost, mode, optimizer
	return cfg
}

// lmTrainerOnB is lmTrainerOn for benchmarks.
func lmTrainerOnB(b *testing.B, mc lm.Config, cfg Config, ds *data.Dataset) *Trainer {
	b.Helper()
	split, err := mc.Split()
	if err != nil {
		b.Fatal(err)
	}
	tr, err := NewSplit(testBackend(b), lmModelFn(mc), split, cfg, data.ByteTokenizer{}, ds)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// randomText is n bytes of lowercase words, so that memory lookups spread over the table.
func randomText(n int) string {
	rng := rand.New(rand.NewPCG(1, 2))
	var sb strings.Builder
	for sb.Len() < n {
		for range 2 + rng.IntN(6) {
			sb.WriteByte(byte('a' + rng.IntN(26)))
		}
		sb.WriteByte(' ')
	}
	return sb.String()
}
