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

// BagResult measures memlayer.EmbeddingBag against plain copies of the bytes it reads.
//
// Bytes counted (float32, int32 indices), a lower bound on the traffic of any implementation:
//
//   - forward: the T·B rows read (T·B·D·4), the output written (T·D·4), indices and weights read (T·B·8);
//   - forward+backward (gradients of Σ out·dy w.r.t. the table and the weights): the forward's bytes, dy read
//     (T·D·4), the rows read again for the weights' gradient (T·B·D·4), the dense table gradient written
//     once (Rows·D·4) and the T·B scatter-added rows read and written (2·T·B·D·4);
//   - copies: a tensor of T·B·D floats (the bytes the forward reads) read once and written once.
type BagResult struct {
	Rows int `json:"rows"`
	D    int `json:"d"`
	T    int `json:"t"`
	B    int `json:"b"`
	// TableBytes is the size of the table, Rows·D·4.
	TableBytes int64 `json:"table_bytes"`

	Forward         Throughput `json:"forward"`
	ForwardBackward Throughput `json:"forward_backward"`
	// GraphCopy is an elementwise negation of a [T·B, D] tensor on the same backend: the backend's own
	// streaming bandwidth.
	GraphCopy Throughput `json:"graph_copy"`
	// HostCopy is Go's copy() of the same bytes on one goroutine, HostCopyParallel on GOMAXPROCS goroutines
	// (HostThreads): the machine's practical memory bandwidth.
	HostCopy         Throughput `json:"host_copy"`
	HostCopyParallel Throughput `json:"host_copy_parallel"`
	HostThreads      int        `json:"host_threads"`

	// Ratios of GB/s: the fraction of each copy's bandwidth the bag reaches.
	ForwardVsGraphCopy         float64 `json:"forward_vs_graph_copy"`
	ForwardVsHostCopy          float64 `json:"forward_vs_host_copy"`
	ForwardVsHostCopyParallel  float64 `json:"forward_vs_host_copy_parallel"`
	ForwardBackwardVsGraphCopy float64 `json:"forward_backward_vs_graph_copy"`
	ForwardBackwardVsHostCopy  float64 `json:"forward_backward_vs_host_copy"`
}

// bagBytes returns the bytes counted for the forward and the forward+backward (see BagResult).
func bagBytes(rows, d, t, b int) (fwd, fwdBwd int64) {
	R, D, T, B := int64(rows), int64(d), int64(t), int64(b)
	fwd = 4*T*B*D + 4*T*D + 8*T*B
	fwdBwd = fwd + 4*T*D + 4*T*B*D + 4*R*D + 8*T*B*D
	return fwd, fwdBwd
}

// MeasureBag times the embedding bag of a BagNKeys²×VDim table with Tokens×(Heads·KNN) random indices and
// softmax-like weights, and the copies it is compared with, in one run.
func MeasureBag(ctx context.Context, b compute.Backend, c Config) (*BagResult, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	res := &BagResult{Rows: c.BagNKeys * c.BagNKeys, D: c.VDim, T: c.Tokens, B: c.bagSize()}
	res.TableBytes = 4 * int64(res.Rows) * int64(res.D)
	fwdBytes, fwdBwdBytes := bagBytes(res.Rows, res.D, res.T, res.B)

	rng := rand.New(rand.NewPCG(uint64(c.Seed), 7))
	idx := make([]int32, res.T*res.B)
	w := make([]float32, res.T*res.B)
	dy := make([]float32, res.T*res.D)
	for i := range idx {
		idx[i] = int32(rng.IntN(res.Rows))
		w[i] = rng.Float32() / float32(res.B)
	}
	for i := range dy {
		dy[i] = rng.Float32()*2 - 1
	}
	setup := func(store *model.Store) error {
		for _, d := range []struct {
			name string
			t    *tensors.Tensor
		}{
			{"indices", tensors.FromFlatDataAndDimensions(idx, res.T, res.B)},
			{"weights", tensors.FromFlatDataAndDimensions(w, res.T, res.B)},
			{"dy", tensors.FromFlatDataAndDimensions(dy, res.T, res.D)},
		} {
			if err := addData(store, d.name, d.t); err != nil {
				return err
			}
		}
		return nil
	}
	table := func(scope *model.Scope, g *Graph) *Node {
		return scope.In("bag").WithInitializer(initializer.RandomNormalFn(scope, 1)).
			VariableWithShape("table", shapeOf(res.Rows, res.D)).NodeValue(g)
	}
	graphs := []struct {
		what  string
		bytes int64
		into  *Throughput
		fn    func(scope *model.Scope, g *Graph) []*Node
	}{
		{"embedding bag forward", fwdBytes, &res.Forward, func(scope *model.Scope, g *Graph) []*Node {
			return []*Node{memlayer.EmbeddingBag(table(scope, g), data(scope, g, "indices"), data(scope, g, "weights"))}
		}},
		{"embedding bag forward+backward", fwdBwdBytes, &res.ForwardBackward, func(scope *model.Scope, g *Graph) []*Node {
			tab, weights := table(scope, g), data(scope, g, "weights")
			out := memlayer.EmbeddingBag(tab, data(scope, g, "indices"), weights)
			loss := ReduceAllSum(Mul(out, data(scope, g, "dy")))
			return Gradient(loss, tab, weights)
		}},
		{"in-graph copy", 8 * int64(res.T) * int64(res.B) * int64(res.D), &res.GraphCopy, func(scope *model.Scope, g *Graph) []*Node {
			src := scope.In("copy").WithInitializer(initializer.RandomNormalFn(scope, 1)).
				VariableWithShape("src", shapeOf(res.T*res.B, res.D)).SetTrainable(false).NodeValue(g)
			return []*Node{Neg(src)}
		}},
	}
	for _, gr := range graphs {
		r, err := newRunner(b, gr.what, c.Seed, setup, gr.fn)
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

	n := res.T * res.B * res.D
	res.HostThreads = runtime.GOMAXPROCS(0)
	var err error
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
