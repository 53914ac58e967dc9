package memlayer

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gomlx/compute/distributed"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// The memory-parallel split is exact: the bag of each column slice,
// concatenated, is the bag of the whole table, for every shard count that
// divides v_dim.
func TestColumnSplitEmbeddingBagEqualsUnsharded(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	const rows, dim, tokens, bag = 50, 24, 7, 6
	table := tensors.FromFlatDataAndDimensions(randomSlice(rng, rows*dim, 1), rows, dim)
	idx := make([]int32, tokens*bag)
	for i := range idx {
		idx[i] = int32(rng.IntN(rows))
	}
	indices := tensors.FromFlatDataAndDimensions(idx, tokens, bag)
	weights := tensors.FromFlatDataAndDimensions(randomSlice(rng, tokens*bag, 1), tokens, bag)
	for _, shards := range []int{1, 2, 3, 4, 8, 24} {
		out, err := MustNewExec(testBackend(t), func(in []*Node) []*Node {
			return []*Node{EmbeddingBag(in[0], in[1], in[2]), ColumnSplitEmbeddingBag(in[0], in[1], in[2], shards)}
		}).Exec(table, indices, weights)
		if err != nil {
			t.Fatal(err)
		}
		if d := maxAbsDiff(t, out[0], out[1]); d > 1e-12 {
			t.Fatalf("%d shards: split bag differs from the unsharded bag by %g", shards, d)
		}
	}
}

func TestShardValuesMarksOnlyValueTables(t *testing.T) {
	store := newStore(1)
	cfg := Config{Heads: 2, KNN: 2, NKeys: 4, KDim: 4, VDim: 6}
	x := tensors.FromFlatDataAndDimensions(randomSlice(rand.New(rand.NewPCG(1, 1)), 3*8, 1), 3, 8)
	fetch(t, store, x, func(scope *model.Scope, x *Node) []*Node { return []*Node{Layer(scope.In("mem"), x, cfg)} })
	mesh, err := distributed.NewDeviceMesh([]int{2}, []string{"memory"})
	if err != nil {
		t.Fatal(err)
	}
	n, err := ShardValues(store, mesh, "memory")
	if err != nil || n != 1 {
		t.Fatalf("ShardValues: %d tables, err %v", n, err)
	}
	for v := range store.IterVariables() {
		spec := v.ShardingSpec()
		if IsValueVariable(v) != (spec != nil && !spec.IsReplicated()) {
			t.Errorf("%s: sharding %v", v.Path(), spec)
		}
	}
	mesh4, _ := distributed.NewDeviceMesh([]int{4}, []string{"memory"})
	if _, err := ShardValues(store, mesh4, "memory"); err == nil || !strings.Contains(err.Error(), "v_dim=6") {
		t.Fatalf("v_dim 6 over 4 devices should fail clearly, got %v", err)
	}
}
