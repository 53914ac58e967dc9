// Package recall is the toy associative-recall task: a model must memorise N
// random (pattern → label) pairs. A memory layer stores such pairs in its value
// table, so its accuracy rises far above chance within a few hundred steps,
// while its compute per example stays that of a small dense layer. It is the
// project's smallest end-to-end check that the layer learns.
package recall

import (
	"context"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/gomlx/compute"
	"github.com/gomlx/compute/dtypes"
	"github.com/gomlx/compute/shapes"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"
	"github.com/gomlx/gomlx/ml/train/optimizer"

	"github.com/memlayers/memlayers/memlayer"
)

// Config of one recall run.
type Config struct {
	Pairs   int     `json:"pairs"`   // number of (pattern, label) pairs to memorise
	Classes int     `json:"classes"` // labels are uniform in [0, Classes): chance = 1/Classes
	Dim     int     `json:"dim"`     // pattern (and model) dimension
	Steps   int     `json:"steps"`   // training steps
	Batch   int     `json:"batch"`   // pairs per step
	LR      float64 `json:"lr"`      // Adam learning rate
	// EvalEvery is how often (in steps) the accuracy over all pairs is measured.
	EvalEvery int             `json:"eval_every"`
	Seed      int64           `json:"seed"`
	Memory    memlayer.Config `json:"memory"`
	// NoMemory drops the memory layer: the control, a linear read-out of the
	// pattern alone, shows how much of the recall the memory provides.
	NoMemory bool `json:"no_memory"`
}

// DefaultConfig memorises 2048 pairs in a 32²-slot memory; it runs in about a
// minute on two cores with the pure-Go backend.
func DefaultConfig() Config {
	return Config{
		Pairs: 2048, Classes: 16, Dim: 64, Steps: 600, Batch: 256, LR: 3e-3, EvalEvery: 50, Seed: 1,
		Memory: memlayer.Config{Heads: 4, KNN: 8, NKeys: 32, KDim: 64, QueryBias: true},
	}
}

// Validate checks every field, naming it in the error.
func (c Config) Validate() error {
	var errs []string
	atLeast := func(name string, v, min int) {
		if v < min {
			errs = append(errs, fmt.Sprintf("recall: %s=%d: must be >= %d", name, v, min))
		}
	}
	atLeast("pairs", c.Pairs, 1)
	atLeast("classes", c.Classes, 2)
	atLeast("dim", c.Dim, 2)
	atLeast("steps", c.Steps, 1)
	atLeast("batch", c.Batch, 1)
	atLeast("eval_every", c.EvalEvery, 1)
	if c.Batch > c.Pairs {
		errs = append(errs, fmt.Sprintf("recall: batch=%d: must be <= pairs=%d", c.Batch, c.Pairs))
	}
	if !(c.LR > 0) {
		errs = append(errs, fmt.Sprintf("recall: lr=%g: must be > 0", c.LR))
	}
	if err := c.Memory.Validate(); err != nil {
		errs = append(errs, err.Error())
	}
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// Point is one evaluation during training.
type Point struct {
	Step     int     `json:"step"`
	Loss     float64 `json:"loss"`     // mean training loss since the previous point
	Accuracy float64 `json:"accuracy"` // over all pairs
}

// Result of a run.
type Result struct {
	Config  Config         `json:"config"`
	Chance  float64        `json:"chance"`
	Points  []Point        `json:"points"`
	Final   float64        `json:"final_accuracy"`
	Usage   memlayer.Usage `json:"-"`
	Seconds float64        `json:"seconds"`
}

// task holds the pairs: patterns [Pairs, Dim] (unit-norm Gaussian) and labels.
type task struct {
	patterns []float32
	labels   []int32
}

func newTask(c Config) task {
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 0x5eed))
	t := task{patterns: make([]float32, c.Pairs*c.Dim), labels: make([]int32, c.Pairs)}
	for i := range c.Pairs {
		row := t.patterns[i*c.Dim : (i+1)*c.Dim]
		var norm float64
		for j := range row {
			v := rng.NormFloat64()
			row[j] = float32(v)
			norm += v * v
		}
		for j := range row {
			row[j] /= float32(math.Sqrt(norm))
		}
		t.labels[i] = int32(rng.IntN(c.Classes))
	}
	return t
}

// batch gathers the given pairs into tensors.
func (t task) batch(c Config, ids []int) (*tensors.Tensor, *tensors.Tensor) {
	x := make([]float32, 0, len(ids)*c.Dim)
	y := make([]int32, len(ids))
	for i, id := range ids {
		x = append(x, t.patterns[id*c.Dim:(id+1)*c.Dim]...)
		y[i] = t.labels[id]
	}
	return tensors.FromFlatDataAndDimensions(x, len(ids), c.Dim), tensors.FromFlatDataAndDimensions(y, len(ids))
}

// logits is the model: a residual memory layer followed by a linear read-out.
func logits(scope *model.Scope, c Config, x *Node) (*Node, memlayer.Lookup) {
	h, lookup := x, memlayer.Lookup{}
	if !c.NoMemory {
		var mem *Node
		mem, lookup = memlayer.LayerWithLookup(scope.In("memory"), x, c.Memory)
		h = Add(x, mem)
	}
	w := scope.In("readout").WithInitializer(initializer.XavierUniformFn(scope)).
		VariableWithShape("weights", shapesOf(c.Dim, c.Classes)).NodeValue(x.Graph())
	return Dot(h, w).Product(), lookup
}

