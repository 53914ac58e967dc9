package results

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// FuzzReadRun: any results file either fails to decode or decodes to a run that encodes again, and that
// encoding is stable (decode then encode gives the same bytes), non-finite metrics included.
func FuzzReadRun(f *testing.F) {
	sample, err := json.Marshal(sampleRun())
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Add([]byte(`{"experiment":"x","final":{"a":"NaN","b":"-Inf","c":1e308},"evals":[{"step":1,"metrics":{"m":"+Inf"}}]}`))
	f.Add([]byte(`{"experiment":"x","final":{"a":"nan"}}`))
	f.Add([]byte(`{"experiment":"x","config":{"n_keys":128},"started_at":"2026-11-29T10:00:00.123Z"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Run
		if err := json.Unmarshal(data, &r); err != nil {
			return
		}
		once, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("a decoded run cannot be written back: %v", err)
		}
		var again Run
		if err := json.Unmarshal(once, &again); err != nil {
			t.Fatalf("a written run cannot be read back: %v\n%s", err, once)
		}
		twice, err := json.Marshal(again)
		if err != nil || string(twice) != string(once) {
			t.Fatalf("unstable encoding (%v):\n%s\n%s", err, once, twice)
		}
	})
}

// FuzzMetricFloat: a metric value reads as a number or one of "NaN", "+Inf", "Inf", "-Inf", and writes
// back to the same float64 bits (any NaN as NaN).
func FuzzMetricFloat(f *testing.F) {
	for _, s := range []string{`1.5`, `-0`, `1e-320`, `"NaN"`, `"+Inf"`, `"Inf"`, `"-Inf"`, `"nan"`, `null`, `"1"`, `1e999`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var v jsonFloat
		if err := v.UnmarshalJSON(data); err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		out, err := v.MarshalJSON()
		if err != nil {
			t.Fatalf("%v (from %q) does not encode: %v", float64(v), data, err)
		}
		var back jsonFloat
		if err := back.UnmarshalJSON(out); err != nil {
			t.Fatalf("%s does not decode: %v", out, err)
		}
		a, b := float64(v), float64(back)
		if !(math.IsNaN(a) && math.IsNaN(b)) && math.Float64bits(a) != math.Float64bits(b) {
			t.Fatalf("%q → %v → %s → %v", data, a, out, b)
		}
	})
}
