package lab

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/data"
	"github.com/memlayers/memlayers/experiments/lm"
)

// TestMemorizeSweepIsComputeMatched checks the sweep's design at every
// preset: each model costs the dense base's FLOPs per token within ±10%
// (dense ×2 and ×4 excepted, which cost about twice and four times), there
// are at least five memory sizes (three in the newcomer's tiny preset),
// Memory+ replaces at most half of the FFN blocks, MoE and PEER have at
// least the parameters of the memory they are matched to, and every run
// trains for its exposures.
func TestMemorizeSweepIsComputeMatched(t *testing.T) {
	for _, preset := range []string{"tiny", "small"} {
		sw, err := SweepByName("memorize", preset, []int64{1})
		if err != nil {
			t.Fatal(err)
		}
		plans := map[string]*Plan{}
		for _, s := range sw.Runs {
			p, err := Build(s)
			if err != nil {
				t.Fatalf("%s %s: %v", preset, s.Name, err)
			}
			plans[s.Name] = p
		}
		sizes := 0
		for name, p := range plans {
			base := "dense"
			if strings.HasPrefix(name, "bios-") {
				base = "bios-dense"
			}
			ratio := lm.FLOPsRatio(p.Model, plans[base].Model)
			want := 1.0
			switch strings.TrimPrefix(name, "bios-") {
			case "dense-x2":
				want = 2
			case "dense-x4":
				want = 4
			}
			tol := 0.10
			if want > 1 {
				tol = lm.ScaleTolerance
			}
			if math.Abs(ratio/want-1) > tol {
				t.Errorf("%s %s: %.3f× the base's FLOPs per token, want %g× ±%.0f%%", preset, name, ratio, want, 100*tol)
			}
			if strings.HasPrefix(name, "memory-") {
				sizes++
			}
			tokens := data.CorpusTokens(p.Tokenizer, p.Dataset.Documents)
			steps, _ := data.ExposureSteps(tokens, p.Train.SeqLen, p.Train.BatchSize, p.Spec.Exposures)
			if p.Spec.Exposures < 100 || p.Train.Steps != steps {
				t.Errorf("%s %s: %d exposures in %d steps, want >= 100 exposures in ExposureSteps = %d", preset, name, p.Spec.Exposures, p.Train.Steps, steps)
			}
		}
		if wantSizes := map[string]int{"tiny": 3, "small": 5}[preset]; sizes < wantSizes {
			t.Errorf("%s: %d memory sizes on random facts, want >= %d", preset, sizes, wantSizes)
		}
		mp := plans["memory+"].Model
		if n := len(mp.Placement()); n < 1 || 2*n > mp.Layers {
			t.Errorf("%s: Memory+ in layers %v of %d: want memory layers replacing at most half of the FFN blocks", preset, mp.Placement(), mp.Layers)
		}
		ref := lm.Count(plans["memory-64x64"].Model).TotalParams
		for _, name := range []string{"moe", "peer"} {
			if plans[name] == nil {
				if preset != "tiny" {
					t.Errorf("%s: no %s run", preset, name)
				}
				continue
			}
			if got := lm.Count(plans[name].Model).TotalParams; got < ref {
				t.Errorf("%s %s: %d parameters, fewer than the memory it is matched to (%d)", preset, name, got, ref)
			}
		}
		if hasBios := slices.ContainsFunc(sw.Runs, func(s Spec) bool { return s.Dataset == "bios" }); hasBios != (preset != "tiny") {
			t.Errorf("%s: biographies runs %v, want them in every preset but tiny", preset, hasBios)
		}
	}
}

// TestWithValueLR: the factor reaches the value learning rate of the memory
// runs' training configs, and only theirs.
func TestWithValueLR(t *testing.T) {
	sw, err := SweepByName("memorize", "tiny", []int64{1})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sw.WithValueLR(10).Runs {
		p, err := Build(r)
		if err != nil {
			t.Fatal(err)
		}
		want := p.Preset.Train.LR
		if r.Model.IsMemory() {
			want *= 10
		}
		if math.Abs(p.Train.ValueLR-want) > 1e-12 {
			t.Errorf("%s: value LR %g, want %g", r.Name, p.Train.ValueLR, want)
		}
	}
}

// TestSpecLR: Spec.LR replaces the preset's learning rate, the value tables'
// included (then scaled by ValueLRx), and a negative one is refused by name.
func TestSpecLR(t *testing.T) {
	p, err := Build(Spec{Preset: "tiny", LR: 5e-3, Steps: 2})
	if err != nil {
		t.Fatal(err)
	}
	if p.Train.LR != 5e-3 || p.Train.ValueLR != 5e-3 {
		t.Errorf("lr %g, value lr %g; want 5e-3 and 5e-3", p.Train.LR, p.Train.ValueLR)
	}
	if p, err = Build(Spec{Preset: "tiny", Model: lm.KindMemory, LR: 5e-3, ValueLRx: 10, Steps: 2}); err != nil {
		t.Fatal(err)
	} else if math.Abs(p.Train.ValueLR-5e-2) > 1e-12 {
		t.Errorf("value lr %g, want 5e-2", p.Train.ValueLR)
	}
	if _, err := Build(Spec{Preset: "tiny", LR: -1}); err == nil || !strings.Contains(err.Error(), "lr=-1") {
		t.Errorf("negative lr: error %v, want one naming lr=-1", err)
	}
}
