package train

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/lm"
	"github.com/memlayers/memlayers/memlayer"
)

// hostPath runs a model on the host path (Config.MemoryPath "host"): the pieces of its lm.SplitModel are
// compiled graphs, and between two pieces a memlayer.HostBag searches, reads and (backward) differentiates
// a value table kept in host memory. A training step runs
//
//	forward:  piece 0 → bag 0 → piece 1 → … → last piece + loss and its gradients (one graph)
//	          (for PEER, the host computes its experts' output where the bag would be)
//	backward: bag k-1 → piece k-1's VJP → … → bag 0 → piece 0's VJP
//	update:   the graph variables' AdamW in one graph (given their summed gradients and the value rows'
//	          squared norm, so the global-norm clipping covers both), then each value table's HostAdam step
//	          on the rows its bags read (one step per table, however many layers share it)
//
// A piece's VJP graph recomputes its forward: GoMLX differentiates within one graph, so the activations of
// the forward call cannot be reused. Variables used by several pieces (the tied embedding, the norm before
// a memory layer) get the sum of their pieces' gradients.
type hostPath struct {
	cfg   Config
	store *model.Store
	split *lm.SplitModel

	pieces  []*model.Exec       // pieces before the last: inputs → h, scores, halves, keys
	vjps    []*model.Exec       // the same pieces: inputs, d(h, halves, keys) → d(inputs), d(variables)
	vjpVars [][]*model.Variable // the variables of each VJP's gradients, in order
	loss    *model.Exec         // the last piece and the loss: h, bag, targets, mask → ce, dh, dbag, d(variables)
	lossVar []*model.Variable
	eval    *model.Exec // the last piece and the evaluation head: h, bag, targets → nll, next
	update  *model.Exec // gradients, value-row squared norm, lr → global norm, clipping factor

	mems   []hostMemory // one per memory layer
	tables []*hostTable // the distinct tables
}

// hostTable is one table in host memory (a value table, or PEER's expert input rows) and its optimizer.
type hostTable struct {
	path   string // the variable path the graph path gives it
	values *memlayer.HostValues
	opt    *memlayer.HostAdam
	reads  []tableRead         // the memory layers that read it
	grad   memlayer.SparseRows // their summed gradient
}

// tableRead says that memory layer m's gradients()[slot] is a gradient of the table.
type tableRead struct{ m, slot int }

// hostMemory is the host half of one memory layer: a product-key bag (memlayer.HostBag) or PEER's
// experts (memlayer.HostPEER).
type hostMemory interface {
	// forward takes the piece's outputs after h (scores, halves, keys, and PEER's input) and returns the
	// memory's contribution for tokens tokens: the bag, or PEER's output.
	forward(outs [][]float32, tokens int) ([]float32, error)
	// backward returns the gradients of the halves, keys and (PEER) input; the tables' are gradients'.
	backward(dOut []float32) (dHalves, dKeys, dX []float32, err error)
	gradients() []*memlayer.SparseRows
	config() memlayer.Config
	outDim() int
}

type bagMemory struct{ *memlayer.HostBag }

func (b bagMemory) forward(outs [][]float32, tokens int) ([]float32, error) {
	return b.Forward(outs[0], outs[1], outs[2], tokens)
}
func (b bagMemory) backward(dOut []float32) (dHalves, dKeys, dX []float32, err error) {
	dHalves, dKeys, _, err = b.Backward(dOut)
	return dHalves, dKeys, nil, err
}
func (b bagMemory) gradients() []*memlayer.SparseRows { return []*memlayer.SparseRows{b.Gradient()} }
func (b bagMemory) config() memlayer.Config           { return b.Config() }
func (b bagMemory) outDim() int                       { return b.Values().Dim }

type peerMemory struct {
	*memlayer.HostPEER
	cfg memlayer.Config
	dim int
}

func (p peerMemory) forward(outs [][]float32, tokens int) ([]float32, error) {
	return p.Forward(outs[0], outs[1], outs[2], outs[3], tokens)
}
func (p peerMemory) backward(dOut []float32) (dHalves, dKeys, dX []float32, err error) {
	return p.Backward(dOut)
}
func (p peerMemory) gradients() []*memlayer.SparseRows {
	up, values := p.Gradients()
	return []*memlayer.SparseRows{values, up}
}
func (p peerMemory) config() memlayer.Config { return p.cfg }
func (p peerMemory) outDim() int             { return p.dim }