// crossEntropy is the mean negative log-likelihood of labels under logits.
func crossEntropy(logits, labels *Node) *Node {
	logp := LogSoftmax(logits, -1)
	picked := memlayer.TakeAlongLastAxis(logp, InsertAxes(labels, -1))
	return Neg(ReduceAllMean(picked))
}

// Run trains the model and reports progress lines to w (nil: silent).
// It stops early, with ctx's error, when ctx is cancelled.
func Run(ctx context.Context, backend compute.Backend, c Config, w io.Writer) (*Result, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if w == nil {
		w = io.Discard
	}
	start := time.Now()
	data := newTask(c)
	store := model.NewStore()
	store.SetParam(model.ParamInitialSeed, c.Seed)
	opt := optimizer.Adam().LearningRate(c.LR).Done()

	step, err := model.NewExec(backend, store, func(scope *model.Scope, x, y *Node) *Node {
		out, _ := logits(scope, c, x)
		loss := crossEntropy(out, y)
		opt.UpdateGraph(scope, x.Graph(), loss)
		return loss
	})
	if err != nil {
		return nil, err
	}
	predict, err := model.NewExec(backend, store, func(scope *model.Scope, x *Node) (*Node, *Node) {
		out, lookup := logits(scope, c, x)
		pred := ArgMax(out, -1, dtypes.Int32)
		if lookup.Indices == nil { // the no-memory control reads no slots
			return pred, Zeros(x.Graph(), shapes.Make(dtypes.Int32, 0))
		}
		return pred, lookup.Indices
	})
	if err != nil {
		return nil, err
	}

	res := &Result{Config: c, Chance: 1 / float64(c.Classes)}
	order := rand.New(rand.NewPCG(uint64(c.Seed), 1)).Perm(c.Pairs)
	all := make([]int, c.Pairs)
	for i := range all {
		all[i] = i
	}
	evaluate := func() (float64, []int32, error) {
		x, _ := data.batch(c, all)
		out, err := predict.Exec(x)
		if err != nil {
			return 0, nil, err
		}
		pred := tensors.MustCopyFlatData[int32](out[0])
		correct := 0
		for i, p := range pred {
			if p == data.labels[i] {
				correct++
			}
		}
		return float64(correct) / float64(c.Pairs), tensors.MustCopyFlatData[int32](out[1]), nil
	}

	if c.NoMemory {
		fmt.Fprintf(w, "recall: memorise %d pairs into %d classes (chance %.1f%%) with a linear read-out only (no memory)\n",
			c.Pairs, c.Classes, 100*res.Chance)
	} else {
		fmt.Fprintf(w, "recall: memorise %d pairs into %d classes (chance %.1f%%) with a %d²-slot memory layer (%d heads, knn %d)\n",
			c.Pairs, c.Classes, 100*res.Chance, c.Memory.NKeys, c.Memory.Heads, c.Memory.KNN)
	}
	var lossSum float64
	var lossN int
	pos := 0
	for s := 1; s <= c.Steps; s++ {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("recall: interrupted at step %d: %w", s, err)
		}
		if pos+c.Batch > c.Pairs {
			pos = 0
		}
		x, y := data.batch(c, order[pos:pos+c.Batch])
		pos += c.Batch
		out, err := step.Exec(x, y)
		if err != nil {
			return res, fmt.Errorf("recall: step %d: %w", s, err)
		}
		loss := out[0].Value().(float32)
		if math.IsNaN(float64(loss)) || math.IsInf(float64(loss), 0) {
			return res, fmt.Errorf("recall: loss became %v at step %d; lower the learning rate", loss, s)
		}
		lossSum += float64(loss)
		lossN++
		if s%c.EvalEvery == 0 || s == c.Steps {
			acc, indices, err := evaluate()
			if err != nil {
				return res, err
			}
			p := Point{Step: s, Loss: lossSum / float64(lossN), Accuracy: acc}
			res.Points = append(res.Points, p)
			lossSum, lossN = 0, 0
			elapsed := time.Since(start)
			eta := time.Duration(float64(elapsed) / float64(s) * float64(c.Steps-s))
			fmt.Fprintf(w, "step %4d/%d  loss %.3f  accuracy %5.1f%%  %6.0f pairs/s  ETA %s\n",
				s, c.Steps, p.Loss, 100*acc, float64(s*c.Batch)/elapsed.Seconds(), eta.Round(time.Second))
			if s == c.Steps {
				res.Final = acc
				res.Usage, err = memlayer.UsageOf(indices, c.Memory.Rows())
				if err != nil {
					return res, err
				}
			}
		}
	}
	res.Seconds = time.Since(start).Seconds()
	fmt.Fprintf(w, "final accuracy %.1f%% (chance %.1f%%); memory slots used %.1f%%, KL from uniform %.2f nats; %.0fs\n",
		100*res.Final, 100*res.Chance, 100*res.Usage.Fraction, res.Usage.KL, res.Seconds)
	return res, nil
}
