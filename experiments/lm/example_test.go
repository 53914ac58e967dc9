package lm_test

import (
	"fmt"

	"github.com/gomlx/compute"
	_ "github.com/gomlx/compute/gobackend"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/memlayer"
)

// Build a dense base, derive its Memory+ variant and a dense baseline with
// twice Memory+'s compute, count them, and run Memory+ once.
func Example() {
	base := lm.Config{Vocab: 32, Dim: 16, Layers: 4, Heads: 2, SeqLen: 8, Model: lm.KindDense}
	mem := memlayer.Config{Heads: 2, KNN: 4, NKeys: 16, KDim: 8, QueryBias: true}
	memPlus, err := lm.Variant(base, lm.KindMemoryPlus, mem)
	if err != nil {
		panic(err)
	}
	dense2x, err := lm.DenseScaled(memPlus, 2, "width")
	if err != nil {
		panic(err)
	}
	for _, c := range []lm.Config{base, memPlus, dense2x} {
		a := lm.Count(c)
		fmt.Printf("%-7s dim %2d layers %v: %6d params (%5d memory values), %6d FLOPs/token\n",
			c.Model, c.Dim, c.Placement(), a.TotalParams, a.MemoryValueParams, a.FLOPsPerToken)
	}
	fmt.Printf("dense baseline: %.2f× the FLOPs of memory+\n", lm.FLOPsRatio(dense2x, memPlus))

	backend, err := compute.NewWithConfig("go:ops_sequential")
	if err != nil {
		panic(err)
	}
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(42))
	exec := model.MustNewExec(backend, store, func(scope *model.Scope, tokens *Node) (*Node, *Node) {
		return lm.Forward(scope, memPlus, tokens)
	})
	out := exec.MustExec([][]int32{{1, 2, 3, 4, 5, 6, 7, 8}})
	fmt.Println("logits:", out[0].Shape(), "aux:", out[1].Value())
	fmt.Println("store holds the counted parameters:", store.NumParameters()-rngStateSize(store) == int(lm.Count(memPlus).TotalParams))
	// Output:
	// dense   dim 16 layers []:  14480 params (    0 memory values),  29696 FLOPs/token
	// memory+ dim 16 layers [1 2 3]:  14784 params ( 4096 memory values),  22784 FLOPs/token
	// dense   dim 20 layers []:  21300 params (    0 memory values),  43520 FLOPs/token
	// dense baseline: 1.91× the FLOPs of memory+
	// logits: (Float32)[1, 8, 32] aux: 0
	// store holds the counted parameters: true
}

// rngStateSize is the size of the store's random-number state variable,
// which is not a model parameter.
func rngStateSize(store *model.Store) int {
	if v := store.GetVariable("/" + model.RNGStateVariableName); v != nil {
		return v.Shape().Size()
	}
	return 0
}
