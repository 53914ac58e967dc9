package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
	"github.com/gomlx/gomlx/ml/model/initializer"

	"github.com/memlayers/memlayers/memlayer"
)

// Throughput is a timing together with the bytes the operation had to move at least (reads plus writes),
// so that operations of different shapes compare in GB/s.
type Throughput struct {
	Timing
	Bytes int64 `json:"bytes"`
	// GBPerSecond is Bytes / Seconds / 1e9.
	GBPerSecond float64 `json:"gb_per_second"`
}

func throughput(t Timing, bytes int64) Throughput {
	return Throughput{Timing: t, Bytes: bytes, GBPerSecond: ratio(float64(bytes), t.Seconds) / 1e9}
}

// BagResult measures memlayer.EmbeddingBag (the graph path) and memlayer.HostValues.Bag (the host path) on
// the same table, indices and weights, against plain copies of the bytes they read. Parts of a path that
// was not run (Config.Paths) are absent.
//
// Bytes counted (float32, int32 indices), a lower bound on the traffic of any implementation:
//
//   - forward: the T·B rows read (T·B·D·4), the output written (T·D·4), indices and weights read (T·B·8);
//   - forward+backward (gradients of Σ out·dy w.r.t. the table and the weights): the forward's bytes, dy read
//     (T·D·4), the rows read again for the weights' gradient (T·B·D·4), the dense table gradient written
//     once (Rows·D·4) and the T·B scatter-added rows read and written (2·T·B·D·4);
//   - host forward+backward, whose table gradient is sparse (the U = HostTouchedRows distinct rows read):
//     the forward's bytes, dy read (T·D·4), the rows read again for the weights' gradient (T·B·D·4), one dy
//     row read per read while summing the row gradients (T·B·D·4), the U gradient rows written (U·D·4)
//     and the weights' gradient written (T·B·4); the dense term Rows·D·4 is gone, which is the point;
//   - copies: a tensor of T·B·D floats (the bytes the forward reads) read once and written once.
type BagResult struct {
	Rows int `json:"rows"`
	D    int `json:"d"`
	T    int `json:"t"`
	B    int `json:"b"`
	// TableBytes is the size of the table, Rows·D·4.
	TableBytes int64 `json:"table_bytes"`

	// Forward and ForwardBackward are the graph path: EmbeddingBag (Gather, Einsum) and its gradient.
	Forward         Throughput `json:"forward,omitzero"`
	ForwardBackward Throughput `json:"forward_backward,omitzero"`
	// HostForward and HostForwardBackward are the host path: HostValues.Bag, and Bag then BagBackward.
	HostForward         Throughput `json:"host_forward,omitzero"`
	HostForwardBackward Throughput `json:"host_forward_backward,omitzero"`
	// HostTouchedRows is U, the distinct rows the host backward's sparse gradient holds.
	HostTouchedRows int `json:"host_touched_rows,omitempty"`
	// GraphCopy is an elementwise negation of a [T·B, D] tensor on the same backend: the backend's own
	// streaming bandwidth.
	GraphCopy Throughput `json:"graph_copy"`
	// HostCopy is Go's copy() of the same bytes on one goroutine, HostCopyParallel on GOMAXPROCS goroutines
	// (HostThreads): the machine's practical memory bandwidth.
	HostCopy         Throughput `json:"host_copy"`
	HostCopyParallel Throughput `json:"host_copy_parallel"`
	HostThreads      int        `json:"host_threads"`

	// Ratios of GB/s: the fraction of each copy's bandwidth the bag reaches (0, and absent, for a path not run).
	ForwardVsGraphCopy         float64 `json:"forward_vs_graph_copy,omitempty"`
	ForwardVsHostCopy          float64 `json:"forward_vs_host_copy,omitempty"`
	ForwardVsHostCopyParallel  float64 `json:"forward_vs_host_copy_parallel,omitempty"`
	ForwardBackwardVsGraphCopy float64 `json:"forward_backward_vs_graph_copy,omitempty"`
	ForwardBackwardVsHostCopy  float64 `json:"forward_backward_vs_host_copy,omitempty"`
	// The host bag reads rows on GOMAXPROCS goroutines: HostForwardVsHostCopyParallel is its fair reference.
	HostForwardVsHostCopy         float64 `json:"host_forward_vs_host_copy,omitempty"`
	HostForwardVsHostCopyParallel float64 `json:"host_forward_vs_host_copy_parallel,omitempty"`
	HostForwardVsGraphCopy        float64 `json:"host_forward_vs_graph_copy,omitempty"`
}

// bagBytes returns the bytes counted for the forward and the forward+backward (see BagResult).
func bagBytes(rows, d, t, b int) (fwd, fwdBwd int64) {
	R, D, T, B := int64(rows), int64(d), int64(t), int64(b)
	fwd = 4*T*B*D + 4*T*D + 8*T*B
	fwdBwd = fwd + 4*T*D + 4*T*B*D + 4*R*D + 8*T*B*D
	return fwd, fwdBwd
}

