package memlayer

import (
	"fmt"
	"strings"
)

// Config describes one product-key memory layer (Berges et al. 2024, §3).
//
// The value table holds NKeys² rows of VDim floats; every token reads only
// Heads·KNN of them. The zero value is not valid: start from DefaultConfig or
// fill every size field, then call Validate.
type Config struct {
	// Heads is the number of independent query heads; each selects KNN slots
	// and all Heads·KNN selected rows are summed into one embedding bag.
	Heads int `json:"heads"`
	// KNN is how many slots each head keeps (k in the paper), 1..NKeys.
	KNN int `json:"knn"`
	// NKeys is the number of half-keys per sub-key table; the value table has
	// NKeys² rows (the "memory size").
	NKeys int `json:"n_keys"`
	// KDim is the full key dimension; each of the two sub-keys is KDim/2.
	KDim int `json:"k_dim"`
	// VDim is the value dimension; 0 means "the layer's output dimension".
	VDim int `json:"v_dim"`

	// QueryBias adds a bias to the query projection (the reference does).
	QueryBias bool `json:"query_bias"`
	// ValuesScope, when set, is the absolute scope path (e.g. "/memory_values")
	// of a value table shared by several layers (Memory+). Each layer keeps its
	// own query projection and keys. Empty means the layer owns its table.
	ValuesScope string `json:"values_scope,omitempty"`
	// SwiLU gates the bag with silu(W1·x) and projects with W2, Memory+'s
	// gate (the paper's "swilu"): out = W2((bag) ⊙ silu(W1 x)). It is not a
	// SwiGLU feed-forward block, whose gate multiplies a third projection.
	SwiLU bool `json:"swilu"`
	// QKNorm normalises queries and sub-keys to unit length per half before
	// scoring (Memory+ option for stability of large memories).
	QKNorm bool `json:"qk_norm"`
	// Gated multiplies the output by sigmoid(w·x), a per-token scalar gate.
	Gated bool `json:"gated"`
	// PEER switches to the PEER variant: two tables U and V of single-neuron
	// experts, out = Σ_i softmax_i · gelu(x·U_i) · V_i.
	PEER bool `json:"peer"`

	// InputDropout, QueryDropout and ValueDropout are dropout rates in [0,1)
	// applied to the layer input, the queries and the bag output, in training only.
	InputDropout float64 `json:"input_dropout"`
	QueryDropout float64 `json:"query_dropout"`
	ValueDropout float64 `json:"value_dropout"`
}

// DefaultConfig returns the reference layer's defaults (4 heads, knn 32,
// k_dim 512, v_dim = model dim) with the given number of half-keys.
func DefaultConfig(nKeys int) Config {
	return Config{Heads: 4, KNN: 32, NKeys: nKeys, KDim: 512, QueryBias: true}
}

// Rows is the number of rows of the value table: NKeys².
func (c Config) Rows() int { return c.NKeys * c.NKeys }

// ValueDim resolves VDim against the layer's output dimension.
func (c Config) ValueDim(outputDim int) int {
	if c.VDim > 0 {
		return c.VDim
	}
	return outputDim
}

// maxRows bounds the table so that i·NKeys+j fits in an int32 index.
const maxRows = 1 << 31

// Validate reports every field that breaks a rule, each naming the field,
// its value and the rule, joined in one error (nil if the config is valid).
func (c Config) Validate() error {
	var errs []string
	bad := func(field string, value any, rule string) {
		errs = append(errs, fmt.Sprintf("memlayer: %s=%v: %s", field, value, rule))
	}
	if c.Heads < 1 {
		bad("heads", c.Heads, "must be >= 1")
	}
	if c.NKeys < 1 {
		bad("n_keys", c.NKeys, "must be >= 1 (the table holds n_keys² values)")
	} else if int64(c.NKeys)*int64(c.NKeys) >= maxRows {
		bad("n_keys", c.NKeys, "n_keys² must be < 2^31 so that slot indices fit in int32")
	}
	if c.KNN < 1 || (c.NKeys >= 1 && c.KNN > c.NKeys) {
		bad("knn", c.KNN, fmt.Sprintf("must be in 1..n_keys (n_keys=%d)", c.NKeys))
	}
	if c.KDim < 2 || c.KDim%2 != 0 {
		bad("k_dim", c.KDim, "must be even and >= 2 (it is split into two sub-keys)")
	}
	if c.VDim < 0 {
		bad("v_dim", c.VDim, "must be >= 0 (0 means the output dimension)")
	}
	for _, d := range []struct {
		name string
		v    float64
	}{{"input_dropout", c.InputDropout}, {"query_dropout", c.QueryDropout}, {"value_dropout", c.ValueDropout}} {
		if d.v < 0 || d.v >= 1 {
			bad(d.name, d.v, "must be in [0, 1)")
		}
	}
	if c.ValuesScope != "" && !strings.HasPrefix(c.ValuesScope, "/") {
		bad("values_scope", c.ValuesScope, `must be an absolute scope path starting with "/"`)
	}
	if c.PEER && c.SwiLU {
		bad("swilu", c.SwiLU, "cannot be combined with peer (PEER has its own per-expert activation)")
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s", strings.Join(errs, "; "))
}
