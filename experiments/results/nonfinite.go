package results

import (
	"encoding/json"
	"fmt"
	"math"
)

// A diverged run has NaN or infinite losses, and that is a result worth recording; encoding/json refuses
// such numbers, so metric maps are written with them as the strings "NaN", "+Inf" and "-Inf" and read back
// as the same float64 values.

// jsonFloat is a float64 whose JSON form allows non-finite values.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(v)
}

func (f *jsonFloat) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err == nil {
		switch s {
		case "NaN":
			*f = jsonFloat(math.NaN())
		case "+Inf", "Inf":
			*f = jsonFloat(math.Inf(1))
		case "-Inf":
			*f = jsonFloat(math.Inf(-1))
		default:
			return fmt.Errorf("metric value %q is not a number", s)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	*f = jsonFloat(v)
	return nil
}

func toJSONFloats(m map[string]float64) map[string]jsonFloat {
	if m == nil {
		return nil
	}
	out := make(map[string]jsonFloat, len(m))
	for k, v := range m {
		out[k] = jsonFloat(v)
	}
	return out
}

func fromJSONFloats(m map[string]jsonFloat) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

// The shadowing fields below take precedence over the embedded ones of the same JSON name.

type evalPointAlias EvalPoint

type evalPointJSON struct {
	*evalPointAlias
	Metrics map[string]jsonFloat `json:"metrics"`
}

func (e EvalPoint) MarshalJSON() ([]byte, error) {
	return json.Marshal(evalPointJSON{(*evalPointAlias)(&e), toJSONFloats(e.Metrics)})
}

func (e *EvalPoint) UnmarshalJSON(data []byte) error {
	aux := evalPointJSON{evalPointAlias: (*evalPointAlias)(e)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	e.Metrics = fromJSONFloats(aux.Metrics)
	return nil
}

type runAlias Run

type runJSON struct {
	*runAlias
	Final map[string]jsonFloat `json:"final,omitempty"`
}

func (r Run) MarshalJSON() ([]byte, error) {
	return json.Marshal(runJSON{(*runAlias)(&r), toJSONFloats(r.Final)})
}

func (r *Run) UnmarshalJSON(data []byte) error {
	aux := runJSON{runAlias: (*runAlias)(r)}
	if err := json.Unmarshal(data, &aux); err != nil {
		return err
	}
	r.Final = fromJSONFloats(aux.Final)
	return nil
}
