package bench

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/memlayers/memlayers/memlayer"
)

// Config sizes every measurement. The layer sizes follow the paper's small probe (model dim 256, 4 heads,
// k_dim 256, knn 32, v_dim 256) on 2048 tokens; QuickConfig shrinks them to a CI-sized run.
type Config struct {
	Dim    int `json:"dim"`
	Heads  int `json:"heads"`
	KDim   int `json:"k_dim"`
	KNN    int `json:"knn"`
	VDim   int `json:"v_dim"`
	Tokens int `json:"tokens"`
	// FFNHidden is the hidden width of the SwiGLU reference; 0 means 4·Dim.
	FFNHidden int `json:"ffn_hidden"`

	// NKeys are the memory sizes (n_keys² values each) of the layer-throughput sweep.
	NKeys []int `json:"n_keys"`
	// BagNKeys sizes the embedding-bag table: BagNKeys² rows of VDim floats.
	BagNKeys int `json:"bag_n_keys"`
	// TrainNKeys are the memory sizes of the training-step measurement; the first and the last are compared.
	TrainNKeys []int `json:"train_n_keys"`
	// Optimizers of the training step: "sgd" and/or "adam", each updating every variable, value table included.
	Optimizers []string `json:"optimizers"`
	// Paths are the memory layer's executions measured side by side: "graph" (memlayer.Layer, the value table
	// a GoMLX variable read with Gather) and/or "host" (memlayer.HostLayer, the table in host memory read and
	// updated row by row). Reports written before the host path existed have none: graph only.
	Paths []string `json:"paths,omitempty"`

	Warmup  int   `json:"warmup"`
	Repeats int   `json:"repeats"`
	Seed    int64 `json:"seed"`

	// Progress, when set, receives one line per measurement as it finishes.
	Progress io.Writer `json:"-"`
}

// DefaultConfig is the full benchmark.
func DefaultConfig() Config {
	return Config{
		Dim: 256, Heads: 4, KDim: 256, KNN: 32, VDim: 256, Tokens: 2048,
		NKeys:      []int{128, 256, 512, 1024},
		BagNKeys:   256,
		TrainNKeys: []int{256, 1024},
		Optimizers: []string{"sgd", "adam"},
		Paths:      []string{PathGraph, PathHost},
		Warmup:     1, Repeats: 5, Seed: 1,
	}
}

// QuickConfig runs every measurement on tiny sizes in seconds: for CI and for checking a new backend
// works, not for numbers.
func QuickConfig() Config {
	return Config{
		Dim: 64, Heads: 2, KDim: 64, KNN: 8, VDim: 64, Tokens: 128,
		NKeys:      []int{16, 32},
		BagNKeys:   32,
		TrainNKeys: []int{16, 64},
		Optimizers: []string{"sgd", "adam"},
		Paths:      []string{PathGraph, PathHost},
		Warmup:     1, Repeats: 2, Seed: 1,
	}
}

// The memory layer's execution paths (Config.Paths).
const (
	PathGraph = "graph"
	PathHost  = "host"
)

var pathNames = []string{PathGraph, PathHost}

// runs reports whether path is among c.Paths.
func (c Config) runs(path string) bool { return slices.Contains(c.Paths, path) }

// ffnHidden resolves FFNHidden.
func (c Config) ffnHidden() int {
	if c.FFNHidden > 0 {
		return c.FFNHidden
	}
	return 4 * c.Dim
}

// layerConfig is the memory layer measured at nKeys.
func (c Config) layerConfig(nKeys int) memlayer.Config {
	return memlayer.Config{Heads: c.Heads, KNN: c.KNN, NKeys: nKeys, KDim: c.KDim, VDim: c.VDim, QueryBias: true}
}

// bagSize is the number of rows each token reads: Heads·KNN.
func (c Config) bagSize() int { return c.Heads * c.KNN }

// Validate reports every bad field in one error, each naming the field, its value and the rule.
func (c Config) Validate() error {
	var errs []string
	bad := func(field string, value any, rule string) {
		errs = append(errs, fmt.Sprintf("%s=%v: %s", field, value, rule))
	}
	for _, f := range []struct {
		name string
		v    int
	}{{"dim", c.Dim}, {"heads", c.Heads}, {"tokens", c.Tokens}, {"repeats", c.Repeats}} {
		if f.v < 1 {
			bad(f.name, f.v, "must be >= 1")
		}
	}
	if c.Warmup < 0 {
		bad("warmup", c.Warmup, "must be >= 0")
	}
	if c.FFNHidden < 0 {
		bad("ffn_hidden", c.FFNHidden, "must be >= 0 (0 means 4·dim)")
	}
	checkLayer := func(field string, nKeys int) {
		if err := c.layerConfig(nKeys).Validate(); err != nil {
			bad(field, nKeys, err.Error())
		}
	}
	if len(c.NKeys) == 0 {
		bad("n_keys", c.NKeys, "list at least one memory size")
	}
	for _, n := range c.NKeys {
		checkLayer("n_keys", n)
	}
	checkLayer("bag_n_keys", c.BagNKeys)
	if len(c.TrainNKeys) == 0 {
		bad("train_n_keys", c.TrainNKeys, "list at least one memory size")
	}
	for _, n := range c.TrainNKeys {
		checkLayer("train_n_keys", n)
	}
	if len(c.Optimizers) == 0 {
		bad("optimizers", c.Optimizers, `list "sgd" and/or "adam"`)
	}
	for _, o := range c.Optimizers {
		if !slices.Contains(optimizerNames, o) {
			bad("optimizers", o, `unknown optimizer; use "sgd" or "adam"`)
		}
	}
	if len(c.Paths) == 0 {
		bad("paths", c.Paths, `list "graph" and/or "host"`)
	}
	for _, p := range c.Paths {
		if !slices.Contains(pathNames, p) {
			bad("paths", p, `unknown path; use "graph" (values a GoMLX variable) or "host" (values in host memory)`)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("bench: %s", strings.Join(errs, "; "))
}

// progressf writes one progress line when a Progress writer is set.
func (c Config) progressf(format string, args ...any) {
	if c.Progress != nil {
		fmt.Fprintf(c.Progress, format+"\n", args...)
	}
}
