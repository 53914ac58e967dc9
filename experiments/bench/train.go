package bench

import (
	"context"
	"fmt"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/memlayers/memlayers/memlayer"
)

var optimizerNames = []string{"sgd", "adam"}

// TrainPoint is one training step (forward, backward, and an update of every variable, value table
// included) of a memory layer at one size, on one path.
type TrainPoint struct {
	// Path is "graph" (an in-graph dense update of every variable) or "host" (values in host memory, only the
	// rows the step read updated; the graph variables updated on the host). Empty in reports written before
	// the host path existed: graph.
	Path      string `json:"path"`
	Optimizer string `json:"optimizer"`
	NKeys     int    `json:"n_keys"`
	Rows      int    `json:"rows"`
	// ValueBytes is the size of the value table.
	ValueBytes      int64   `json:"value_bytes"`
	Step            Timing  `json:"step"`
	TokensPerSecond float64 `json:"tokens_per_second"`
}

// TrainGrowth compares the step time at the largest and the smallest table, for one path and optimizer.
type TrainGrowth struct {
	// Path is as in TrainPoint.
	Path      string `json:"path"`
	Optimizer string `json:"optimizer"`
	FromNKeys int    `json:"from_n_keys"`
	ToNKeys   int    `json:"to_n_keys"`
	// RowsFactor is how many times larger the table is (e.g. 16 for n_keys 256 → 1024).
	RowsFactor float64 `json:"rows_factor"`
	// TimeRatio is step time at ToNKeys divided by step time at FromNKeys: 1 would mean the step does not
	// depend on the table size, RowsFactor that it is proportional to it.
	TimeRatio float64 `json:"time_ratio"`
}

// TrainResult holds the training-step times.
type TrainResult struct {
	Tokens int           `json:"tokens"`
	Points []TrainPoint  `json:"points"`
	Growth []TrainGrowth `json:"growth"`
}

// pathOf reads a Path field, empty ("graph") in older reports.
func pathOf(path string) string {
	if path == "" {
		return PathGraph
	}
	return path
}

// The benchmark's updates: SGD, or the project's Adam rule (memlayer.Adam) in its defaults; the values do
// not change the cost.
const (
	benchSGDLR  = 1e-3
	benchAdamLR = 1e-3
)

// trainStep returns the graph of one step: loss = Σ out·dy / tokens, gradients of every trainable
// variable of the block, then an in-graph update (dense, like PyTorch's default for an nn.Embedding
// table): SGD w ← w − lr·g, or memlayer.Adam's rule with its moments kept in float32 variables under
// /optimizer.
func trainStep(cfg memlayer.Config, optimizer string) func(*model.Scope, *Graph) []*Node {
	return func(scope *model.Scope, g *Graph) []*Node {
		store := scope.Store()
		x := data(scope, g, "x")
		out := memlayer.Layer(store.Scope(blockScope), x, cfg)
		tokens := float64(x.Shape().Dimensions[0])
		loss := DivScalar(ReduceAllSum(Mul(out, data(scope, g, "dy"))), tokens)
		vars := trainableUnder(store, blockScope+"/")
		params := make([]*Node, len(vars))
		for i, v := range vars {
			params[i] = v.NodeValue(g)
		}
		grads := Gradient(loss, params...)
		switch optimizer {
		case "sgd":
			for i, v := range vars {
				v.SetNodeValue(Sub(params[i], MulScalar(grads[i], benchSGDLR)))
			}
		case "adam":
			adamUpdate(store, g, vars, params, grads)
		}
		return []*Node{loss}
	}
}

// adamUpdate applies one step of memlayer.DefaultAdam's rule to vars.
func adamUpdate(store *model.Store, g *Graph, vars []*model.Variable, params, grads []*Node) {
	opt := store.Scope("/optimizer").WithInitializer(initializer.Zero)
	stepVar := opt.VariableWithShape("step", shapeOf()).SetTrainable(false)
	step := AddScalar(stepVar.NodeValue(g), 1)
	stepVar.SetNodeValue(step)
	lr := Scalar(g, dtypes.Float32, benchAdamLR)
	for i, v := range vars {
		moments := store.Scope("/optimizer" + v.Path()).WithInitializer(initializer.Zero)
		mVar := moments.VariableWithShape("m", v.Shape()).SetTrainable(false)
		sVar := moments.VariableWithShape("v", v.Shape()).SetTrainable(false)
		w, m, s := memlayer.DefaultAdam().GraphStep(params[i], mVar.NodeValue(g), sVar.NodeValue(g), grads[i], lr, step, false)
		mVar.SetNodeValue(m)
		sVar.SetNodeValue(s)
		v.SetNodeValue(w)
	}
}

