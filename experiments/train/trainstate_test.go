package train

import (
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/results"
)

// FuzzDecodeTrainState: any stored training state is refused with a one-line error or decodes to a state
// that a batcher accepts or refuses cleanly and that encodes back to an equal state.
func FuzzDecodeTrainState(f *testing.F) {
	st := trainState{
		Version: stateVersion, Step: 12, Batcher: data.BatcherState{Epoch: 2, Index: 3}, Tokens: 768,
		TrainSeconds: 1.5, LastEvalStep: 10, LossSum: 4.25, LossCount: 2, Config: tinyConfig(),
		Evals:     []results.EvalPoint{{Step: 10, Tokens: 640, Metrics: map[string]float64{"val_nll": 2.5, "x": math.NaN()}}},
		Model:     json.RawMessage(`{"dim":8}`),
		Tokenizer: "byte", DataHash: "0123456789abcdef-5",
	}
	good, err := json.Marshal(st)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte(`{"version":1,"step":-1}`))
	f.Add([]byte(`{"version":1,"step":3,"last_eval_step":4}`))
	f.Add([]byte(`{"step":1e400}`))
	f.Add([]byte(`{"batcher":{"epoch":0,"index":99999999999}}`))
	windows := data.PackDocuments(data.ByteTokenizer{}, repeatedText().Documents, 16)
	f.Fuzz(func(t *testing.T, text []byte) {
		st, err := decodeTrainState(text)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		b, err := data.NewBatcher(windows, 4, 1)
		if err != nil {
			t.Fatal(err)
		}
		if err := b.SetState(st.Batcher); err == nil {
			_ = b.Next() // a state the batcher accepts must serve a batch
		}
		once, err := json.Marshal(st)
		if err != nil {
			t.Fatalf("a decoded state does not encode: %v", err)
		}
		back, err := decodeTrainState(once)
		if err != nil {
			t.Fatalf("a re-encoded state is refused: %v\n%s", err, once)
		}
		if twice, _ := json.Marshal(back); string(twice) != string(once) {
			t.Fatalf("unstable state:\n%s\n%s", once, twice)
		}
	})
}
