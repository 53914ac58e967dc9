// Package bench measures how fast the memory layer runs on a compute backend, side by side with the
// references that tell whether a number is good: a plain copy of the same bytes (for the embedding bag, whose
// cost is reading rows), a SwiGLU feed-forward block of the same width (what a memory layer replaces), the
// same layer at a 16× larger table (the paper's claim that compute does not grow with memory size), and our
// own small PyTorch implementation of the layer (scripts/torch_memory_layer.py).
//
// Every measurement is the minimum (and the median) over a few repeats after a warm-up call that compiles the
// graph and initialises variables; comparisons are always between numbers taken in the same run, because on
// a shared machine only ratios measured together mean something. Results are plain JSON-tagged structs that
// `memlab bench` writes under results/bench with provenance, and draws under plots/.
package bench
