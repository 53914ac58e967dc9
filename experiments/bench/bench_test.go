package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"
	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/memlayer"
)

var (
	backendOnce sync.Once
	testB       compute.Backend
	testErr     error
)

// testBackend is the backend GOMLX_BACKEND names, else the pure-Go default.
func testBackend(t *testing.T) compute.Backend {
	t.Helper()
	backendOnce.Do(func() { testB, testErr = backend.New("") })
	if testErr != nil {
		t.Fatal(testErr)
	}
	return testB
}

// tinyConfig is QuickConfig made smaller still: the tests check plumbing and sanity, not speed.
func tinyConfig() Config {
	c := QuickConfig()
	c.Dim, c.KDim, c.VDim, c.Tokens, c.Heads, c.KNN = 16, 16, 16, 32, 2, 4
	c.NKeys, c.BagNKeys, c.TrainNKeys = []int{8, 16}, 8, []int{8, 16}
	c.Warmup, c.Repeats = 1, 1
	return c
}

func positive(t *testing.T, what string, v float64) {
	t.Helper()
	if !(v > 0) || math.IsInf(v, 0) {
		t.Errorf("%s = %v, want positive and finite", what, v)
	}
}

func checkTiming(t *testing.T, what string, tm Timing) {
	t.Helper()
	positive(t, what+" seconds", tm.Seconds)
	if tm.MedianSeconds < tm.Seconds || tm.Repeats < 1 {
		t.Errorf("%s: median %v < min %v or repeats %d < 1", what, tm.MedianSeconds, tm.Seconds, tm.Repeats)
	}
}

