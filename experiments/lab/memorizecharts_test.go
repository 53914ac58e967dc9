package lab

import (
	"math"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/plot"
)

// memorizeRows makes aggregated rows of a finished memorize sweep whose
// memory models store grow with the memory (growth > 0) or not (growth 0).
func memorizeRows(denseRecall, growth float64) []Row {
	row := func(name string, m map[string]float64) Row {
		std := map[string]float64{}
		for k, v := range m {
			std[k] = 0.02 * v
		}
		return Row{Name: name, Seeds: 2, Mean: m, Std: std}
	}
	base := func(params, values, bits, em float64) map[string]float64 {
		return map[string]float64{"total_params": params, "memory_value_params": values, "stored_bits": bits,
			"train_qa_em": em, "data_bits": 200000, "flops_per_token": 230000, "bits_per_param": bits / params,
			"eval_qa_em": em / 4, "eval_qa_nll": 5 - em, "train_qa_n": 6250, "exposures": 100,
			"loss_drop_last_tenth": 0.005}
	}
	rows := []Row{
		row("dense", base(92e3, 0, 90e3, denseRecall)),
		row("dense-x2", base(190e3, 0, 130e3, 0.7)),
		row("dense-x4", base(410e3, 0, 170e3, 0.85)),
		row("moe", base(245e3, 0, 95e3, 0.47)),
		row("memory+", base(214e3, 131e3, 90e3+growth*60e3, 0.5)),
		row("peer", base(222e3, 135e3, 92e3, 0.46)),
	}
	for i, n := range []string{"16x16", "32x32", "64x64", "128x128", "256x256"} {
		values := 8192.0 * float64(int(1)<<(2*i))
		bits := 88e3 + growth*float64(i)*25e3
		rows = append(rows, row("memory-"+n, base(92e3+values, values, bits, denseRecall+growth*float64(i)/10)))
		if i%2 == 0 {
			rows = append(rows, row("bios-memory-"+n, base(115e3+values, values, 0, 0.02+growth*float64(i)/20)))
		}
	}
	rows = append(rows, row("bios-dense", base(115e3, 0, 0, 0.02)))
	return rows
}

