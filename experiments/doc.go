// Package experiments holds no code: its subpackages are the harness that
// reproduces the paper's experiments with the memlayer library. They are
// layered, each importing only packages to its left (layering_test.go
// checks it):
//
//	memlayer ──► lm ──┐
//	data ─────────────┼──► train ──► lab ──► cmd/memlab, notebooks/
//	eval ─────────────┘               ▲
//	plot ─────────────────────────────┘
//
//	used throughout: results (the JSON record of a run, with its provenance)
//	                 and backend (which GoMLX backend to run; never downloads)
//
//	beside the ladder, on memlayer, plot, results and backend:
//	  recall  the toy associative-recall task (memlab demo, notebook 01)
//	  nbhelp  what the GoNB notebooks share (output folders, RERUN, recall results)
//	and beside cmd/memlab, on top of lab:
//	  bench   the layer's speed against a copy, a SwiGLU FFN and PyTorch, and the
//	          presets' models training on each memory path (memlab bench)
//
// data makes the datasets and tokenizers (plain Go, no GoMLX); lm builds the
// language models (dense, MoE, PEER, memory, Memory+), counts their
// parameters and FLOPs, and splits them at their memory layers for the host
// path; eval scores answers; train trains and evaluates a model on a dataset,
// with checkpoints; lab turns a named run or sweep
// (preset, model, dataset, seed) into trained and recorded runs, their tables
// and charts, the paper's claims and results/REPORT.md. The CLI and the
// notebooks sit on top and do most of their work through lab.
package experiments
