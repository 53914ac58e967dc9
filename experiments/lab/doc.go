// Package lab turns a named experiment — a preset (model and data size), a
// model kind, a dataset and a seed — into a trained, evaluated and recorded
// run. It is the one place where the paper's comparisons are assembled from
// the data, lm and train packages; the memlab CLI and the notebooks only call
// it.
package lab
