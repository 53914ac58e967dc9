package lab

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/memlayers/memlayers/experiments/results"
)

// WriteSweepTable prints a sweep's table: the memorize sweep's own columns
// (what the models store), the paper's columns for the others (WriteTable).
// The memorize table's time is the training steps' time summed over every
// session of a run ("train s", the time its tok/s divides); wall time adds
// evaluations and compilation, and runs recorded before it counted earlier
// sessions (no earlier_wall_seconds) cover only their last one.
func WriteSweepTable(w io.Writer, s Sweep, runs []*results.Run) {
	if s.Name != "memorize" {
		WriteTable(w, runs)
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tseeds\tparams\tno emb.\tFLOPs/token\tseen recall %\tword acc %\tstored bits\trecall bits\tbits/param\tno emb.\t"+
		"held-out EM %\theld-out NLL\tslots read %\tread KL\ttok/s\ttrain s\t")
	for _, r := range Aggregate(runs) {
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%.0f\t\n", r.Name, r.Seeds,
			human(int64(r.Mean["total_params"])), human(int64(r.Mean["total_params"]-r.Mean["embedding_params"])),
			human(int64(r.Mean["flops_per_token"])), pm(r, "train_qa_em", 100), pm(r, "train_qa_word_acc", 100),
			pmInt(r, "stored_bits"), pmInt(r, "recall_bits"), pm(r, "bits_per_param", 1), pm(r, "bits_per_param_no_emb", 1),
			pm(r, "eval_qa_em", 100), pm(r, "eval_qa_nll", 1), pm(r, "slots_used", 100), pm(r, "usage_kl", 1),
			r.Mean["tokens_per_second"], r.Mean["train_seconds"])
	}
	tw.Flush()
}

// pmInt formats a count as mean ± std, rounded.
func pmInt(r Row, key string) string {
	m, ok := r.Mean[key]
	if !ok || math.IsNaN(m) {
		return "-"
	}
	if r.Seeds > 1 {
		return fmt.Sprintf("%.0f±%.0f", m, r.Std[key])
	}
	return fmt.Sprintf("%.0f", m)
}

// memorizeSection writes the memorize sweep's section of the report
// (Markdown) at preset, which only some presets have (memorizeScales).
func memorizeSection(w io.Writer, resultsDir, preset string, seeds []int64) error {
	if _, ok := memorizeScales[preset]; !ok {
		fmt.Fprintf(w, "The memorize sweep has no %s preset (only tiny and small).\n", preset)
		return nil
	}
	return sweepSection("memorize", writeMemorizeTable)(w, resultsDir, preset, seeds)
}

// writeMemorizeTable writes what each model of the memorize sweep stores, its
// memory's use of its slots (host path: the share of slots the training text
// reads and the KL of the reads from uniform, averaged over memory layers),
// and the paper's claims judged on the bits stored.
func writeMemorizeTable(w io.Writer, runs []*results.Run) {
	rows := Aggregate(runs)
	fmt.Fprintln(w, "| model | seeds | params | FLOPs/token | seen recall % | stored bits | bits/param | bits/param w/o emb. | held-out EM % | slots read % | read KL (nats) |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		fmt.Fprintf(w, "| %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", r.Name, r.Seeds, human(int64(r.Mean["total_params"])),
			human(int64(r.Mean["flops_per_token"])), pm(r, "train_qa_em", 100), pmInt(r, "stored_bits"),
			pm(r, "bits_per_param", 1), pm(r, "bits_per_param_no_emb", 1), pm(r, "eval_qa_em", 100),
			pm(r, "slots_used", 100), pm(r, "usage_kl", 1))
	}
	fmt.Fprintln(w)
	WriteClaims(w, MemorizeClaims(rows))
}

// maxFlatLossDrop is the largest fall of the training loss over the last
// tenth of a run that still counts as flattened (2%).
const maxFlatLossDrop = 0.02

// bitsKey is the memorize sweep's measure of knowledge: the bits of the
// facts a model holds by Allen-Zhu & Li's bound from the answer NLL.
const bitsKey = "stored_bits"

