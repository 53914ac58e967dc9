// Package lm is a tiny LLaMA-style decoder whose feed-forward blocks can be
// dense SwiGLU FFNs, a mixture of experts, PEER, or product-key memory layers
// (Memory and Memory+ of "Memory Layers at Scale", Berges et al. 2024), plus
// the accounting (parameters, active parameters, FLOPs per token) and the
// compute- or parameter-matched baselines the paper compares against.
//
// A model is a Config; Forward builds its graph and Count computes its costs
// from the config alone, so that every comparison in the experiments uses one
// definition of each baseline and one way of counting:
//
//	cfg := lm.Config{Vocab: 256, Dim: 64, Layers: 4, Heads: 4, SeqLen: 64, Model: lm.KindDense}
//	mem := memlayer.Config{Heads: 2, KNN: 8, NKeys: 32, KDim: 32, QueryBias: true}
//	memPlus, err := lm.Variant(cfg, lm.KindMemoryPlus, mem)
//	dense4x, err := lm.DenseScaled(memPlus, 4, "width")
//	logits, aux := lm.Forward(scope, memPlus, tokens)
package lm