func TestQuickBenchmarksAndJSONRoundTrip(t *testing.T) {
	ctx := context.Background()
	b := testBackend(t)
	c := tinyConfig()
	r := NewReport("test", b, c, ".", os.Getenv("GODEBUG"))
	r.Quick = true

	bag, err := MeasureBag(ctx, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if bag.Rows != 64 || bag.B != 8 || bag.T != 32 || bag.TableBytes != 64*16*4 {
		t.Errorf("bag sizes %+v", bag)
	}
	for name, tp := range map[string]Throughput{"forward": bag.Forward, "forward_backward": bag.ForwardBackward,
		"graph_copy": bag.GraphCopy, "host_copy": bag.HostCopy, "host_copy_parallel": bag.HostCopyParallel} {
		checkTiming(t, name, tp.Timing)
		positive(t, name+" bytes", float64(tp.Bytes))
		positive(t, name+" GB/s", tp.GBPerSecond)
	}
	if bag.ForwardBackward.Bytes <= bag.Forward.Bytes {
		t.Errorf("forward+backward counts %d bytes, not more than the forward's %d", bag.ForwardBackward.Bytes, bag.Forward.Bytes)
	}
	for _, v := range []float64{bag.ForwardVsGraphCopy, bag.ForwardVsHostCopy, bag.ForwardVsHostCopyParallel,
		bag.ForwardBackwardVsGraphCopy, bag.ForwardBackwardVsHostCopy,
		bag.HostForwardVsHostCopy, bag.HostForwardVsHostCopyParallel, bag.HostForwardVsGraphCopy} {
		positive(t, "bag ratio", v)
	}
	// The host path: same bytes forward, a sparse gradient of at most T·B distinct rows backward.
	for name, tp := range map[string]Throughput{"host_forward": bag.HostForward, "host_forward_backward": bag.HostForwardBackward} {
		checkTiming(t, name, tp.Timing)
		positive(t, name+" GB/s", tp.GBPerSecond)
	}
	if bag.HostForward.Bytes != bag.Forward.Bytes {
		t.Errorf("host forward counts %d bytes, the graph forward %d", bag.HostForward.Bytes, bag.Forward.Bytes)
	}
	if u := bag.HostTouchedRows; u < 1 || u > min(bag.Rows, bag.T*bag.B) {
		t.Errorf("host touched rows = %d, want 1..%d", u, min(bag.Rows, bag.T*bag.B))
	}
	if want := hostBagBytes(bag.D, bag.T, bag.B, bag.HostTouchedRows); bag.HostForwardBackward.Bytes != want ||
		want != bag.Forward.Bytes+4*int64(bag.T*bag.D+2*bag.T*bag.B*bag.D+bag.HostTouchedRows*bag.D+bag.T*bag.B) {
		t.Errorf("host forward+backward counts %d bytes, want %d", bag.HostForwardBackward.Bytes, want)
	}
	r.Bag = bag

	layers, err := MeasureLayers(ctx, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers.Memory) != len(c.NKeys) || layers.FFN.Model != "swiglu" || layers.FFNHidden != 4*c.Dim {
		t.Fatalf("layers: %+v", layers)
	}
	if want := int64(3 * c.Dim * 4 * c.Dim); layers.FFN.Params != want {
		t.Errorf("FFN params = %d, want %d", layers.FFN.Params, want)
	}
	for i, p := range append([]LayerPoint{layers.FFN}, layers.Memory...) {
		checkTiming(t, p.Model+" forward", p.Forward)
		checkTiming(t, p.Model+" forward_backward", p.ForwardBackward)
		positive(t, "tokens/s", p.ForwardTokensPerSecond)
		positive(t, "tokens/s", p.ForwardBackwardTokensPerSecond)
		positive(t, "vs FFN", p.ForwardVsFFN)
		positive(t, "vs FFN", p.ForwardBackwardVsFFN)
		if i > 0 {
			n := int64(p.NKeys)
			// query (+bias), keys, values; v_dim == dim so no projection.
			want := int64(c.Dim*c.Heads*c.KDim+c.Heads*c.KDim) + int64(c.Heads)*n*int64(c.KDim) + n*n*int64(c.VDim)
			if p.Params != want {
				t.Errorf("memory n_keys=%d params = %d, want %d", p.NKeys, p.Params, want)
			}
		}
	}
	if len(layers.Host) != len(c.NKeys) {
		t.Fatalf("layers: %d host points, want %d", len(layers.Host), len(c.NKeys))
	}
	for i, p := range layers.Host {
		g := layers.Memory[i]
		if p.Model != "memory-host" || p.NKeys != g.NKeys {
			t.Errorf("host point %d: model %q n_keys %d, want memory-host n_keys %d", i, p.Model, p.NKeys, g.NKeys)
		}
		// One layer, two homes for its values: the same parameters.
		if p.Params != g.Params {
			t.Errorf("host n_keys=%d params = %d, graph layer %d", p.NKeys, p.Params, g.Params)
		}
		checkTiming(t, "host forward", p.Forward)
		checkTiming(t, "host forward_backward", p.ForwardBackward)
		positive(t, "host vs FFN", p.ForwardVsFFN)
		positive(t, "host vs FFN", p.ForwardBackwardVsFFN)
		if want := ratio(p.ForwardTokensPerSecond, layers.FFN.ForwardTokensPerSecond); p.ForwardVsFFN != want {
			t.Errorf("host n_keys=%d forward vs FFN = %v, want %v", p.NKeys, p.ForwardVsFFN, want)
		}
	}
	r.Layers = layers

	tr, err := MeasureTrainStep(ctx, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Points) != len(c.TrainNKeys)*len(c.Optimizers)*len(c.Paths) || len(tr.Growth) != len(c.Optimizers)*len(c.Paths) {
		t.Fatalf("train: %+v", tr)
	}
	for _, p := range tr.Points {
		checkTiming(t, "train "+p.Path+" "+p.Optimizer, p.Step)
		positive(t, "train tokens/s", p.TokensPerSecond)
	}
	growth := map[[2]string]TrainGrowth{}
	for _, g := range tr.Growth {
		growth[[2]string{g.Path, g.Optimizer}] = g
		if g.RowsFactor != 4 || g.FromNKeys != 8 || g.ToNKeys != 16 {
			t.Errorf("growth %+v, want 8 → 16 (4× rows)", g)
		}
		positive(t, "growth time ratio", g.TimeRatio)
	}
	for _, path := range []string{PathGraph, PathHost} {
		for _, opt := range c.Optimizers {
			if _, ok := growth[[2]string{path, opt}]; !ok {
				t.Errorf("no growth entry for %s %s: %+v", path, opt, tr.Growth)
			}
		}
	}
	r.Train = tr
	r.Finish()

	dir := t.TempDir()
	path := filepath.Join(dir, "results", "bench", "test.json")
	if err := results.WriteJSON(path, r, false); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	want := *r
	want.Config.Progress = nil
	if !reflect.DeepEqual(&back, &want) {
		t.Errorf("JSON round trip changed the report:\n got %+v\nwant %+v", back, want)
	}

	pngs, err := r.Plots(filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pngs) != 3 {
		t.Errorf("plots = %v, want bandwidth, layers and train-step", pngs)
	}
	for _, p := range pngs {
		if !strings.HasPrefix(filepath.Base(p), "bench-test-") {
			t.Errorf("plot %s: want a bench-test- prefix", p)
		}
		if _, err := os.Stat(strings.TrimSuffix(p, ".png") + ".svg"); err != nil {
			t.Error(err)
		}
	}
	var sb strings.Builder
	r.Print(&sb)
	for _, s := range []string{"Embedding bag", "host bag forward+backward", "memory n_keys=16", "host n_keys=16", "Training step",
		"sgd (graph): n_keys 8 → 16", "adam (host): n_keys 8 → 16", "only the rows the step read"} {
		if !strings.Contains(sb.String(), s) {
			t.Errorf("Print output lacks %q:\n%s", s, sb.String())
		}
	}
}

func TestValidate(t *testing.T) {
	if err := DefaultConfig().Validate(); err != nil {
		t.Errorf("DefaultConfig: %v", err)
	}
	if err := QuickConfig().Validate(); err != nil {
		t.Errorf("QuickConfig: %v", err)
	}
	c := DefaultConfig()
	c.Tokens, c.NKeys, c.Optimizers, c.KNN, c.Paths = 0, []int{16}, []string{"lion"}, 20, []string{"host", "gpu"}
	err := c.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"tokens=0", "n_keys=16", "knn", "optimizers=lion", "paths=gpu"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error has several lines: %q", err)
	}
	c = QuickConfig()
	c.Paths = nil
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "paths=[]") {
		t.Errorf("no paths: %v, want an error naming paths", err)
	}
}