// Checkpoint names of a host table's optimizer state besides the moments ("/optimizer<table>/m" and "/v",
// as the graph path names them): the per-row and running sums of log(1 − lr·wd) of memlayer.HostAdam.
const (
	varRowDecayLog = "row_decay_log"
	varDecayLog    = "decay_log"
)

// newHostPath prepares the host path of split in store: it builds modelFn's whole graph once so that every
// variable is created (or loaded from a checkpoint) and initialised exactly as on the graph path, then moves
// the value tables (and any checkpointed optimizer state of theirs) out of the store into host memory.
func newHostPath(b compute.Backend, store *model.Store, modelFn ModelFn, split *lm.SplitModel, cfg Config) (*hostPath, error) {
	if err := initializeVariables(b, store, modelFn); err != nil {
		return nil, err
	}
	p := &hostPath{cfg: cfg, store: store, split: split}
	byPath := map[string]*hostTable{}
	table := func(path string, m, slot int) (*hostTable, error) {
		tbl := byPath[path]
		if tbl == nil {
			var err error
			if tbl, err = p.takeTable(path); err != nil {
				return nil, err
			}
			byPath[path] = tbl
			p.tables = append(p.tables, tbl)
		}
		tbl.reads = append(tbl.reads, tableRead{m, slot})
		return tbl, nil
	}
	for m, mem := range split.Memories {
		values, err := table(mem.Table, m, 0)
		if err != nil {
			return nil, err
		}
		if mem.UpTable == "" {
			bag, err := memlayer.NewHostBag(mem.Config, values.values)
			if err != nil {
				return nil, err
			}
			p.mems = append(p.mems, bagMemory{bag})
			continue
		}
		up, err := table(mem.UpTable, m, 1)
		if err != nil {
			return nil, err
		}
		peer, err := memlayer.NewHostPEER(mem.Config, up.values, values.values)
		if err != nil {
			return nil, err
		}
		p.mems = append(p.mems, peerMemory{HostPEER: peer, cfg: mem.Config, dim: values.values.Dim})
	}
	if err := p.compile(b); err != nil {
		return nil, err
	}
	return p, nil
}

// initializeVariables builds modelFn's graph for a [1, 1] batch, without running it, and initialises the
// variables that a checkpoint did not provide: the same variables, drawn in the same order, as a graph-path
// run with the same seed.
func initializeVariables(b compute.Backend, store *model.Store, modelFn ModelFn) error {
	exec, err := model.NewExec(b, store, func(scope *model.Scope, tokens *Node) *Node {
		store.SetTraining(tokens.Graph(), true)
		logits, _ := modelFn(scope, tokens)
		return logits
	})
	if err != nil {
		return fmt.Errorf("train: host path: %s", oneLine(err.Error()))
	}
	defer exec.Finalize()
	if err := catch(func() error { _, err := exec.Compile(shapes.Make(dtypes.Int32, 1, 1)); return err }); err != nil {
		return fmt.Errorf("train: host path: building the model: %s", oneLine(err.Error()))
	}
	if err := store.InitializeVariables(b, nil); err != nil {
		return fmt.Errorf("train: host path: initialising the variables: %s", oneLine(err.Error()))
	}
	return nil
}

// takeTable moves the value table at path, and its optimizer state when a checkpoint holds one, from the
// store into host memory.
func (p *hostPath) takeTable(path string) (*hostTable, error) {
	v := p.store.GetVariable(path)
	if v == nil {
		return nil, fmt.Errorf("train: host path: the model has no value table %s", path)
	}
	values, err := memlayer.HostValuesFromTensor(v.MustValue())
	if err != nil {
		return nil, err
	}
	tbl := &hostTable{path: path, values: values, opt: memlayer.NewHostAdam(p.cfg.adam(), 0)}
	state := OptimizerScope + path
	m, err := takeFloats[float32](p.store, state+"/m")
	if err != nil {
		return nil, err
	}
	s, err := takeFloats[float32](p.store, state+"/v")
	if err != nil {
		return nil, err
	}
	rowLog, err := takeFloats[float64](p.store, state+"/"+varRowDecayLog)
	if err != nil {
		return nil, err
	}
	log, err := takeFloats[float64](p.store, state+"/"+varDecayLog)
	if err != nil {
		return nil, err
	}
	if m != nil && s != nil {
		// A checkpoint's state: moments, and the pending decay (none when the graph path wrote it: its
		// decay is applied every step).
		tbl.opt.M, tbl.opt.V = m, s
		tbl.opt.Step = int(globalStep(p.store))
		if p.cfg.WeightDecay > 0 {
			tbl.opt.RowDecayLog = rowLog
			if rowLog == nil {
				tbl.opt.RowDecayLog = make([]float64, values.Rows)
			}
			if log != nil {
				tbl.opt.DecayLog = log[0]
			}
		}
	}
	if err := p.store.DeleteVariable(path); err != nil {
		return nil, err
	}
	return tbl, nil
}