// hostOptimizers returns the host path's optimizers for optimizer: one for the value table, and a maker
// of one per graph variable.
func hostOptimizers(optimizer string) (values memlayer.ValueOptimizer, newOpt func() memlayer.ValueOptimizer) {
	if optimizer == "adam" {
		newAdam := func() memlayer.ValueOptimizer { return memlayer.NewHostAdam(memlayer.DefaultAdam(), benchAdamLR) }
		return newAdam(), newAdam
	}
	return &memlayer.SparseSGD{LR: benchSGDLR}, func() memlayer.ValueOptimizer { return &memlayer.SparseSGD{LR: benchSGDLR} }
}

// timeGraphStep times trainStep at nKeys.
func timeGraphStep(ctx context.Context, b compute.Backend, c Config, what string, nKeys int, opt string) (Timing, error) {
	r, err := newRunner(b, what, c.Seed, layerData(c), trainStep(c.layerConfig(nKeys), opt))
	if err != nil {
		return Timing{}, err
	}
	defer r.close()
	return r.time(ctx, c)
}

// timeHostStep times the host path's step at nKeys: Forward, Backward of the graph step's loss
// (Σ out·dy / tokens, so dy/tokens) and Update.
func timeHostStep(ctx context.Context, b compute.Backend, c Config, what string, nKeys int, opt string) (t Timing, err error) {
	defer catchPanic(what, &err)
	l, store, err := newHostLayer(b, c, nKeys)
	if err != nil {
		return t, err
	}
	defer store.Finalize()
	x, dy := hostTensors(c, 1/float32(c.Tokens))
	valueOpt, newOpt := hostOptimizers(opt)
	step := 0
	return measure(ctx, c.Warmup, c.Repeats, func() error {
		out, err := l.Forward(x)
		if err != nil {
			return fmt.Errorf("bench: %s forward: %s", what, firstLine(err.Error()))
		}
		g, err := l.Backward(dy)
		if err != nil {
			return fmt.Errorf("bench: %s backward: %s", what, firstLine(err.Error()))
		}
		step++
		if err := l.Update(g, step, valueOpt, newOpt); err != nil {
			return fmt.Errorf("bench: %s update: %s", what, firstLine(err.Error()))
		}
		finalizeGrads(g)
		out.FinalizeAll()
		return nil
	})
}

// MeasureTrainStep times a training step of the memory layer at each of c.TrainNKeys with each of
// c.Optimizers on each path of c.Paths, and the growth of the step time from the first to the last size.
func MeasureTrainStep(ctx context.Context, b compute.Backend, c Config) (*TrainResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	res := &TrainResult{Tokens: c.Tokens}
	for _, path := range c.Paths {
		for _, opt := range c.Optimizers {
			start := len(res.Points)
			for _, nKeys := range c.TrainNKeys {
				cfg := c.layerConfig(nKeys)
				what := fmt.Sprintf("train step %s %s n_keys=%d", path, opt, nKeys)
				timeStep := timeGraphStep
				if path == PathHost {
					timeStep = timeHostStep
				}
				t, err := timeStep(ctx, b, c, what, nKeys, opt)
				if err != nil {
					return nil, err
				}
				p := TrainPoint{
					Path: path, Optimizer: opt, NKeys: nKeys, Rows: cfg.Rows(),
					ValueBytes: 4 * int64(cfg.Rows()) * int64(cfg.ValueDim(c.Dim)),
					Step:       t, TokensPerSecond: ratio(float64(c.Tokens), t.Seconds),
				}
				res.Points = append(res.Points, p)
				c.progressf("  %-36s %9.2f ms  %9.0f tokens/s", what, 1e3*t.Seconds, p.TokensPerSecond)
			}
			first, last := res.Points[start], res.Points[len(res.Points)-1]
			res.Growth = append(res.Growth, TrainGrowth{
				Path: path, Optimizer: opt, FromNKeys: first.NKeys, ToNKeys: last.NKeys,
				RowsFactor: ratio(float64(last.Rows), float64(first.Rows)),
				TimeRatio:  ratio(last.Step.Seconds, first.Step.Seconds),
			})
		}
	}
	return res, nil
}