func TestMemorizeCharts(t *testing.T) {
	sw, err := SweepByName("memorize", "small", []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	charts, err := SweepCharts(sw, memorizeRows(0.45, 1))
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, c := range charts {
		files = append(files, c.File)
		if _, err := plot.PNG(c.Plot, 0, 0); err != nil {
			t.Errorf("%s: %v", c.File, err)
		}
	}
	want := "memorize-small-recall memorize-small-bits memorize-small-params memorize-small-bios memorize-small-bios-nll"
	if strings.Join(files, " ") != want {
		t.Errorf("charts %v, want %s", files, want)
	}
	// The bits-vs-parameters legend names the memory sizes that have results.
	var no256 []Row
	for _, r := range memorizeRows(0.45, 1) {
		if r.Name != "memory-256x256" {
			no256 = append(no256, r)
		}
	}
	if charts, err = SweepCharts(sw, no256); err != nil {
		t.Fatal(err)
	}
	for _, c := range charts {
		if c.File != "memorize-small-params" {
			continue
		}
		svg, err := plot.SVG(c.Plot, 0, 0)
		if err != nil {
			t.Fatal(err)
		}
		if want := "memory, one layer (16² … 128²)"; !strings.Contains(string(svg), want) {
			t.Errorf("the parameters chart does not say %q", want)
		}
	}
	// A partial sweep draws what it can; none at all is an error.
	if charts, err := SweepCharts(sw, memorizeRows(0.45, 1)[:1]); err != nil || len(charts) != 1 {
		t.Errorf("dense only: %d charts (%v), want the bits-vs-parameters chart alone", len(charts), err)
	}
	if _, err := SweepCharts(sw, nil); err == nil {
		t.Error("no rows: no error")
	}
}

func TestMemorizeClaims(t *testing.T) {
	verdicts := func(rows []Row) map[string]string {
		out := map[string]string{}
		for _, c := range MemorizeClaims(rows) {
			out[c.Paper] = c.Verdict
		}
		return out
	}
	grows := verdicts(memorizeRows(0.45, 1))
	flat := verdicts(memorizeRows(0.45, 0))
	saturated := verdicts(memorizeRows(0.97, 1))
	check := func(what string, got map[string]string, prefix, want string) {
		t.Helper()
		for paper, v := range got {
			if strings.HasPrefix(paper, prefix) {
				if !strings.HasPrefix(v, want) {
					t.Errorf("%s: %q judged %q, want %q", what, paper, v, want)
				}
				return
			}
		}
		t.Errorf("%s: no claim starting %q", what, prefix)
	}
	check("growing memory", grows, "Regime", "reached")
	check("growing memory", grows, "Fig. 1", "holds")
	check("growing memory", grows, "The best memory model stores as much as the dense model with 2×", "holds")
	check("growing memory", grows, "The best memory model stores as much as the dense model with 4×", "holds")
	check("growing memory", grows, "Memory+ stores more than MoE", "holds")
	check("growing memory", grows, "Biographies", "holds")
	check("growing memory", grows, "PEER stores about as much", "does not hold: stores less") // 92k bits against 138k
	same := memorizeRows(0.45, 1)
	for i, r := range same {
		if r.Name == "peer" {
			same[i].Mean["stored_bits"] = 138e3 - 1e3 // memory-64x64 stores 138k ± 2.8k
		}
	}
	check("PEER within the spread of memory 64²", verdicts(same), "PEER stores about as much", "holds")
	check("flat memory", flat, "Fig. 1", "does not hold")
	check("flat memory", flat, "The best memory model stores as much as the dense model with 2×", "does not hold")
	check("flat memory", flat, "Biographies", "within the seed spread") // every size ties with the dense base
	check("dense recalls everything", saturated, "Regime", "not reached")
	// Where the best memory and dense ×4 both recall every fact, the data is the ceiling and a few bits of
	// answer NLL between them say nothing about capacity.
	ceiling := memorizeRows(0.45, 1)
	for i, r := range ceiling {
		if r.Name == "dense-x4" || r.Name == "memory-256x256" {
			ceiling[i].Mean["train_qa_em"], ceiling[i].Mean["stored_bits"] = 1, 199990-float64(i)
		}
	}
	check("both at the ceiling", verdicts(ceiling), "The best memory model stores as much as the dense model with 4×", "cannot tell")
	check("both at the ceiling", verdicts(ceiling), "The best memory model stores as much as the dense model with 2×", "holds")
	learning := memorizeRows(0.45, 1)
	learning[0].Mean["loss_drop_last_tenth"] = 0.08 // pilot B's dense base: still learning at the end
	check("dense still learning", verdicts(learning), "Regime", "not reached")
	delete(learning[0].Mean, "loss_drop_last_tenth")
	check("older results files", verdicts(learning), "Regime", "not known")
	if got := MemorizeClaims(nil); len(got) != 1 || got[0].Verdict != "not measured yet" {
		t.Errorf("no rows: %+v", got)
	}
}

func TestRankCorrelation(t *testing.T) {
	for _, c := range []struct {
		xs, ys []float64
		want   float64
	}{
		{[]float64{1, 2, 3, 4}, []float64{10, 20, 30, 40}, 1},
		{[]float64{1, 2, 3, 4}, []float64{4, 3, 2, 1}, -1},
		{[]float64{1, 2, 3, 4}, []float64{0, 0, 0, 0}, 0}, // ties are no trend
		{[]float64{1, 2, 3}, []float64{0, 0, 1}, 0.8660254037844387},
	} {
		if got := rankCorrelation(c.xs, c.ys); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("rankCorrelation(%v, %v) = %v, want %v", c.xs, c.ys, got, c.want)
		}
	}
}