// takeFloats returns a copy of the variable at path and deletes it from the store; nil when there is none.
func takeFloats[T float32 | float64](store *model.Store, path string) ([]T, error) {
	v := store.GetVariable(path)
	if v == nil {
		return nil, nil
	}
	data, err := tensors.CopyFlatData[T](v.MustValue())
	if err != nil {
		return nil, fmt.Errorf("train: checkpoint variable %s: %s", path, oneLine(err.Error()))
	}
	return data, store.DeleteVariable(path)
}

// globalStep is "/global_step", 0 when the store has none.
func globalStep(store *model.Store) int64 {
	v := store.GetVariable("/global_step")
	if v == nil {
		return 0
	}
	switch x := v.MustValue().Value().(type) {
	case float32:
		return int64(x)
	case float64:
		return int64(x)
	case int64:
		return x
	case int32:
		return int64(x)
	}
	return 0
}

// compile creates the executors of the pieces, the loss, the evaluation head and the update (each graph is
// built at its first call).
func (p *hostPath) compile(b compute.Backend) error {
	k := len(p.split.Memories)
	p.vjpVars = make([][]*model.Variable, k)
	for m := range k {
		piece := p.split.Pieces[m]
		fwd, err := model.NewExec(b, p.store, func(scope *model.Scope, in []*Node) []*Node {
			p.store.SetTraining(in[0].Graph(), true)
			return piece(scope, in)
		})
		if err != nil {
			return err
		}
		p.pieces = append(p.pieces, fwd.WithName(fmt.Sprintf("train.HostPiece%d", m)))
		nIn := 2
		if m == 0 {
			nIn = 1
		}
		vjp, err := model.NewExec(b, p.store, func(scope *model.Scope, in []*Node) []*Node {
			g := in[0].Graph()
			p.store.SetTraining(g, true)
			// Σ out·d(out) over the outputs the host differentiated: h, halves, keys (and PEER's x).
			inputs, cotangents := in[:nIn], in[nIn:]
			outs := piece(scope, inputs)
			surrogate := ReduceAllSum(Mul(outs[0], cotangents[0]))
			for i, d := range cotangents[1:] {
				surrogate = Add(surrogate, ReduceAllSum(Mul(outs[2+i], d)))
			}
			vars := trainableVariables(p.store, g)
			p.vjpVars[m] = vars
			var wrt []*Node // the residual h and the bag; tokens have no gradient
			if m > 0 {
				wrt = []*Node{inputs[0], inputs[1]}
			}
			for _, v := range vars {
				wrt = append(wrt, v.NodeValue(g))
			}
			return Gradient(surrogate, wrt...)
		})
		if err != nil {
			return err
		}
		p.vjps = append(p.vjps, vjp.WithName(fmt.Sprintf("train.HostPieceVJP%d", m)))
	}
	last := p.split.Pieces[k]
	loss, err := model.NewExec(b, p.store, func(scope *model.Scope, in []*Node) []*Node {
		g := in[0].Graph()
		p.store.SetTraining(g, true)
		logits := last(scope, in[:2])[0]
		ce := maskedMean(tokenNLL(logits, in[2]), in[3])
		p.lossVar = trainableVariables(p.store, g)
		wrt := []*Node{in[0], in[1]}
		for _, v := range p.lossVar {
			wrt = append(wrt, v.NodeValue(g))
		}
		return append([]*Node{ce}, Gradient(ce, wrt...)...)
	})
	if err != nil {
		return err
	}
	p.loss = loss.WithName("train.HostLoss")
	eval, err := model.NewExec(b, p.store, func(scope *model.Scope, h, bag, targets *Node) (nll, next *Node) {
		return evalHead(scope, h.Graph(), func() *Node { return last(scope, []*Node{h, bag})[0] }, targets)
	})
	if err != nil {
		return err
	}
	p.eval = eval.WithName("train.HostEvaluator")
	update, err := model.NewExec(b, p.store, func(scope *model.Scope, in []*Node) []*Node {
		vars := p.graphVariables()
		params := make([]*Node, len(vars))
		for i, v := range vars {
			params[i] = v.NodeValue(in[0].Graph())
		}
		n := len(vars)
		norm, scale := applyAdamW(p.store, vars, params, slices.Clone(in[:n]), in[n], in[n+1], in[n+1], p.cfg)
		return []*Node{norm, scale}
	})
	if err != nil {
		return err
	}
	p.update = update.WithName("train.HostUpdate")
	return nil
}

