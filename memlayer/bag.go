package memlayer

import (
	. "github.com/gomlx/gomlx/core/graph"
)

// EmbeddingBag returns out[t] = Σ_j weights[t, j] · table[indices[t, j]].
//
// table is [Rows, D]; indices (int32) and weights are [T, B]; out is [T, D].
// Only the B selected rows of each token are read: this is what keeps a
// memory layer's compute independent of the table size.
func EmbeddingBag(table, indices, weights *Node) *Node {
	rows := Gather(table, InsertAxes(indices, -1)) // [T, B, D]
	// Batched [1, B]·[B, D] per token.
	return Einsum("tb,tbd->td", weights, rows)
}
