package bench

import (
	"context"
	"fmt"
	"strings"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// dataScope holds the benchmark's inputs as non-trainable variables, so they live on the device between
// calls and no host-to-device transfer is timed.
const dataScope = "/data"

// runner is one compiled graph without arguments (inputs are variables) and its store.
type runner struct {
	what  string
	store *model.Store
	exec  *model.Exec
}

// newRunner creates a store seeded with seed, lets setup add data variables to it, and prepares an
// executor for fn.
func newRunner(b compute.Backend, what string, seed int64, setup func(store *model.Store) error,
	fn func(scope *model.Scope, g *Graph) []*Node) (r *runner, err error) {
	defer catchPanic(what, &err)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, seed)
	if setup != nil {
		if err := setup(store); err != nil {
			store.Finalize()
			return nil, err
		}
	}
	exec, err := model.NewExec(b, store, fn)
	if err != nil {
		store.Finalize()
		return nil, fmt.Errorf("bench: %s: %w", what, err)
	}
	return &runner{what: what, store: store, exec: exec}, nil
}

// call executes the graph once and frees its outputs (variables updated in the graph stay in the store).
func (r *runner) call() (err error) {
	defer catchPanic(r.what, &err)
	outs, err := r.exec.Exec()
	if err != nil {
		return fmt.Errorf("bench: %s: %s", r.what, firstLine(err.Error()))
	}
	for _, o := range outs {
		o.FinalizeAll()
	}
	return nil
}

// time measures r.call.
func (r *runner) time(ctx context.Context, c Config) (Timing, error) {
	return measure(ctx, c.Warmup, c.Repeats, r.call)
}

// close frees the compiled graph and every variable.
func (r *runner) close() {
	r.exec.Finalize()
	r.store.Finalize()
}

// addData stores value under /data/name as a non-trainable variable.
func addData(store *model.Store, name string, value *tensors.Tensor) error {
	v, err := store.Scope(dataScope).CreateVariable(name, value)
	if err != nil {
		return fmt.Errorf("bench: data %s: %w", name, err)
	}
	v.SetTrainable(false)
	return nil
}

// data returns the node of data variable name.
func data(scope *model.Scope, g *Graph, name string) *Node {
	return scope.Store().GetVariable(dataScope + "/" + name).NodeValue(g)
}

// trainableUnder returns the trainable variables whose path starts with prefix, in creation order.
func trainableUnder(store *model.Store, prefix string) []*model.Variable {
	var vars []*model.Variable
	for v := range store.IterVariables() {
		if v.Trainable && strings.HasPrefix(v.Path(), prefix) {
			vars = append(vars, v)
		}
	}
	return vars
}

func shapeOf(dims ...int) shapes.Shape { return shapes.Make(dtypes.Float32, dims...) }