// graphVariables are the trainable variables of all pieces, sorted by path (known once every piece's
// gradient graph was built).
func (p *hostPath) graphVariables() []*model.Variable {
	seen := map[string]*model.Variable{}
	for _, vars := range append(slices.Clone(p.vjpVars), p.lossVar) {
		for _, v := range vars {
			seen[v.Path()] = v
		}
	}
	out := make([]*model.Variable, 0, len(seen))
	for _, v := range seen {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *model.Variable) int { return strings.Compare(a.Path(), b.Path()) })
	return out
}

// forward runs every piece but the last, with the bags between them, and returns the last piece's inputs
// (h and the last bag) and each earlier piece's inputs (for the backward).
func (p *hostPath) forward(tokens *tensors.Tensor) (last []*tensors.Tensor, inputs [][]*tensors.Tensor, err error) {
	in := []*tensors.Tensor{tokens}
	for m, piece := range p.pieces {
		inputs = append(inputs, in)
		outs, err := piece.Exec(anys(in)...)
		if err != nil {
			return nil, nil, fmt.Errorf("piece %d: %s", m, oneLine(err.Error()))
		}
		flat := make([][]float32, len(outs)-1)
		for i := range flat {
			if flat[i], err = tensors.CopyFlatData[float32](outs[1+i]); err != nil {
				return nil, nil, err
			}
			outs[1+i].FinalizeAll()
		}
		h := outs[0]
		tokens := h.Shape().Dimensions[0] * h.Shape().Dimensions[1]
		bag, err := p.mems[m].forward(flat, tokens)
		if err != nil {
			return nil, nil, fmt.Errorf("memory layer %d: %s", m, err)
		}
		in = []*tensors.Tensor{h, tensors.FromFlatDataAndDimensions(bag, tokens, p.mems[m].outDim())}
	}
	return in, inputs, nil
}

// trainStep runs step t (1-based) on a batch with the scheduled learning rates lr and valueLR.
func (p *hostPath) trainStep(tokens, targets, mask *tensors.Tensor, lr, valueLR float64, t int) (stepResult, error) {
	last, inputs, err := p.forward(tokens)
	if err != nil {
		return stepResult{}, err
	}
	outs, err := p.loss.Exec(last[0], last[1], targets, mask)
	if err != nil {
		return stepResult{}, fmt.Errorf("loss: %s", oneLine(err.Error()))
	}
	ce := float64(tensors.ToScalar[float32](outs[0]))
	grads := map[string]*tensors.Tensor{}
	if err := addGrads(grads, p.lossVar, outs[3:]); err != nil {
		return stepResult{}, err
	}
	dh, dBag := outs[1], outs[2]
	for m := len(p.pieces) - 1; m >= 0; m-- {
		if dh, dBag, err = p.backward(m, inputs[m], dh, dBag, grads); err != nil {
			return stepResult{}, err
		}
	}

	var valueSumSq float64
	for _, tbl := range p.tables {
		parts := make([]*memlayer.SparseRows, len(tbl.reads))
		for i, r := range tbl.reads {
			parts[i] = p.mems[r.m].gradients()[r.slot]
		}
		memlayer.MergeSparseRows(&tbl.grad, parts...)
		for _, g := range tbl.grad.Grad {
			valueSumSq += float64(g) * float64(g)
		}
	}
	vars := p.graphVariables()
	args := make([]any, 0, len(vars)+2)
	for _, v := range vars {
		args = append(args, grads[v.Path()])
	}
	args = append(args, float32(valueSumSq), float32(lr))
	upd, err := p.update.Exec(args...)
	if err != nil {
		return stepResult{}, fmt.Errorf("update: %s", oneLine(err.Error()))
	}
	gradNorm := float64(tensors.ToScalar[float32](upd[0]))
	scale := tensors.ToScalar[float32](upd[1])
	for _, tbl := range p.tables {
		if scale != 1 {
			for i := range tbl.grad.Grad {
				tbl.grad.Grad[i] *= scale
			}
		}
		tbl.opt.LR = valueLR
		if err := tbl.opt.Update(tbl.values, &tbl.grad, t); err != nil {
			return stepResult{}, err
		}
	}
	finalizeAll(outs)
	finalizeAll(upd)
	return stepResult{loss: ce, ce: ce, gradNorm: gradNorm}, nil
}

