package train

import (
	"fmt"

	"github.com/gomlx/gomlx/core/tensors"

	"github.com/memlayers/memlayers/memlayer"
)

// memoryUsage reads the training text once, with the model as it is, and
// returns for every memory layer m on the host path the share of its table's
// slots that the text reads ("slots_used_m<m>") and the KL divergence (nats)
// of those reads from uniform ("usage_kl_m<m>"; memlayer.UsageOf), and their
// means over the layers ("slots_used", "usage_kl"). They tell whether a
// memory spreads what it stores over its slots or reads a few of them. The
// reading does not depend on the training's history, so a resumed run reports
// the same numbers.
func (t *Trainer) memoryUsage() (map[string]float64, error) {
	p := t.host
	counts := make([][]int32, len(p.mems))
	for start := 0; start < len(t.windows); start += t.cfg.BatchSize {
		batch := t.windows[start:min(start+t.cfg.BatchSize, len(t.windows))]
		flat := make([]int32, 0, len(batch)*t.cfg.SeqLen)
		for _, w := range batch {
			flat = append(flat, w[:t.cfg.SeqLen]...)
		}
		if _, _, err := p.forward(tensors.FromFlatDataAndDimensions(flat, len(batch), t.cfg.SeqLen)); err != nil {
			return nil, fmt.Errorf("train: memory usage: %w", err)
		}
		for m, mem := range p.mems {
			counts[m] = append(counts[m], mem.lookup().Indices...)
		}
	}
	out := map[string]float64{}
	for m, mem := range p.mems {
		c := mem.config()
		u, err := memlayer.UsageOf(counts[m], c.NKeys*c.NKeys)
		if err != nil {
			return nil, fmt.Errorf("train: memory usage of layer %d: %w", m, err)
		}
		out[fmt.Sprintf("slots_used_m%d", m)] = u.Fraction
		out[fmt.Sprintf("usage_kl_m%d", m)] = u.KL
		out["slots_used"] += u.Fraction / float64(len(p.mems))
		out["usage_kl"] += u.KL / float64(len(p.mems))
	}
	return out, nil
}
