package train

import (
	"encoding/json"
	"fmt"
	"math"
)

// decodeTrainState reads the training state stored in a checkpoint (StateParam), refusing values that no
// save writes (negative counts, an evaluation after the current step, non-finite sums), so that a damaged
// or hand-edited checkpoint is reported instead of resumed into nonsense. Its error is one line.
func decodeTrainState(text []byte) (trainState, error) {
	var st trainState
	if err := json.Unmarshal(text, &st); err != nil {
		return trainState{}, fmt.Errorf("training state: %s", oneLine(err.Error()))
	}
	finite := func(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }
	bad := func(field string, value any) (trainState, error) {
		return trainState{}, fmt.Errorf("training state: %s=%v is impossible", field, value)
	}
	switch {
	case st.Step < 0:
		return bad("step", st.Step)
	case st.Tokens < 0:
		return bad("tokens", st.Tokens)
	case st.TrainSeconds < 0 || !finite(st.TrainSeconds):
		return bad("train_seconds", st.TrainSeconds)
	case st.WallSeconds < 0 || !finite(st.WallSeconds):
		return bad("wall_seconds", st.WallSeconds)
	case st.LastEvalStep < 0 || st.LastEvalStep > st.Step:
		return bad("last_eval_step", st.LastEvalStep)
	case st.LossCount < 0 || st.LossCount > st.Step:
		return bad("loss_count", st.LossCount)
	case !finite(st.LossSum):
		return bad("loss_sum", st.LossSum)
	case st.Batcher.Epoch < 0 || st.Batcher.Index < 0:
		return bad("batcher", fmt.Sprintf("%+v", st.Batcher))
	}
	for _, e := range st.Evals {
		if e.Step < 0 || e.Step > st.Step {
			return bad("evals.step", e.Step)
		}
	}
	return st, nil
}