// backward takes the gradients of piece m's outputs h (dh) and of memory layer m's bag (dBag), runs the
// memory's backward and the piece's VJP, adds the piece's variable gradients to grads and returns the
// gradients of the piece's inputs (nil for piece 0).
func (p *hostPath) backward(m int, inputs []*tensors.Tensor, dh, dBag *tensors.Tensor, grads map[string]*tensors.Tensor) (dhIn, dBagIn *tensors.Tensor, err error) {
	var dHalves, dKeys, dX []float32
	if err := tensors.ConstFlatData(dBag, func(d []float32) {
		dHalves, dKeys, dX, err = p.mems[m].backward(d)
	}); err != nil {
		return nil, nil, err
	}
	if err != nil {
		return nil, nil, err
	}
	c := p.mems[m].config()
	tokens := dh.Shape().Dimensions[0] * dh.Shape().Dimensions[1]
	half := c.KDim / 2
	args := append(anys(inputs), dh,
		tensors.FromFlatDataAndDimensions(dHalves, c.Heads, 2, tokens, half),
		tensors.FromFlatDataAndDimensions(dKeys, c.Heads, 2, c.NKeys, half))
	if dX != nil {
		args = append(args, tensors.FromFlatDataAndDimensions(dX, tokens, len(dX)/tokens))
	}
	outs, err := p.vjps[m].Exec(args...)
	if err != nil {
		return nil, nil, fmt.Errorf("piece %d backward: %s", m, oneLine(err.Error()))
	}
	if m > 0 {
		dhIn, dBagIn, outs = outs[0], outs[1], outs[2:]
	}
	return dhIn, dBagIn, addGrads(grads, p.vjpVars[m], outs)
}

// addGrads adds each of values to grads[vars[i].Path()].
func addGrads(grads map[string]*tensors.Tensor, vars []*model.Variable, values []*tensors.Tensor) error {
	if len(vars) != len(values) {
		return fmt.Errorf("train: host path: %d gradients for %d variables", len(values), len(vars))
	}
	for i, v := range vars {
		if sum := grads[v.Path()]; sum != nil {
			if err := addInto(sum, values[i]); err != nil {
				return err
			}
			values[i].FinalizeAll()
			continue
		}
		grads[v.Path()] = values[i]
	}
	return nil
}

// addInto adds b to a (both float32 of one shape).
func addInto(a, b *tensors.Tensor) error {
	return tensors.MutableFlatData(a, func(x []float32) {
		tensors.MustConstFlatData(b, func(y []float32) {
			for i := range x {
				x[i] += y[i]
			}
		})
	})
}

// evaluate computes each target's NLL and the greedy next token (the evaluator's forward). Call sync first.
func (p *hostPath) evaluate(tokens, targets *tensors.Tensor) (nll, next *tensors.Tensor, err error) {
	last, _, err := p.forward(tokens)
	if err != nil {
		return nil, nil, err
	}
	outs, err := p.eval.Exec(last[0], last[1], targets)
	if err != nil {
		return nil, nil, err
	}
	return outs[0], outs[1], nil
}

// sync applies the value tables' pending weight decay (memlayer.HostAdam.Sync), so that they hold the
// model of the last step: before evaluating, and before anyone reads the tables.
func (p *hostPath) sync() {
	for _, tbl := range p.tables {
		tbl.opt.Sync(tbl.values)
	}
}