// TestHostBagMatchesGraph checks that the two paths MeasureBag times compute the same thing on the same
// table and inputs: the bag, the weights' gradient and the table's gradient (sparse on the host).
func TestHostBagMatchesGraph(t *testing.T) {
	c := tinyConfig()
	in, err := newBagInputs(c)
	if err != nil {
		t.Fatal(err)
	}
	graph := func(fn func(*model.Scope, *Graph) []*Node) [][]float32 {
		r, err := newRunner(testBackend(t), "test bag", c.Seed, in.setup(true), fn)
		if err != nil {
			t.Fatal(err)
		}
		defer r.close()
		outs, err := r.exec.Exec()
		if err != nil {
			t.Fatal(err)
		}
		var flat [][]float32
		for _, o := range outs {
			flat = append(flat, tensors.MustCopyFlatData[float32](o))
			o.FinalizeAll()
		}
		return flat
	}
	near := func(what string, got, want []float32) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
		}
		for i := range want {
			if math.Abs(float64(got[i]-want[i])) > 1e-5 {
				t.Fatalf("%s[%d] = %v, graph %v", what, i, got[i], want[i])
			}
		}
	}
	out := make([]float32, in.t*in.d)
	in.table.Bag(in.idx, in.w, in.b, out)
	near("host bag", out, graph(bagForwardGraph)[0])

	grad := &memlayer.SparseRows{}
	dWeights := in.table.BagBackward(in.idx, in.w, in.b, in.dy, grad)
	g := graph(bagBackwardGraph)
	near("host table gradient", grad.Dense(in.rows), g[0])
	near("host weights gradient", dWeights, g[1])
	if !slices.IsSorted(grad.Rows) || len(grad.Rows) > in.t*in.b {
		t.Errorf("sparse gradient rows: %d, sorted %v", len(grad.Rows), slices.IsSorted(grad.Rows))
	}
}

