// Package data builds the text that the memory-layer experiments train and evaluate on: tokenizers,
// synthetic biographies (knowledge extraction, after Allen-Zhu & Li's bioS), real facts taken from Go
// modules, user facts from TSV files, and deterministic batching that can resume mid-epoch.
//
// Everything here is plain Go with no GoMLX dependency, so it can be tested quickly and reused by the
// command line tool and the notebooks alike. Every generator is a pure function of its configuration and
// seed: the same inputs give byte-identical outputs on every machine and Go version, because the package
// uses its own small random number generator instead of math/rand.
package data