// MemorizeClaims judges the paper's capacity claims on the memorize sweep's
// rows: whether the dense base is out of capacity (else the sweep measures
// training, not capacity), whether the stored bits grow with the memory and
// reach the dense models with 2× and 4× the FLOPs, Memory+ against MoE and
// vanilla memory, and held-out extraction on the biographies.
func MemorizeClaims(rows []Row) []Claim {
	facts, bios := splitBiosRows(rows)
	var out []Claim
	const regime = "Regime: the dense base runs out of capacity (recall well below 100% after ≥ 100 exposures while its training loss has flattened)"
	dense, ok := get(facts, "dense")
	if !ok {
		return []Claim{notYet(regime)}
	}
	drop, hasDrop := dense.Mean["loss_drop_last_tenth"]
	verdict := "reached"
	switch {
	case dense.Mean["train_qa_em"] >= 0.9:
		verdict = "not reached: the dense base recalls nearly every fact, so the sweep measures training, not capacity"
	case !hasDrop:
		verdict = "not known: the results files do not say whether the training loss flattened"
	case drop > maxFlatLossDrop:
		verdict = fmt.Sprintf("not reached: the dense base's training loss still fell %.1f%% in the last tenth of training, "+
			"so it is bound by exposures, not capacity", 100*drop)
	}
	measured := fmt.Sprintf("dense base: %s%% of %.0f facts recalled after %.0f exposures, %s bits stored of %.0f (%s bits/param)",
		pm(dense, "train_qa_em", 100), dense.Mean["train_qa_n"], dense.Mean["exposures"], pmInt(dense, bitsKey),
		dense.Mean["data_bits"], pm(dense, "bits_per_param", 1))
	if hasDrop {
		measured += fmt.Sprintf("; training loss fell %.1f%% in the last tenth", 100*drop)
	}
	out = append(out, Claim{Paper: regime, Measured: measured,
		Verdict: verdict, Notes: oneSeedNote(dense)})

	mem := memoryRows(facts)
	const fig1 = "Fig. 1: at equal FLOPs, memory models store more facts as the memory grows"
	if len(mem) < 3 {
		out = append(out, notYet(fig1))
	} else {
		out = append(out, growthClaim(fig1, mem, dense, bitsKey, "bits stored"))
	}
	best := bestRow(mem, bitsKey)
	for _, ref := range []string{"dense-x2", "dense-x4"} {
		paper := fmt.Sprintf("The best memory model stores as much as the dense model with %s× the FLOPs", strings.TrimPrefix(ref, "dense-x"))
		out = append(out, pairClaim(paper, best, ref, facts))
	}
	out = append(out,
		pairClaim("Memory+ stores more than MoE matched on parameters", rowOr(facts, "memory+"), "moe", facts),
		pairClaim("Memory+ stores more than vanilla memory (one layer) of the same table size", rowOr(facts, "memory+"), "memory-64x64", facts),
		sameClaim("PEER stores about as much as vanilla memory of the same parameters", rowOr(facts, "peer"), "memory-64x64", facts))

	const extraction = "Biographies at ≥ 100 exposures: held-out people's facts are extracted better as the memory grows"
	if bm := memoryRows(bios); len(bm) < 2 {
		out = append(out, notYet(extraction))
	} else {
		bd, _ := get(bios, "dense")
		out = append(out, growthClaim(extraction, bm, bd, "eval_qa_em", "held-out exact match"))
	}
	return out
}

// memoryRows are the memory-N×N rows, smallest memory first.
func memoryRows(rows []Row) []Row {
	var mem []Row
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "memory-") {
			mem = append(mem, r)
		}
	}
	sort.Slice(mem, func(i, j int) bool { return mem[i].Mean["memory_value_params"] < mem[j].Mean["memory_value_params"] })
	return mem
}

func bestRow(rows []Row, key string) Row {
	var best Row
	for _, r := range rows {
		if best.Name == "" || r.Mean[key] > best.Mean[key] {
			best = r
		}
	}
	return best
}

func rowOr(rows []Row, name string) Row {
	r, _ := get(rows, name)
	return r
}

// growthClaim judges "key grows with the memory, above the dense base": the
// rank correlation of key with memory size, and the largest memory against
// the dense base beyond the seed spread.
func growthClaim(paper string, mem []Row, dense Row, key, what string) Claim {
	var xs, ys []float64
	var parts []string
	scale := 1.0
	if strings.HasSuffix(key, "_em") {
		scale = 100
	}
	for _, r := range mem {
		xs = append(xs, math.Log(r.Mean["memory_value_params"]))
		ys = append(ys, r.Mean[key])
		parts = append(parts, fmt.Sprintf("%s: %s", strings.TrimPrefix(r.Name, "memory-"), pmG(r, key, scale)))
	}
	rho := rankCorrelation(xs, ys)
	big := mem[len(mem)-1]
	measured := fmt.Sprintf("%s by memory size: %s; rank correlation with size %.2f", what, strings.Join(parts, ", "), rho)
	if dense.Name == "" {
		return Claim{Paper: paper, Measured: measured, Verdict: "no dense base to compare with yet"}
	}
	c := compareOn(big, dense, key)
	measured += fmt.Sprintf("; dense base %s", pmG(dense, key, scale))
	v := "does not hold"
	switch {
	case rho > 0.5 && c.better > 0:
		v = "holds"
	case c.better == 0:
		v = "within the seed spread"
	case rho > 0.5 || c.better > 0:
		v = "mixed (grows with size but not above the dense base, or the reverse)"
	}
	return Claim{Paper: paper, Measured: measured, Verdict: v, Notes: oneSeedNote(append([]Row{dense}, mem...)...)}
}