// TestOnePath checks that a skipped path leaves its parts absent, in the results, the JSON, the tables and
// the charts.
func TestOnePath(t *testing.T) {
	ctx := context.Background()
	b := testBackend(t)
	for _, path := range []string{PathGraph, PathHost} {
		c := tinyConfig()
		c.Paths, c.NKeys, c.TrainNKeys, c.Optimizers = []string{path}, []int{8}, []int{8}, []string{"sgd"}
		r := NewReport("one-"+path, b, c, ".", "")
		var err error
		if r.Bag, err = MeasureBag(ctx, b, c); err != nil {
			t.Fatal(err)
		}
		if r.Layers, err = MeasureLayers(ctx, b, c); err != nil {
			t.Fatal(err)
		}
		if r.Train, err = MeasureTrainStep(ctx, b, c); err != nil {
			t.Fatal(err)
		}
		r.Finish()
		host := path == PathHost
		if (r.Bag.Forward.Seconds > 0) == host || (r.Bag.HostForward.Seconds > 0) != host ||
			(len(r.Layers.Memory) > 0) == host || (len(r.Layers.Host) > 0) != host {
			t.Errorf("%s only: bag %+v, layers %+v", path, r.Bag, r.Layers)
		}
		if len(r.Train.Points) != 1 || r.Train.Points[0].Path != path || len(r.Train.Growth) != 1 || r.Train.Growth[0].Path != path {
			t.Errorf("%s only: train %+v", path, r.Train)
		}
		bagJSON, err := json.Marshal(r.Bag)
		if err != nil {
			t.Fatal(err)
		}
		layersJSON, err := json.Marshal(r.Layers)
		if err != nil {
			t.Fatal(err)
		}
		absent := map[bool][]string{false: {`"host_forward`, `"host_touched_rows"`}, true: {`"forward"`, `"forward_backward"`, `"forward_vs_`}}[host]
		for _, key := range absent {
			if strings.Contains(string(bagJSON), key) {
				t.Errorf("%s only: the bag's JSON has %s: %s", path, key, bagJSON)
			}
		}
		if key := map[bool]string{false: `"host":`, true: `"memory":`}[host]; strings.Contains(string(layersJSON), key) {
			t.Errorf("%s only: the layers' JSON has %s: %s", path, key, layersJSON)
		}
		var sb strings.Builder
		r.Print(&sb)
		if other := map[bool]string{false: "host bag forward", true: "memory n_keys=8"}[host]; strings.Contains(sb.String(), other) {
			t.Errorf("%s only: Print shows %q:\n%s", path, other, sb.String())
		}
		if pngs, err := r.Plots(t.TempDir()); err != nil || len(pngs) != 3 {
			t.Errorf("%s only: plots %v, %v", path, pngs, err)
		}
	}
}

// TestReadOldReport loads the committed report written before the host path existed: it still prints and
// draws, as graph only.
func TestReadOldReport(t *testing.T) {
	// A report written before the host path existed (results/bench/go-ops_sequential.json then).
	r, err := ReadReport(filepath.Join("testdata", "report-graph-only.json"))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Config.Paths, []string{PathGraph}) {
		t.Errorf("an old report's paths read as %v, want [graph]", r.Config.Paths)
	}
	if err := r.Config.Validate(); err != nil {
		t.Errorf("an old report's config should validate: %v", err)
	}
	var sb strings.Builder
	r.Print(&sb)
	if r.Train != nil && !strings.Contains(sb.String(), "(graph): n_keys") {
		t.Errorf("an old report's growth should print as the graph path:\n%s", sb.String())
	}
	if _, err := r.Plots(t.TempDir()); err != nil {
		t.Error(err)
	}
}

// TestReadReportRefusesLMReport: the language-model report sits next to the layer reports in results/bench/
// and has a "torch" part too; reading it as a layer report (notebook 04 reads every file there) is refused.
func TestReadReportRefusesLMReport(t *testing.T) {
	data := []byte(`{"name": "go", "models": [{"kind": "dense"}], "torch": {"models": []}}`)
	if _, err := DecodeReport(data, "lm-train-go.json"); err == nil || !strings.Contains(err.Error(), "language-model training report") {
		t.Errorf("DecodeReport of an LM report: %v, want a refusal naming it", err)
	}
}

// TestMeasureLMTrainQuick runs the language-model benchmark's plumbing on the tiny preset: every model
// kind once on each path it has, the dense base first with ratio 1.
func TestMeasureLMTrainQuick(t *testing.T) {
	c := QuickLMConfig()
	c.Steps = 1
	r, err := MeasureLMTrain(context.Background(), testBackend(t), "test", c, ".", "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, m := range r.Models {
		got = append(got, m.Kind+"/"+m.Path)
		positive(t, m.Kind+" tokens/s", m.TokensPerSecond)
		positive(t, m.Kind+" FLOPs/token", float64(m.FLOPsPerToken))
		if (m.Kind == "memory" || m.Kind == "memory+" || m.Kind == "peer") != (m.NKeys > 0) {
			t.Errorf("%s/%s: n_keys %d", m.Kind, m.Path, m.NKeys)
		}
	}
	want := []string{"dense/graph", "moe/graph", "memory/graph", "memory+/graph", "peer/graph", "memory/host", "memory+/host", "peer/host"}
	if !slices.Equal(got, want) {
		t.Fatalf("models %v, want %v", got, want)
	}
	if r.Models[0].RatioToDense != 1 || r.TokensPerStep != 16*64 {
		t.Errorf("dense ratio %v, tokens per step %d", r.Models[0].RatioToDense, r.TokensPerStep)
	}
	if err := (LMConfig{Preset: "tiny", Warmup: 0, Steps: 1, Rounds: 1}).Validate(); err == nil || !strings.Contains(err.Error(), "warmup=0") {
		t.Errorf("warmup 0 accepted: %v", err)
	}
}