// hostBagBytes returns the bytes counted for the host forward+backward that touches u distinct rows (see
// BagResult).
func hostBagBytes(d, t, b, u int) int64 {
	D, T, B, U := int64(d), int64(t), int64(b), int64(u)
	fwd, _ := bagBytes(0, d, t, b)
	return fwd + 4*T*D + 4*T*B*D + 4*T*B*D + 4*U*D + 4*T*B
}

// bagInputs are the embedding bag's table and inputs, shared by both paths so that they read the same rows.
type bagInputs struct {
	rows, d, t, b int
	// table is the host path's table; the graph path's table variable is a copy of it.
	table *memlayer.HostValues
	idx   []int32
	w, dy []float32
}

// bagTablePath is the graph path's table variable.
const bagTablePath = "/bag/table"

// newBagInputs draws a BagNKeys²×VDim table, Tokens×(Heads·KNN) random indices and softmax-like weights,
// and dy.
func newBagInputs(c Config) (*bagInputs, error) {
	in := &bagInputs{rows: c.BagNKeys * c.BagNKeys, d: c.VDim, t: c.Tokens, b: c.bagSize()}
	var err error
	if in.table, err = memlayer.NewHostValues(in.rows, in.d, uint64(c.Seed)); err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	rng := rand.New(rand.NewPCG(uint64(c.Seed), 7))
	in.idx = make([]int32, in.t*in.b)
	in.w = make([]float32, in.t*in.b)
	in.dy = make([]float32, in.t*in.d)
	for i := range in.idx {
		in.idx[i] = int32(rng.IntN(in.rows))
		in.w[i] = rng.Float32() / float32(in.b)
	}
	for i := range in.dy {
		in.dy[i] = rng.Float32()*2 - 1
	}
	return in, nil
}

// setup stores the indices, weights and dy as data variables and, with table, a copy of the host table
// as the trainable variable bagTablePath.
func (in *bagInputs) setup(table bool) func(store *model.Store) error {
	return func(store *model.Store) error {
		for _, d := range []struct {
			name string
			t    *tensors.Tensor
		}{
			{"indices", tensors.FromFlatDataAndDimensions(in.idx, in.t, in.b)},
			{"weights", tensors.FromFlatDataAndDimensions(in.w, in.t, in.b)},
			{"dy", tensors.FromFlatDataAndDimensions(in.dy, in.t, in.d)},
		} {
			if err := addData(store, d.name, d.t); err != nil {
				return err
			}
		}
		if !table {
			return nil
		}
		if _, err := store.Scope("/bag").CreateVariable("table", in.table.Tensor()); err != nil {
			return fmt.Errorf("bench: bag table: %w", err)
		}
		return nil
	}
}

// bagForwardGraph is EmbeddingBag on the table variable: [T, D].
func bagForwardGraph(scope *model.Scope, g *Graph) []*Node {
	table := scope.Store().GetVariable(bagTablePath).NodeValue(g)
	return []*Node{memlayer.EmbeddingBag(table, data(scope, g, "indices"), data(scope, g, "weights"))}
}

// bagBackwardGraph is the gradient of Σ EmbeddingBag·dy w.r.t. the table (dense, [Rows, D]) and the
// weights ([T, B]).
func bagBackwardGraph(scope *model.Scope, g *Graph) []*Node {
	table := scope.Store().GetVariable(bagTablePath).NodeValue(g)
	weights := data(scope, g, "weights")
	out := memlayer.EmbeddingBag(table, data(scope, g, "indices"), weights)
	return Gradient(ReduceAllSum(Mul(out, data(scope, g, "dy"))), table, weights)
}

