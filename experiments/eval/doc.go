// Package eval scores a model's answers against gold answers with the SQuAD metrics (exact match and
// token F1 after normalisation) and averages them together with the answer negative log-likelihood that
// the model computes. It is plain Go, so metrics are tested by hand-checked cases and shared by the
// command line tool and the notebooks.
package eval
