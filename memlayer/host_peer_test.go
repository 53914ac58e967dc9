package memlayer

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// TestHostPEERMatchesLayer: with the same variables, the graph's scores and
// HostPEER compute the PEER layer's output, the gradients of both tables
// (dense in the graph, the read rows on the host), of the query and keys
// (through HostScoresVJP) and of the input.
func TestHostPEERMatchesLayer(t *testing.T) {
	const tokens, dim = 20, 16
	cfg := Config{Heads: 2, KNN: 3, NKeys: 6, KDim: 8, QueryBias: true, PEER: true}
	rng := rand.New(rand.NewPCG(8, 8))
	x := tensors.FromFlatDataAndDimensions(randomFloat32(rng, tokens*dim), tokens, dim)
	dy := tensors.FromFlatDataAndDimensions(randomFloat32(rng, tokens*dim), tokens, dim)
	store := newStore(3)
	wantOut, wantDx, wantGrads := graphReference(t, store, cfg, x, dy)

	table := func(path string) *HostValues {
		v, err := HostValuesFromTensor(store.GetVariable(path).MustValue())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	p, err := NewHostPEER(cfg, table("/mem/"+VarPEERUp), table("/mem/"+VarValues))
	if err != nil {
		t.Fatal(err)
	}
	scores := fetch(t, store, x, func(scope *model.Scope, x *Node) []*Node {
		s, h, k := HostScores(scope.In("mem"), x, cfg)
		return []*Node{s, h, k}
	})
	flat := func(v *tensors.Tensor) []float32 { return tensors.MustCopyFlatData[float32](v) }
	out, err := p.Forward(flat(scores[0]), flat(scores[1]), flat(scores[2]), flat(x), tokens)
	if err != nil {
		t.Fatal(err)
	}
	requireClose(t, "output", flat(wantOut), out, 1e-5)

	dHalves, dKeys, dX, err := p.Backward(flat(dy))
	if err != nil {
		t.Fatal(err)
	}
	upGrad, valueGrad := p.Gradients()
	requireClose(t, "values", flat(wantGrads["/mem/"+VarValues]), valueGrad.Dense(cfg.Rows()), 1e-5)
	requireClose(t, "peer_up", flat(wantGrads["/mem/"+VarPEERUp]), upGrad.Dense(cfg.Rows()), 1e-5)
	half := cfg.KDim / 2
	vjp := model.MustNewExec(testBackend(t), store, func(scope *model.Scope, x, dh, dk *Node) []*Node {
		mem := scope.In("mem")
		return Gradient(HostScoresVJP(mem, x, dh, dk, cfg), x, mem.GetVariable(VarQuery).NodeValue(x.Graph()),
			mem.GetVariable(VarQueryBias).NodeValue(x.Graph()), mem.GetVariable(VarKeys).NodeValue(x.Graph()))
	})
	outs, err := vjp.Exec(x, tensors.FromFlatDataAndDimensions(dHalves, cfg.Heads, 2, tokens, half),
		tensors.FromFlatDataAndDimensions(dKeys, cfg.Heads, 2, cfg.NKeys, half))
	if err != nil {
		t.Fatal(err)
	}
	dx := flat(outs[0])
	for i := range dx {
		dx[i] += dX[i]
	}
	requireClose(t, "dx", flat(wantDx), dx, 1e-5)
	for i, name := range []string{VarQuery, VarQueryBias, VarKeys} {
		requireClose(t, name, flat(wantGrads["/mem/"+name]), flat(outs[1+i]), 1e-5)
	}
	if _, err := NewHostPEER(Config{Heads: 1, KNN: 1, NKeys: 2, KDim: 2}, p.up, p.values); err == nil {
		t.Error("a config without peer=true accepted")
	}
}

// TestGeluDerivative compares geluDerivative with a central difference of gelu.
func TestGeluDerivative(t *testing.T) {
	for _, x := range []float64{-3, -1, -0.2, 0, 0.5, 2} {
		const h = 1e-3
		fd := (float64(gelu(float32(x+h))) - float64(gelu(float32(x-h)))) / (2 * h)
		if got := float64(geluDerivative(float32(x))); math.Abs(got-fd) > 1e-3 {
			t.Errorf("gelu'(%g) = %g, central difference %g", x, got, fd)
		}
	}
}
