package lm

import (
	"math"
	"math/rand/v2"
	"testing"

	. "github.com/gomlx/gomlx/core/graph"
	"github.com/gomlx/gomlx/core/tensors"
	"github.com/gomlx/gomlx/ml/model"
)

// referenceDense is a plain-Go float64 forward pass of a dense model, written
// from the textbook definitions (RMSNorm, rotary positions in the rotate-half
// layout, causal softmax attention, SwiGLU), reading the weights Forward
// created in store. It returns logits [B][T][V].
func referenceDense(t *testing.T, store *model.Store, cfg Config, tokens [][]int32) [][][]float64 {
	t.Helper()
	get := func(path string) []float64 {
		v := store.GetVariable(path)
		if v == nil {
			t.Fatalf("no variable %s", path)
		}
		f := tensors.MustCopyFlatData[float32](v.MustValue())
		out := make([]float64, len(f))
		for i, x := range f {
			out[i] = float64(x)
		}
		return out
	}
	d, hd, nh := cfg.Dim, cfg.HeadDim(), cfg.Heads
	// matVec returns x·W for W [in, out] stored row-major.
	matVec := func(x, w []float64, out int) []float64 {
		y := make([]float64, out)
		for i, xi := range x {
			for j := range out {
				y[j] += xi * w[i*out+j]
			}
		}
		return y
	}
	rms := func(x, scale []float64) []float64 {
		var ms float64
		for _, v := range x {
			ms += v * v
		}
		ms /= float64(len(x))
		y := make([]float64, len(x))
		for i := range x {
			y[i] = x[i] / math.Sqrt(ms+cfg.Eps()) * scale[i]
		}
		return y
	}
	rot := func(u []float64, pos int) { // one head, in place
		half := hd / 2
		for i := range half {
			a := float64(pos) * math.Pow(cfg.Rope(), -2*float64(i)/float64(hd))
			x1, x2 := u[i], u[i+half]
			u[i] = x1*math.Cos(a) - x2*math.Sin(a)
			u[i+half] = x2*math.Cos(a) + x1*math.Sin(a)
		}
	}
	emb := get("/embedding/table")
	out := make([][][]float64, len(tokens))
	for b, seq := range tokens {
		n := len(seq)
		h := make([][]float64, n)
		for pos, tok := range seq {
			h[pos] = append([]float64(nil), emb[int(tok)*d:(int(tok)+1)*d]...)
		}
		for l := range cfg.Layers {
			p := "/" + LayerScope(l) + "/"
			wq, wk, wv, wo := get(p+"attn/wq"), get(p+"attn/wk"), get(p+"attn/wv"), get(p+"attn/wo")
			q, k, v := make([][]float64, n), make([][]float64, n), make([][]float64, n)
			for pos := range n {
				x := rms(h[pos], get(p+"attn_norm/scale"))
				q[pos], k[pos], v[pos] = matVec(x, wq, d), matVec(x, wk, d), matVec(x, wv, d)
				for head := range nh {
					rot(q[pos][head*hd:(head+1)*hd], pos)
					rot(k[pos][head*hd:(head+1)*hd], pos)
				}
			}
			for pos := range n {
				mixed := make([]float64, d)
				for head := range nh {
					lo := head * hd
					scores := make([]float64, pos+1)
					maxS := math.Inf(-1)
					for j := 0; j <= pos; j++ {
						for i := range hd {
							scores[j] += q[pos][lo+i] * k[j][lo+i]
						}
						scores[j] /= math.Sqrt(float64(hd))
						maxS = max(maxS, scores[j])
					}
					var z float64
					for j := range scores {
						scores[j] = math.Exp(scores[j] - maxS)
						z += scores[j]
					}
					for j := range scores {
						for i := range hd {
							mixed[lo+i] += scores[j] / z * v[j][lo+i]
						}
					}
				}
				attnOut := matVec(mixed, wo, d)
				for i := range d {
					h[pos][i] += attnOut[i]
				}
			}
			f := cfg.Hidden()
			w1, w3, w2 := get(p+"ffn/w1"), get(p+"ffn/w3"), get(p+"ffn/w2")
			for pos := range n {
				x := rms(h[pos], get(p+"ffn_norm/scale"))
				a, c := matVec(x, w1, f), matVec(x, w3, f)
				for i := range a {
					a[i] = a[i] / (1 + math.Exp(-a[i])) * c[i]
				}
				y := matVec(a, w2, d)
				for i := range d {
					h[pos][i] += y[i]
				}
			}
		}
		out[b] = make([][]float64, n)
		for pos := range n {
			x := rms(h[pos], get("/final_norm/scale"))
			if cfg.TiedEmbeddings {
				out[b][pos] = make([]float64, cfg.Vocab)
				for w := range cfg.Vocab {
					for i := range d {
						out[b][pos][w] += x[i] * emb[w*d+i]
					}
				}
			} else {
				out[b][pos] = matVec(x, get("/output/weights"), cfg.Vocab)
			}
		}
	}
	return out
}

// Forward of a dense model equals an independent plain-Go implementation.
func TestDenseMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for _, tied := range []bool{false, true} {
		cfg := Config{Vocab: 20, Dim: 16, Layers: 2, Heads: 4, SeqLen: 6, Model: KindDense,
			TiedEmbeddings: tied, RopeBase: 100, FFNHidden: 24}
		store := newStore(5)
		tok := randomTokens(rng, 2, cfg.SeqLen, cfg.Vocab)
		got, _ := forward(t, store, cfg, tok)
		want := referenceDense(t, store, cfg, tok)
		var worst float64
		for b := range tok {
			for pos := range cfg.SeqLen {
				for w := range cfg.Vocab {
					diff := math.Abs(float64(got[(b*cfg.SeqLen+pos)*cfg.Vocab+w]) - want[b][pos][w])
					worst = max(worst, diff)
				}
			}
		}
		if worst > 1e-4 {
			t.Errorf("tied=%v: logits differ from the reference by up to %g", tied, worst)
		}
	}
}

// Every kind is differentiable end to end: gradients of a loss on logits and
// aux reach every parameter, are finite, and are non-zero where they should be.
func TestGradients(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			cfg := tinyConfig(t, k)
			store := newStore(3)
			tok := randomTokens(rng, 2, cfg.SeqLen, cfg.Vocab)
			forward(t, store, cfg, tok) // create the variables
			var paths []string
			exec := model.MustNewExec(testBackend(t), store, func(scope *model.Scope, tok *Node) []*Node {
				logits, aux := Forward(scope, cfg, tok)
				loss := Add(ReduceAllMean(Square(logits)), aux)
				var wrt []*Node
				paths = paths[:0]
				for v := range store.IterVariables() {
					if v.Trainable && v.Name()[0] != '#' {
						wrt = append(wrt, v.NodeValue(tok.Graph()))
						paths = append(paths, v.Path())
					}
				}
				return Gradient(loss, wrt...)
			})
			grads, err := exec.Exec(tensors.FromValue(tok))
			if err != nil {
				t.Fatal(err)
			}
			for i, g := range grads {
				var norm float64
				for _, x := range tensors.MustCopyFlatData[float32](g) {
					if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
						t.Fatalf("%s: non-finite gradient", paths[i])
					}
					norm += float64(x) * float64(x)
				}
				if norm == 0 {
					t.Errorf("%s: zero gradient", paths[i])
				}
			}
		})
	}
}
