package memlayer_test

import (
	"fmt"
	"strings"

	"github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/memlayer"
)

// A memory layer in place of a feed-forward block, inside a GoMLX graph: 2
// sequences of 3 tokens of width 16 go in and come out with the same shape.
// The layer's variables: the query projection (2 heads × k_dim 16), the two
// sub-key tables of each head (64 keys of k_dim/2 each) and the value table,
// 64² = 4096 rows of which each token reads 2 heads × 4. The trainer finds the
// table with IsValueVariable to give it its own learning rate.
func ExampleLayer() {
	cfg := memlayer.Config{Heads: 2, KNN: 4, NKeys: 64, KDim: 16, QueryBias: true}
	if err := cfg.Validate(); err != nil {
		panic(err) // One line naming the field, its value and the rule.
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	exec := model.MustNewExec(gobackend.GetBackend(), store, func(scope *model.Scope, x *Node) *Node {
		return memlayer.Layer(scope.In("memory"), x, cfg) // x: [batch, seq, dim]
	})
	x := tensors.FromFlatDataAndDimensions(make([]float32, 2*3*16), 2, 3, 16)
	out, err := exec.Exec(x)
	if err != nil {
		panic(err)
	}
	fmt.Println("output", out[0].Shape().Dimensions)
	for v := range store.IterVariables() {
		if strings.HasPrefix(v.Path(), "/memory/") {
			fmt.Println(v.Path(), v.Shape().Dimensions, "value table:", memlayer.IsValueVariable(v))
		}
	}
	// Output:
	// output [2 3 16]
	// /memory/query [16 32] value table: false
	// /memory/query_bias [32] value table: false
	// /memory/keys [2 2 64 8] value table: false
	// /memory/values [4096 16] value table: true
}
