package lm

import (
	"fmt"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/memlayer"
)

// SplitModel is the model cut at its memory layers, for training on the host
// path: graph pieces that a trainer compiles, with each memory layer's
// lookup, bag and value update on the host between two pieces
// (memlayer.HostBag). Memory layer m (of len(Memories)) sits between
// Pieces[m] and Pieces[m+1]:
//
//	Pieces[0]   inputs  tokens [B, T] int32
//	Pieces[m>0] inputs  h [B, T, Dim] (the residual stream before memory m-1's output is added)
//	                    and bag [B·T, v_dim] (memory m-1's bag)
//	Pieces[m<k] outputs h, then memory m's scores, query halves and sub-keys (memlayer.HostScores),
//	                    and for PEER its input x [B·T, Dim] (memlayer.HostPEER reads it)
//	Pieces[k]   outputs logits [B, T, Vocab]
//
// A memory layer's query projection and keys are in the piece before it, its
// output stage (memlayer.OutputStage) in the piece after it. The pieces
// build their variables under the scope they are given (the store's root
// scope), with the same names and initialisers as Forward, and nothing else:
// the value tables are the host's.
type SplitModel struct {
	Pieces   []Piece
	Memories []SplitMemory
}

// Piece builds one graph piece of a SplitModel.
type Piece func(scope *model.Scope, inputs []*Node) []*Node

// SplitMemory is one memory layer of a SplitModel.
type SplitMemory struct {
	// Layer is the decoder layer whose feed-forward block it replaces.
	Layer  int
	Config memlayer.Config
	// Table is the path of the value table it reads, as Forward names the
	// variable ("/layer_02/memory/values"; Memory+ layers share
	// "/memory_values/values").
	Table string
	// UpTable is PEER's table of expert input rows ("…/peer_up"); empty for
	// product-key memory.
	UpTable string
}

// Split cuts the model at its memory layers (see SplitModel). Models without
// memory layers have no host path: it returns an error saying so.
func (c Config) Split() (*SplitModel, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	switch {
	case !c.Model.IsMemory():
		return nil, fmt.Errorf("lm: model=%s has no memory layers to run on the host path; use memory_path=graph", c.Model)
	}
	memCfg := c.LayerMemoryConfig()
	if c.Model == KindMemoryPlus && memCfg.ValuesScope == "" {
		memCfg.ValuesScope = model.JoinPath(model.RootScopePath, DefaultValuesScope)
	}
	if memCfg.InputDropout > 0 || memCfg.QueryDropout > 0 || memCfg.ValueDropout > 0 {
		return nil, fmt.Errorf("lm: memory dropout (input %g, query %g, value %g): the host path has none; use memory_path=graph",
			memCfg.InputDropout, memCfg.QueryDropout, memCfg.ValueDropout)
	}
	placed := c.Placement()
	s := &SplitModel{}
	for _, layer := range placed {
		table := model.JoinPath(model.JoinPath(model.RootScopePath, LayerScope(layer)), ScopeMemory)
		if memCfg.ValuesScope != "" {
			table = memCfg.ValuesScope
		}
		mem := SplitMemory{Layer: layer, Config: memCfg, Table: model.JoinPath(table, memlayer.VarValues)}
		if memCfg.PEER {
			mem.UpTable = model.JoinPath(table, memlayer.VarPEERUp)
		}
		s.Memories = append(s.Memories, mem)
	}
	for m := range len(placed) + 1 {
		s.Pieces = append(s.Pieces, c.piece(placed, m, memCfg))
	}
	return s, nil
}

// piece returns Pieces[m] of the split at placed.
func (c Config) piece(placed []int, m int, memCfg memlayer.Config) Piece {
	return func(scope *model.Scope, inputs []*Node) []*Node {
		first := 0
		var d *decoder
		if m == 0 {
			tokens := inputs[0]
			d = newDecoder(scope, c, tokens.Graph(), tokens.Shape().Dimensions[0], tokens.Shape().Dimensions[1])
			d.embed(tokens)
		} else {
			h, bag := inputs[0], inputs[1]
			d = newDecoder(scope, c, h.Graph(), h.Shape().Dimensions[0], h.Shape().Dimensions[1])
			d.memCfg = memCfg
			d.h = h
			prev := placed[m-1]
			x := d.ffnInput(prev)
			y := memlayer.OutputStage(d.memoryScope(prev), Reshape(x, d.b*d.t, c.Dim), bag, memCfg)
			d.h = Add(h, Reshape(y, d.b, d.t, c.Dim))
			first = prev + 1
		}
		if m == len(placed) {
			for i := first; i < c.Layers; i++ {
				d.attention(i)
				d.feedForward(i)
			}
			return []*Node{d.head()}
		}
		next := placed[m]
		for i := first; i < next; i++ {
			d.attention(i)
			d.feedForward(i)
		}
		d.attention(next)
		x := d.ffnInput(next)
		scores, halves, keys := memlayer.HostScores(d.memoryScope(next), x, memCfg)
		if memCfg.PEER {
			return []*Node{d.h, scores, halves, keys, Reshape(x, d.b*d.t, c.Dim)}
		}
		return []*Node{d.h, scores, halves, keys}
	}
}