// valueParams counts the values of the host tables.
func (p *hostPath) valueParams() int {
	n := 0
	for _, tbl := range p.tables {
		n += len(tbl.values.Data)
	}
	return n
}

// exportToStore puts the value tables and their optimizer state in the store, under the names the graph
// path uses, for a checkpoint to save; dropFromStore removes them again (they are copies).
func (p *hostPath) exportToStore() error {
	for _, tbl := range p.tables {
		vals := tbl.values
		put := func(path string, value *tensors.Tensor, trainable bool) error {
			if v := p.store.GetVariable(path); v != nil {
				v.SetTrainable(trainable)
				return v.SetValue(value)
			}
			v, err := p.store.CreateVariable(path, value)
			if err != nil {
				return fmt.Errorf("train: host path checkpoint %s: %s", path, oneLine(err.Error()))
			}
			v.SetTrainable(trainable)
			return nil
		}
		if err := put(tbl.path, vals.Tensor(), true); err != nil {
			return err
		}
		if tbl.opt.M == nil { // no step yet
			continue
		}
		state := OptimizerScope + tbl.path
		parts := []struct {
			name  string
			value *tensors.Tensor
		}{
			{"m", tensors.FromFlatDataAndDimensions(slices.Clone(tbl.opt.M), vals.Rows, vals.Dim)},
			{"v", tensors.FromFlatDataAndDimensions(slices.Clone(tbl.opt.V), vals.Rows, vals.Dim)},
		}
		if tbl.opt.RowDecayLog != nil {
			parts = append(parts,
				struct {
					name  string
					value *tensors.Tensor
				}{varRowDecayLog, tensors.FromFlatDataAndDimensions(slices.Clone(tbl.opt.RowDecayLog), vals.Rows)},
				struct {
					name  string
					value *tensors.Tensor
				}{varDecayLog, tensors.FromFlatDataAndDimensions([]float64{tbl.opt.DecayLog}, 1)})
		}
		for _, part := range parts {
			if err := put(state+"/"+part.name, part.value, false); err != nil {
				return err
			}
		}
	}
	return nil
}

func (p *hostPath) dropFromStore() error {
	for _, tbl := range p.tables {
		state := OptimizerScope + tbl.path
		for _, path := range []string{tbl.path, state + "/m", state + "/v", state + "/" + varRowDecayLog, state + "/" + varDecayLog} {
			if err := p.store.DeleteVariable(path); err != nil {
				return err
			}
		}
	}
	return nil
}

func anys(ts []*tensors.Tensor) []any {
	out := make([]any, len(ts))
	for i, t := range ts {
		out[i] = t
	}
	return out
}

// applyPendingDecay brings value tables that a host-path checkpoint saved with pending weight decay up to
// date for the graph path, whose decay is applied every step: each row is multiplied by
// exp(decay_log − row_decay_log[row]), and the host-only state is deleted.
func applyPendingDecay(store *model.Store, loaded []string) error {
	for _, path := range loaded {
		table, ok := strings.CutSuffix(strings.TrimPrefix(path, OptimizerScope), "/"+varRowDecayLog)
		if !ok || !strings.HasPrefix(path, OptimizerScope+"/") {
			continue
		}
		rowLog, err := takeFloats[float64](store, path)
		if err != nil {
			return err
		}
		log, err := takeFloats[float64](store, OptimizerScope+table+"/"+varDecayLog)
		if err != nil || len(log) != 1 {
			return fmt.Errorf("train: checkpoint has %s but no %s", path, varDecayLog)
		}
		v := store.GetVariable(table)
		if v == nil {
			return fmt.Errorf("train: checkpoint has %s but no value table %s", path, table)
		}
		values, err := memlayer.HostValuesFromTensor(v.MustValue())
		if err != nil {
			return err
		}
		if len(rowLog) != values.Rows {
			return fmt.Errorf("train: checkpoint %s has %d rows, its table %d", path, len(rowLog), values.Rows)
		}
		for r, l := range rowLog {
			f := float32(math.Exp(log[0] - l))
			row := values.Data[r*values.Dim : (r+1)*values.Dim]
			for i := range row {
				row[i] *= f
			}
		}
		if err := v.SetValue(values.Tensor()); err != nil {
			return err
		}
	}
	return nil
}
