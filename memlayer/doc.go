// Package memlayer is a trainable product-key memory layer for GoMLX, after
// "Memory Layers at Scale" (Berges et al., 2024) and "Large Memory Layers with
// Product Keys" (Lample et al., 2019).
//
// A memory layer holds a table of NKeys² value vectors but each token reads only
// Heads·KNN of them: a query is split in two halves, each half is scored against
// NKeys sub-keys, and the top-KNN of the KNN² sums of half-scores is exactly the
// top-KNN over all NKeys² full keys. The chosen values are mixed with softmax
// weights (an "embedding bag").
//
// Use it like any GoMLX layer, as a drop-in replacement for a feed-forward block:
//
//	cfg := memlayer.DefaultConfig(256)
//	if err := cfg.Validate(); err != nil { ... }
//	y := memlayer.Layer(scope.In("memory"), x, cfg)
//
// The value table can also live in host memory (HostLayer, HostValues): the
// graph computes the sub-key scores and the query/key gradients, the host does
// the top-k, the embedding bag, a sparse gradient of the touched rows and a
// sparse optimizer step (SparseSGD, HostAdam), so a step's cost does not
// grow with the table. It computes the same numbers as Layer (tested). Layer
// is what composes inside a GoMLX model and what XLA/GPU backends should run;
// the host path is for the pure-Go backend, where row movement inside a graph
// is slow (docs/performance.md). HostBag and HostPEER are the host halves on
// their own, for a model cut at its memory layers (experiments/lm's
// SplitModel); Adam is the one optimizer rule, for graph variables and host
// rows alike.
//
// The package knows nothing about language models, datasets or files.
package memlayer