// pairClaim judges "a stores more bits than the row named b".
func pairClaim(paper string, a Row, b string, rows []Row) Claim {
	return judgeBits(paper, a, b, rows, map[int]string{1: "holds", 0: "within the seed spread", -1: "does not hold"})
}

// sameClaim judges "a stores about as many bits as the row named b": a
// difference within the seed spread is what the claim says.
func sameClaim(paper string, a Row, b string, rows []Row) Claim {
	return judgeBits(paper, a, b, rows, map[int]string{1: "does not hold: stores more", 0: "holds: within the seed spread",
		-1: "does not hold: stores less"})
}

// judgeBits compares the bits stored by a and by the row named b, with the
// verdict for a storing more (1), as much within the spread (0) or less (-1),
// unless both hold every fact, which leaves nothing to compare.
func judgeBits(paper string, a Row, b string, rows []Row, verdicts map[int]string) Claim {
	rb, ok := get(rows, b)
	if a.Name == "" || !ok {
		return notYet(paper)
	}
	c := compareOn(a, rb, bitsKey)
	v := verdicts[c.better]
	if recallsAll(a) && recallsAll(rb) {
		v = fmt.Sprintf("cannot tell: both recall every fact, so the data's %.0f bits are the ceiling of both "+
			"(more facts would tell them apart)", a.Mean["data_bits"])
	}
	return Claim{Paper: paper,
		Measured: fmt.Sprintf("bits stored: %s %s vs %s %s (difference %+.0f, spread ±%.0f)",
			a.Name, pmInt(a, bitsKey), b, pmInt(rb, bitsKey), c.diff, c.spread),
		Verdict: v, Notes: oneSeedNote(a, rb)}
}

// ceilingRecall is the exact recall at which a model holds all the facts:
// two such models differ only in how sure they are of answers they both get
// right, not in what they store.
const ceilingRecall = 0.999

// recallsAll says whether r recalls (nearly) every seen fact exactly.
func recallsAll(r Row) bool { return r.Mean["train_qa_em"] >= ceilingRecall }

// pmG formats mean ± std with three significant digits.
func pmG(r Row, key string, scale float64) string {
	if r.Seeds > 1 {
		return fmt.Sprintf("%.3g±%.2g", scale*r.Mean[key], scale*r.Std[key])
	}
	return fmt.Sprintf("%.3g", scale*r.Mean[key])
}

// rankCorrelation is Spearman's rank correlation with ties given their mean
// rank (equal values, such as a recall of 0% at several sizes, must not
// count as a trend); 0 when either side is constant.
func rankCorrelation(xs, ys []float64) float64 {
	rx, ry := meanRanks(xs), meanRanks(ys)
	mean := func(v []float64) float64 {
		s := 0.0
		for _, x := range v {
			s += x
		}
		return s / float64(len(v))
	}
	mx, my := mean(rx), mean(ry)
	var sxy, sxx, syy float64
	for i := range rx {
		dx, dy := rx[i]-mx, ry[i]-my
		sxy, sxx, syy = sxy+dx*dy, sxx+dx*dx, syy+dy*dy
	}
	if sxx == 0 || syy == 0 {
		return 0
	}
	return sxy / math.Sqrt(sxx*syy)
}

// meanRanks ranks v from 0, giving tied values the mean of their ranks.
func meanRanks(v []float64) []float64 {
	idx := make([]int, len(v))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	r := make([]float64, len(v))
	for lo := 0; lo < len(idx); {
		hi := lo
		for hi+1 < len(idx) && v[idx[hi+1]] == v[idx[lo]] {
			hi++
		}
		for k := lo; k <= hi; k++ {
			r[idx[k]] = float64(lo+hi) / 2
		}
		lo = hi + 1
	}
	return r
}
