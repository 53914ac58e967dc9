package memlayer

import (
	"fmt"

	"github.com/gomlx/compute/distributed"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/support/exceptions"
)

// Memory-parallel sharding (paper §3.2): the value table is split along its
// embedding (column) dimension over the devices of one mesh axis. Every device
// runs the embedding bag for ALL indices on its slice of columns, and the
// slices of the output are gathered. Because the bag is linear in each column,
// this gives exactly the unsharded result — ColumnSplitEmbeddingBag states the
// math on one device, ShardValues asks XLA (Shardy) to do it across devices.
//
// Sharding needs a backend with collectives (XLA: xla:cuda, xla:cpu); the
// pure-Go backend runs on one device only.

// ColumnSplitEmbeddingBag computes EmbeddingBag shard by shard over `shards`
// equal column slices of table and concatenates the partial outputs: the
// computation each device of a memory-parallel group performs. It equals
// EmbeddingBag(table, indices, weights).
func ColumnSplitEmbeddingBag(table, indices, weights *Node, shards int) *Node {
	d := table.Shape().Dimensions[1]
	if shards < 1 || d%shards != 0 {
		exceptions.Panicf("memlayer.ColumnSplitEmbeddingBag: v_dim=%d must be divisible by shards=%d", d, shards)
	}
	width := d / shards
	parts := make([]*Node, shards)
	for s := range shards {
		slice := Slice(table, AxisRange(), AxisRange(s*width, (s+1)*width))
		parts[s] = EmbeddingBag(slice, indices, weights)
	}
	return Concatenate(parts, -1)
}

// ValuesShardingSpec is the sharding of a [rows, v_dim] value table split by
// columns over meshAxis: rows replicated, columns sharded.
func ValuesShardingSpec(mesh *distributed.DeviceMesh, meshAxis string) (*distributed.ShardingSpec, error) {
	return distributed.NewShardingSpec(mesh, distributed.ReplicatedAxis, distributed.AxisSpec{meshAxis})
}

// ShardValues marks every memory value table in store (see IsValueVariable)
// to be split by columns over meshAxis. Call it after the variables exist
// (e.g. after one initialising call) and run the model with an Exec set to
// AutoSharding(mesh); queries, keys and the rest stay replicated. It returns
// how many tables were marked, and an error if a table's v_dim does not
// divide evenly over the mesh axis.
func ShardValues(store *model.Store, mesh *distributed.DeviceMesh, meshAxis string) (int, error) {
	spec, err := ValuesShardingSpec(mesh, meshAxis)
	if err != nil {
		return 0, err
	}
	size, err := mesh.AxisSize(meshAxis)
	if err != nil {
		return 0, err
	}
	n := 0
	for v := range store.IterVariables() {
		if !IsValueVariable(v) {
			continue
		}
		if cols := v.Shape().Dimensions[1]; cols%size != 0 {
			return n, fmt.Errorf("memlayer: value table %s has v_dim=%d, not divisible by the %d devices of mesh axis %q",
				v.Path(), cols, size, meshAxis)
		}
		if err := v.SetShardingSpec(spec); err != nil {
			return n, fmt.Errorf("memlayer: sharding %s: %w", v.Path(), err)
		}
		n++
	}
	return n, nil
}