// MeasureBag times the embedding bag of each path in c.Paths on a BagNKeys²×VDim table with
// Tokens×(Heads·KNN) random indices and softmax-like weights, and the copies it is compared with, in one
// run.
func MeasureBag(ctx context.Context, b compute.Backend, c Config) (*BagResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	in, err := newBagInputs(c)
	if err != nil {
		return nil, err
	}
	res := &BagResult{Rows: in.rows, D: in.d, T: in.t, B: in.b}
	res.TableBytes = 4 * int64(res.Rows) * int64(res.D)
	fwdBytes, fwdBwdBytes := bagBytes(res.Rows, res.D, res.T, res.B)

	type graphSpec struct {
		what  string
		bytes int64
		into  *Throughput
		table bool
		fn    func(scope *model.Scope, g *Graph) []*Node
	}
	var graphs []graphSpec
	if c.runs(PathGraph) {
		graphs = append(graphs,
			graphSpec{"embedding bag forward", fwdBytes, &res.Forward, true, bagForwardGraph},
			graphSpec{"embedding bag forward+backward", fwdBwdBytes, &res.ForwardBackward, true, bagBackwardGraph})
	}
	graphs = append(graphs, graphSpec{"in-graph copy", 8 * int64(res.T) * int64(res.B) * int64(res.D), &res.GraphCopy, false,
		func(scope *model.Scope, g *Graph) []*Node {
			src := scope.In("copy").WithInitializer(initializer.RandomNormalFn(scope, 1)).
				VariableWithShape("src", shapeOf(res.T*res.B, res.D)).SetTrainable(false).NodeValue(g)
			return []*Node{Neg(src)}
		}})
	for _, gr := range graphs {
		r, err := newRunner(b, gr.what, c.Seed, in.setup(gr.table), gr.fn)
		if err != nil {
			return nil, err
		}
		t, err := r.time(ctx, c)
		r.close()
		if err != nil {
			return nil, err
		}
		*gr.into = throughput(t, gr.bytes)
		c.progressf("  %-32s %8.2f ms  %6.2f GB/s", gr.what, 1e3*t.Seconds, gr.into.GBPerSecond)
	}

	if c.runs(PathHost) {
		out := make([]float32, res.T*res.D)
		t, err := measure(ctx, c.Warmup, c.Repeats, func() error {
			in.table.Bag(in.idx, in.w, res.B, out)
			return nil
		})
		if err != nil {
			return nil, err
		}
		res.HostForward = throughput(t, fwdBytes)
		c.progressf("  %-32s %8.2f ms  %6.2f GB/s", "host bag forward", 1e3*t.Seconds, res.HostForward.GBPerSecond)
		var grad memlayer.SparseRows
		if t, err = measure(ctx, c.Warmup, c.Repeats, func() error {
			in.table.Bag(in.idx, in.w, res.B, out)
			in.table.BagBackward(in.idx, in.w, res.B, in.dy, &grad)
			res.HostTouchedRows = len(grad.Rows)
			return nil
		}); err != nil {
			return nil, err
		}
		res.HostForwardBackward = throughput(t, hostBagBytes(res.D, res.T, res.B, res.HostTouchedRows))
		c.progressf("  %-32s %8.2f ms  %6.2f GB/s", "host bag forward+backward", 1e3*t.Seconds, res.HostForwardBackward.GBPerSecond)
	}

	n := res.T * res.B * res.D
	res.HostThreads = runtime.GOMAXPROCS(0)
	if res.HostCopy, err = hostCopy(ctx, c, n, 1); err != nil {
		return nil, err
	}
	c.progressf("  %-32s %8.2f ms  %6.2f GB/s", "host copy() (1 goroutine)", 1e3*res.HostCopy.Seconds, res.HostCopy.GBPerSecond)
	if res.HostCopyParallel, err = hostCopy(ctx, c, n, res.HostThreads); err != nil {
		return nil, err
	}
	c.progressf("  %-32s %8.2f ms  %6.2f GB/s", fmt.Sprintf("host copy() (%d goroutines)", res.HostThreads),
		1e3*res.HostCopyParallel.Seconds, res.HostCopyParallel.GBPerSecond)

	res.ForwardVsGraphCopy = ratio(res.Forward.GBPerSecond, res.GraphCopy.GBPerSecond)
	res.ForwardVsHostCopy = ratio(res.Forward.GBPerSecond, res.HostCopy.GBPerSecond)
	res.ForwardVsHostCopyParallel = ratio(res.Forward.GBPerSecond, res.HostCopyParallel.GBPerSecond)
	res.ForwardBackwardVsGraphCopy = ratio(res.ForwardBackward.GBPerSecond, res.GraphCopy.GBPerSecond)
	res.ForwardBackwardVsHostCopy = ratio(res.ForwardBackward.GBPerSecond, res.HostCopy.GBPerSecond)
	res.HostForwardVsHostCopy = ratio(res.HostForward.GBPerSecond, res.HostCopy.GBPerSecond)
	res.HostForwardVsHostCopyParallel = ratio(res.HostForward.GBPerSecond, res.HostCopyParallel.GBPerSecond)
	res.HostForwardVsGraphCopy = ratio(res.HostForward.GBPerSecond, res.GraphCopy.GBPerSecond)
	return res, nil
}

// hostCopy times copy() of n float32 between two Go slices, split over threads goroutines.
func hostCopy(ctx context.Context, c Config, n, threads int) (Throughput, error) {
	src, dst := make([]float32, n), make([]float32, n)
	for i := range src {
		src[i] = float32(i)
	}
	copyOnce := func() error {
		if threads <= 1 {
			copy(dst, src)
			return nil
		}
		var wg sync.WaitGroup
		chunk := (n + threads - 1) / threads
		for lo := 0; lo < n; lo += chunk {
			hi := min(lo+chunk, n)
			wg.Go(func() { copy(dst[lo:hi], src[lo:hi]) })
		}
		wg.Wait()
		return nil
	}
	// One untimed copy touches every page of dst; extra repeats are cheap here.
	t, err := measure(ctx, max(c.Warmup, 1), max(c.Repeats, 3), copyOnce)
	if err != nil {
		return Throughput{}, err
	}
	return throughput(t, 8*int64(n)), nil
}
