package lm

import (
	"fmt"
	"math"
	"strings"

	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
)

// LoRAConfig adds low-rank adapters (Hu et al. 2021, "LoRA") to a model's
// attention projections (wq, wk, wv, wo) and SwiGLU weights (w1, w2, w3): a
// weight W [in, out] is used as W + (Alpha/Rank)·A·B, with A [in, Rank] drawn
// N(0, 1/√in) and B [Rank, out] zero, so that a model given adapters computes
// exactly what it computed before until B is trained. To finetune with
// adapters, train only the variables IsLoRAVariable names. MoE experts, the
// memory layers, the embedding and the output head get none.
type LoRAConfig struct {
	// Rank is the adapters' inner dimension; 0 means no adapters.
	Rank int `json:"rank"`
	// Alpha scales the adapters' product by Alpha/Rank; 0 means Rank (a scale of 1).
	Alpha float64 `json:"alpha,omitempty"`
}

// LoRA variable names: weight "wq" gets "wq_lora_a" and "wq_lora_b".
const (
	loraA = "_lora_a"
	loraB = "_lora_b"
)

// IsLoRAVariable reports whether a variable name (or path) is a LoRA adapter's.
func IsLoRAVariable(name string) bool {
	return strings.HasSuffix(name, loraA) || strings.HasSuffix(name, loraB)
}

// validate reports the config's errors for a model of width dim.
func (c LoRAConfig) validate(dim int) []string {
	var errs []string
	if c.Rank < 0 || (dim > 0 && c.Rank > dim) {
		errs = append(errs, fmt.Sprintf("lm: lora.rank=%d: must be in 0..dim (%d); 0 means no adapters", c.Rank, dim))
	}
	if c.Alpha < 0 || math.IsNaN(c.Alpha) || math.IsInf(c.Alpha, 0) {
		errs = append(errs, fmt.Sprintf("lm: lora.alpha=%v: must be a finite number >= 0 (0 means rank)", c.Alpha))
	}
	return errs
}

// scale is Alpha/Rank.
func (c LoRAConfig) scale() float64 {
	if c.Alpha == 0 {
		return 1
	}
	return c.Alpha / float64(c.Rank)
}

// params is the number of adapter parameters of one [in, out] weight.
func (c LoRAConfig) params(in, out int64) int64 { return int64(c.Rank) * (in + out) }

// adaptedWeight is the [in, out] weight name under scope, initialised
// N(0, std), plus its adapters when lora.Rank > 0.
func adaptedWeight(scope *model.Scope, g *Graph, lora LoRAConfig, name string, std float64, in, out int) *Node {
	w := normalVar(scope, name, std, in, out).NodeValue(g)
	if lora.Rank == 0 {
		return w
	}
	a := normalVar(scope, name+loraA, 1/math.Sqrt(float64(in)), in, lora.Rank).NodeValue(g)
	b := scope.WithInitializer(initializer.Zero).VariableWithShape(name+loraB, shapes.Make(dtypes.Float32, lora.Rank, out)).NodeValue(g)
	return Add(w, MulScalar(Dot(a, b).Product(), lora.scale()))
}
