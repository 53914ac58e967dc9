package lab

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/memlayers/memlayers/experiments/lm"
)

// Sweep is a named list of runs that checks one claim of the paper.
type Sweep struct {
	Name  string `json:"name"`
	Title string `json:"title"`
	Claim string `json:"claim"` // what the paper says, in our words
	Runs  []Spec `json:"runs"`
}

// SweepNames lists the sweeps in the order of the paper.
var SweepNames = []string{"scaling", "compare", "ablations", "capacity", "memorize"}

func boolPtr(b bool) *bool { return &b }

// SweepByName builds a sweep at a preset for the given seeds.
func SweepByName(name, preset string, seeds []int64) (Sweep, error) {
	p, err := PresetByName(preset)
	if err != nil {
		return Sweep{}, err
	}
	if len(seeds) == 0 {
		seeds = []int64{1}
	}
	var s Sweep
	add := func(spec Spec) {
		for _, seed := range seeds {
			spec := spec
			spec.Preset, spec.Seed = preset, seed
			s.Runs = append(s.Runs, spec)
		}
	}
	memKeys := p.Memory.NKeys
	switch name {
	case "scaling":
		s = Sweep{Name: name, Title: "Memory scaling (paper Fig. 1)",
			Claim: "factual QA improves steadily as the memory grows, at a fixed base model and almost fixed compute"}
		add(Spec{Model: lm.KindDense})
		add(Spec{Name: "dense-x4", Model: lm.KindDense, DenseScale: 4, ScaleBy: "width"})
		for _, n := range []int{memKeys / 4, memKeys / 2, memKeys, memKeys * 2, memKeys * 4} {
			add(Spec{Name: fmt.Sprintf("memory-%dx%d", n, n), Model: lm.KindMemory, NKeys: n})
		}
	case "compare":
		s = Sweep{Name: name, Title: "Compute-matched comparison (paper's main table)",
			Claim: "memory+ beats dense models with 2-4x its compute and MoE matched on parameters on factual QA"}
		add(Spec{Name: "dense", Model: lm.KindDense})
		add(Spec{Name: "dense-x2", Model: lm.KindDense, DenseScale: 2, ScaleBy: "width"})
		add(Spec{Name: "dense-x4", Model: lm.KindDense, DenseScale: 4, ScaleBy: "width"})
		add(Spec{Name: "moe", Model: lm.KindMoE})
		add(Spec{Name: "peer", Model: lm.KindPEER})
		add(Spec{Name: "memory", Model: lm.KindMemory})
		add(Spec{Name: "memory+", Model: lm.KindMemoryPlus})
	case "ablations":
		s = Sweep{Name: name, Title: "Ablations (paper Tables 3-4)",
			Claim: "three shared memory layers beat one or six; SiLU gating helps; a larger value dim is better at a fixed parameter count"}
		const layers = 4 // room for 1, 3 and all-layer placements
		add(Spec{Name: "memory+ (3 layers)", Model: lm.KindMemoryPlus, Layers: layers})
		add(Spec{Name: "1 layer", Model: lm.KindMemory, Layers: layers})
		add(Spec{Name: "all 4 layers", Model: lm.KindMemoryPlus, Layers: layers, MemLayers: []int{0, 1, 2, 3}})
		add(Spec{Name: "no SiLU gate", Model: lm.KindMemoryPlus, Layers: layers, SwiLU: boolPtr(false)})
		add(Spec{Name: "no qk-norm", Model: lm.KindMemoryPlus, Layers: layers, QKNorm: boolPtr(false)})
		add(Spec{Name: "value lr x0.3", Model: lm.KindMemoryPlus, Layers: layers, ValueLRx: 0.3})
		add(Spec{Name: "value lr x10", Model: lm.KindMemoryPlus, Layers: layers, ValueLRx: 10})
		// Same number of value parameters (rows × v_dim), different shapes.
		add(Spec{Name: "v_dim/4, 2x n_keys", Model: lm.KindMemoryPlus, Layers: layers, NKeys: 2 * memKeys, VDim: p.Model.Dim / 4})
		add(Spec{Name: "knn/2", Model: lm.KindMemoryPlus, Layers: layers, KNN: max(1, p.Memory.KNN/2)})
		add(Spec{Name: "1 head", Model: lm.KindMemoryPlus, Layers: layers, MemHeads: 1})
	case "capacity":
		s = Sweep{Name: name, Title: "Knowledge capacity (after Allen-Zhu & Li)",
			Claim: "dense models store about 2 bits of facts per parameter; memory parameters add capacity at fixed compute"}
		base := p.People
		for _, people := range []int{base / 2, base, base * 2, base * 4} {
			add(Spec{Name: fmt.Sprintf("dense-people%d", people), Model: lm.KindDense, People: people})
			add(Spec{Name: fmt.Sprintf("memory-people%d", people), Model: lm.KindMemory, People: people})
		}
	case "memorize":
		s = Sweep{Name: name, Title: "Factual capacity at equal compute (paper Fig. 1, capacity regime)",
			Claim: "at equal FLOPs, memory models store more facts as the memory grows, toward dense models with 2-4x the compute"}
		if err := memorizeRuns(preset, add); err != nil {
			return Sweep{}, err
		}
	default:
		return Sweep{}, fmt.Errorf("lab: sweep %q unknown; choose one of %s", name, strings.Join(SweepNames, ", "))
	}
	for i := range s.Runs {
		if s.Runs[i].Name != "" {
			continue
		}
		s.Runs[i].Name = s.Runs[i].Label()
	}
	sort.SliceStable(s.Runs, func(i, j int) bool { return s.Runs[i].Seed < s.Runs[j].Seed })
	return s, nil
}

