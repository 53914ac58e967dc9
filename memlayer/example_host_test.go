package memlayer_test

import (
	"fmt"

	"github.com/gomlx/compute/gobackend"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/memlayer"
)

// A training step of a memory layer whose 4096-row value table lives in host
// memory: the step reads and updates only the rows its 8 tokens looked up.
func ExampleHostLayer() {
	backend := gobackend.GetBackend()
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, int64(1))
	cfg := memlayer.Config{Heads: 2, KNN: 4, NKeys: 64, KDim: 16, QueryBias: true}
	layer, err := memlayer.NewHostLayer(backend, store, "/memory", cfg, 8, nil)
	if err != nil {
		panic(err)
	}
	x := tensors.FromFlatDataAndDimensions(make([]float32, 8*8), 8, 8) // 8 tokens of dim 8
	out, err := layer.Forward(x)
	if err != nil {
		panic(err)
	}
	dy := tensors.FromFlatDataAndDimensions(make([]float32, 8*8), 8, 8)
	grads, err := layer.Backward(dy)
	if err != nil {
		panic(err)
	}
	sgd := func() memlayer.ValueOptimizer { return &memlayer.SparseSGD{LR: 0.01} }
	if err := layer.Update(grads, 1, memlayer.NewHostAdam(memlayer.DefaultAdam(), 1e-3), sgd); err != nil {
		panic(err)
	}
	fmt.Println("output", out.Shape().Dimensions)
	fmt.Println("table rows", layer.Values.Rows, "rows with gradient <=", 8*cfg.Heads*cfg.KNN, ":", len(grads.Values.Rows) <= 8*cfg.Heads*cfg.KNN)
	// Output:
	// output [8 8]
	// table rows 4096 rows with gradient <= 64 : true
}
