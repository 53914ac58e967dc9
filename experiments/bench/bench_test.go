package bench

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/gomlx/compute"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/results"
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
		bag.ForwardBackwardVsGraphCopy, bag.ForwardBackwardVsHostCopy} {
		positive(t, "bag ratio", v)
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
	r.Layers = layers

	tr, err := MeasureTrainStep(ctx, b, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Points) != len(c.TrainNKeys)*len(c.Optimizers) || len(tr.Growth) != len(c.Optimizers) {
		t.Fatalf("train: %+v", tr)
	}
	for _, p := range tr.Points {
		checkTiming(t, "train "+p.Optimizer, p.Step)
		positive(t, "train tokens/s", p.TokensPerSecond)
	}
	for _, g := range tr.Growth {
		if g.RowsFactor != 4 || g.FromNKeys != 8 || g.ToNKeys != 16 {
			t.Errorf("growth %+v, want 8 → 16 (4× rows)", g)
		}
		positive(t, "growth time ratio", g.TimeRatio)
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
	for _, s := range []string{"Embedding bag", "memory n_keys=16", "Training step", "sgd: n_keys 8 → 16"} {
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
	c.Tokens, c.NKeys, c.Optimizers, c.KNN = 0, []int{16}, []string{"lion"}, 20
	err := c.Validate()
	if err == nil {
		t.Fatal("want an error")
	}
	for _, s := range []string{"tokens=0", "n_keys=16", "knn", "optimizers=lion"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error has several lines: %q", err)
	}
}

// fakePython writes a shell script that answers like python3 with torch: "-c import torch" succeeds and
// running the benchmark script prints canned JSON.
func fakePython(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "python3")
	script := "#!/bin/sh\nif [ \"$1\" = -c ]; then exit 0; fi\n" + body + "\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestRunTorchParsesAndCompares(t *testing.T) {
	c := tinyConfig()
	out := `{"torch_version":"9.9","device":"cpu","threads":2,` +
		`"ffn":{"model":"swiglu","forward":{"seconds":0.002,"median_seconds":0.002,"repeats":1},"forward_backward":{"seconds":0.004,"median_seconds":0.004,"repeats":1}},` +
		`"memory":[{"model":"memory","n_keys":8,"forward":{"seconds":0.01,"median_seconds":0.01,"repeats":1},"forward_backward":{"seconds":0.02,"median_seconds":0.02,"repeats":1}},` +
		`{"model":"memory","n_keys":16,"forward":{"seconds":0.01,"median_seconds":0.01,"repeats":1},"forward_backward":{"seconds":0.04,"median_seconds":0.04,"repeats":1}}]}`
	py := fakePython(t, "echo '"+out+"'")
	ctx := context.Background()
	if err := TorchAvailable(ctx, py); err != nil {
		t.Fatal(err)
	}
	res, err := RunTorch(ctx, TorchOptions{Python: py, Script: "scripts/torch_memory_layer.py"}, c)
	if err != nil {
		t.Fatal(err)
	}
	if res.TorchVersion != "9.9" || len(res.Memory) != 2 || res.FFN == nil || !strings.Contains(strings.Join(res.Command, " "), "--n-keys 8,16") {
		t.Fatalf("parsed %+v", res)
	}
	ours := &LayerResult{
		FFN: LayerPoint{Model: "swiglu", Forward: Timing{Seconds: 0.004}, ForwardBackward: Timing{Seconds: 0.004}},
		Memory: []LayerPoint{
			{Model: "memory", NKeys: 8, Forward: Timing{Seconds: 0.02}, ForwardBackward: Timing{Seconds: 0.01}},
			{Model: "memory", NKeys: 16, Forward: Timing{Seconds: 0.03}, ForwardBackward: Timing{Seconds: 0.08}},
		},
	}
	got := CompareTorch(ours, res)
	want := []TorchRatio{
		{Model: "swiglu", ForwardOursOverTorch: 2, ForwardBackwardOursOverTorch: 1},
		{Model: "memory", NKeys: 8, ForwardOursOverTorch: 2, ForwardBackwardOursOverTorch: 0.5},
		{Model: "memory", NKeys: 16, ForwardOursOverTorch: 3, ForwardBackwardOursOverTorch: 2},
	}
	if len(got) != len(want) {
		t.Fatalf("CompareTorch = %+v, want %+v", got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.Model != w.Model || g.NKeys != w.NKeys || math.Abs(g.ForwardOursOverTorch-w.ForwardOursOverTorch) > 1e-9 ||
			math.Abs(g.ForwardBackwardOursOverTorch-w.ForwardBackwardOursOverTorch) > 1e-9 {
			t.Errorf("CompareTorch[%d] = %+v, want %+v", i, g, w)
		}
	}
}

func TestTorchErrors(t *testing.T) {
	ctx := context.Background()
	c := tinyConfig()
	err := TorchAvailable(ctx, filepath.Join(t.TempDir(), "no-such-python"))
	if err == nil || !strings.Contains(err.Error(), TorchInstallHint) {
		t.Errorf("missing python: %v, want the install hint", err)
	}
	noTorch := filepath.Join(t.TempDir(), "python3")
	if err := os.WriteFile(noTorch, []byte("#!/bin/sh\necho \"ModuleNotFoundError: No module named 'torch'\" >&2\nexit 1\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	err = TorchAvailable(ctx, noTorch)
	if err == nil || !strings.Contains(err.Error(), "No module named 'torch'") || !strings.Contains(err.Error(), TorchInstallHint) {
		t.Errorf("python without torch: %v", err)
	}
	for name, body := range map[string]string{
		"failing":     "echo 'RuntimeError: boom' >&2; exit 1",
		"not JSON":    "echo hello",
		"wrong sizes": `echo '{"memory":[]}'`,
	} {
		_, err := RunTorch(ctx, TorchOptions{Python: fakePython(t, body), Script: "x.py"}, c)
		if err == nil || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err = %v, want a one-line error", name, err)
		}
	}
}