// FileName is the results file of one run of a sweep, relative to results/.
func (s Sweep) FileName(spec Spec) string {
	clean := strings.NewReplacer(" ", "_", "/", "-", "(", "", ")", "", "+", "plus", ",", "").Replace(spec.Name)
	return fmt.Sprintf("%s/%s/%s-seed%d.json", s.Name, spec.Preset, clean, spec.Seed)
}

// Run returns the spec of the sweep's run called name (its Label) for seed:
// the starting point of rerunning one run of a sweep with one change
// (memlab train --like). The error lists the sweep's run names.
func (s Sweep) Run(name string, seed int64) (Spec, error) {
	var names []string
	for _, r := range s.Runs {
		if r.Label() == name && r.Seed == seed {
			return r, nil
		}
		if q := strconv.Quote(r.Label()); !slices.Contains(names, q) {
			names = append(names, q)
		}
	}
	return Spec{}, fmt.Errorf("lab: sweep %s has no run %q with seed %d; its runs are %s", s.Name, name, seed, strings.Join(names, ", "))
}

// Only keeps the runs whose name matches the regular expression pattern (an
// unanchored match, e.g. "knn|1 head"), to train part of a sweep, say in a
// second process or after changing one configuration. It is an error when
// the pattern is invalid or matches no run.
func (s Sweep) Only(pattern string) (Sweep, error) {
	re, err := regexp.Compile(pattern)
	if err != nil {
		return s, fmt.Errorf("lab: only=%q: not a regular expression: %v", pattern, err)
	}
	var runs []Spec
	names := map[string]bool{}
	var all []string
	for _, r := range s.Runs {
		if !names[r.Name] {
			names[r.Name] = true
			all = append(all, strconv.Quote(r.Name))
		}
		if re.MatchString(r.Name) {
			runs = append(runs, r)
		}
	}
	if len(runs) == 0 {
		return s, fmt.Errorf("lab: only=%q matches no run of sweep %s; its runs are %s", pattern, s.Name, strings.Join(all, ", "))
	}
	s.Runs = runs
	return s, nil
}

// WithValueLR sets the value learning rate of every run with memory layers to
// factor × the base learning rate (Spec.ValueLRx): the diagnostic of whether a
// memory stores less because its values learn too slowly. The factor is part
// of each run's identity, so such runs never mix with the preset's.
func (s Sweep) WithValueLR(factor float64) Sweep {
	return s.withEachRun(func(r *Spec) {
		if r.Model.IsMemory() {
			r.ValueLRx = factor
		}
	})
}

// withEachRun returns the sweep with change applied to a copy of each run,
// leaving s's runs as they are.
func (s Sweep) withEachRun(change func(*Spec)) Sweep {
	runs := make([]Spec, len(s.Runs))
	for i, r := range s.Runs {
		change(&r)
		runs[i] = r
	}
	s.Runs = runs
	return s
}
