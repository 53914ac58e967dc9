package lab

import (
	"fmt"
	"io"
	"math"
	"sort"
	"strings"

	"github.com/memlayers/memlayers/experiments/data"
)

// Claim is one statement of the paper checked against our results.
type Claim struct {
	Paper    string // what the paper reports
	Measured string // what our results files say
	Verdict  string // "holds", "does not hold", "not measured yet"
	// Notes are the verdict's caveats (e.g. "one seed only"): many claims
	// share them, so a report prints each once, as a footnote.
	Notes []string
}

// metric used for factual knowledge: the answer NLL of the held-out people's
// questions (the paper's ablation metric), lower is better; and exact match
// on the seen questions, where tiny models reach non-zero scores.
const (
	heldNLL = "eval_qa_nll"
	seenEM  = "train_qa_em"
	seenNLL = "train_qa_nll"
)

// claimChecks pairs each sweep with the claims of the paper its results
// check, in the order of the paper. A new sweep that checks a claim adds an
// entry here.
var claimChecks = []struct {
	sweep  string
	claims func([]Row) []Claim
}{
	{"scaling", scalingClaims},
	{"compare", compareClaims},
	{"ablations", ablationClaims},
	{"capacity", capacityClaims},
}

// Claims loads the sweeps of claimChecks at preset from resultsDir and checks
// each claim.
func Claims(resultsDir, preset string, seeds []int64) ([]Claim, error) {
	load := func(name string) ([]Row, error) {
		sw, err := SweepByName(name, preset, seeds)
		if err != nil {
			return nil, err
		}
		runs, err := LoadSweep(resultsDir, sw)
		if err != nil {
			return nil, err
		}
		return Aggregate(runs), nil
	}
	p, err := PresetByName(preset)
	if err != nil {
		return nil, err
	}
	guess = data.BioFactBits(data.BioConfig{People: p.People, Templates: p.Templates, Seed: 1}) /
		float64(data.BioAttributes()) * math.Ln2
	var claims []Claim
	for _, c := range claimChecks {
		rows, err := load(c.sweep)
		if err != nil {
			return nil, err
		}
		claims = append(claims, c.claims(rows)...)
	}
	return claims, nil
}

func notYet(paper string) Claim {
	return Claim{Paper: paper, Measured: "—", Verdict: "not measured yet"}
}

// guess is the answer NLL (nats) of guessing uniformly among an attribute's
// possible values: a model above it on held-out people has not extracted
// their facts, and differences there say more about calibration than
// knowledge.
var guess float64

// judge combines the two factual metrics: the held-out answer NLL and the
// seen questions' exact match (or NLL). Both must agree for a verdict.
func judge(betterHeld, betterSeen bool, heldNLLs ...float64) (verdict string, notes []string) {
	verdict = "mixed (held-out NLL and seen-QA metric disagree)"
	switch {
	case betterHeld && betterSeen:
		verdict = "holds"
	case !betterHeld && !betterSeen:
		verdict = "does not hold"
	}
	return verdict, guessNote(heldNLLs...)
}

// guessNote says when every given held-out NLL is above uniform guessing.
func guessNote(heldNLLs ...float64) []string {
	above := true
	for _, n := range heldNLLs {
		above = above && n >= guess
	}
	if above && len(heldNLLs) > 0 {
		return []string{fmt.Sprintf("held-out NLLs are above uniform guessing (%.2f nats): no model extracted held-out facts", guess)}
	}
	return nil
}

func get(rows []Row, name string) (Row, bool) { return find(rows, name) }

func scalingClaims(rows []Row) []Claim {
	const paper1 = "Fig. 1: factual QA improves steadily as the memory grows (1.3B base, 1M→64M keys)"
	var mem []Row
	for _, r := range rows {
		if strings.HasPrefix(r.Name, "memory-") {
			mem = append(mem, r)
		}
	}
	dense, okD := get(rows, "dense")
	if len(mem) < 3 || !okD {
		return []Claim{notYet(paper1)}
	}
	sort.Slice(mem, func(i, j int) bool { return mem[i].Mean["memory_value_params"] < mem[j].Mean["memory_value_params"] })
	var xs, ys []float64
	var parts []string
	for _, r := range mem {
		xs = append(xs, math.Log(r.Mean["memory_value_params"]))
		ys = append(ys, r.Mean[heldNLL])
		parts = append(parts, fmt.Sprintf("%s %.2f (seen EM %.1f%%)", human(int64(r.Mean["memory_value_params"])),
			r.Mean[heldNLL], 100*r.Mean[seenEM]))
	}
	rho := spearman(xs, ys)
	c1 := Claim{Paper: paper1,
		Measured: fmt.Sprintf("held-out answer NLL by memory size: %s; dense %.2f (seen EM %.1f%%); rank correlation of NLL with size %.2f, of seen EM %.2f",
			strings.Join(parts, ", "), dense.Mean[heldNLL], 100*dense.Mean[seenEM], rho, seenRho(mem))}
	c1.Verdict, c1.Notes = judge(rho < -0.5, seenRho(mem) > 0.5, ys...)
	c1.Notes = append(c1.Notes, oneSeedNote(append([]Row{dense}, mem...)...)...)
	out := []Claim{c1}
	const paper2 = "Memory models match dense models with several times their FLOPs on factual QA"
	if x4, ok := get(rows, "dense-x4"); ok {
		best := mem[0]
		for _, r := range mem {
			if r.Mean[heldNLL] < best.Mean[heldNLL] {
				best = r
			}
		}
		ratio := x4.Mean["flops_per_token"] / best.Mean["flops_per_token"]
		c2 := Claim{Paper: paper2,
			Measured: fmt.Sprintf("best memory model (%s, %s FLOPs/token): held-out NLL %s, seen EM %.1f%%; dense with %.1f× its FLOPs: %s, %.1f%%",
				best.Name, human(int64(best.Mean["flops_per_token"])), pmNLL(best), 100*best.Mean[seenEM],
				ratio, pmNLL(x4), 100*x4.Mean[seenEM])}
		c2.Verdict, c2.Notes = judgePair(best, x4, seenEM)
		out = append(out, c2)
	} else {
		out = append(out, notYet(paper2))
	}
	return out
}

func compareClaims(rows []Row) []Claim {
	type pair struct{ paper, a, b string }
	var out []Claim
	for _, p := range []pair{
		{"Memory+ beats dense models with 2× the compute on factual QA (main table)", "memory+", "dense-x2"},
		{"Memory+ beats dense models with 4× the compute on factual QA (\"between 2× and 4×\": may not)", "memory+", "dense-x4"},
		{"Memory+ beats MoE matched on total parameters \"by large margins\"", "memory+", "moe"},
		{"Memory+ beats vanilla Memory (1 layer)", "memory+", "memory"},
		{"PEER is about as good as Memory, below Memory+", "memory+", "peer"},
		{"Vanilla Memory beats the dense base", "memory", "dense"},
	} {
		a, okA := get(rows, p.a)
		b, okB := get(rows, p.b)
		if !okA || !okB {
			out = append(out, notYet(p.paper))
			continue
		}
		c := Claim{Paper: p.paper,
			Measured: fmt.Sprintf("held-out answer NLL %s %s vs %s %s; seen EM %.1f%% vs %.1f%%",
				p.a, pmNLL(a), p.b, pmNLL(b), 100*a.Mean[seenEM], 100*b.Mean[seenEM])}
		c.Verdict, c.Notes = judgePair(a, b, seenEM)
		out = append(out, c)
	}
	return out
}

// judgePair judges "a beats b" on two factual metrics: the held-out answer
// NLL (lower is better) and a seen-QA metric (seenEM, higher is better, or
// seenNLL, lower is better). When both rows have several seeds, a metric
// whose difference is no larger than the larger seed spread decides nothing;
// the verdict then rests on the other metric, and says so. With one seed on a
// side there is no spread, so both metrics decide and the verdict is flagged.
func judgePair(a, b Row, seen string) (verdict string, notes []string) {
	held := compareOn(a, b, heldNLL)
	other := compareOn(a, b, seen)
	var v string
	switch {
	case held.better == 0 && other.better == 0:
		v = "within the seed spread (" + held.String() + "; " + other.String() + ")"
	case held.better >= 0 && other.better >= 0:
		v = "holds" + spreadNote(held, other)
	case held.better <= 0 && other.better <= 0:
		v = "does not hold" + spreadNote(held, other)
	default:
		v = "mixed (held-out NLL and seen-QA metric disagree)"
	}
	return v, append(guessNote(a.Mean[heldNLL], b.Mean[heldNLL]), oneSeedNote(a, b)...)
}

// comparison is one metric's difference between two rows.
type comparison struct {
	metric       string
	diff, spread float64 // a − b, and the larger of the two seed spreads
	better       int     // +1 when a is better, −1 when b is, 0 when within the spread
}

// lowerIsBetter says which direction of a metric is an improvement.
func lowerIsBetter(metric string) bool { return strings.HasSuffix(metric, "_nll") }

func compareOn(a, b Row, metric string) comparison {
	c := comparison{metric: metric, diff: a.Mean[metric] - b.Mean[metric],
		spread: math.Max(a.Std[metric], b.Std[metric])}
	gain := c.diff
	if lowerIsBetter(metric) {
		gain = -gain
	}
	switch {
	case a.Seeds > 1 && b.Seeds > 1 && math.Abs(c.diff) <= c.spread:
		c.better = 0
	case gain > 0:
		c.better = 1
	default:
		c.better = -1
	}
	return c
}

// String gives the difference and spread in the metric's units.
func (c comparison) String() string {
	names := map[string]string{heldNLL: "held-out NLL", seenNLL: "seen NLL", seenEM: "seen EM"}
	if c.metric == seenEM {
		return fmt.Sprintf("%s difference %+.1f points, spread ±%.1f", names[c.metric], 100*c.diff, 100*c.spread)
	}
	return fmt.Sprintf("%s difference %+.2f, spread ±%.2f", names[c.metric], c.diff, c.spread)
}

// spreadNote names the metric that decided nothing, when one of them did.
func spreadNote(cs ...comparison) string {
	for _, c := range cs {
		if c.better == 0 {
			return " (" + c.String() + ": within the seed spread)"
		}
	}
	return ""
}

// oneSeedNote warns that a verdict rests on rows with a single seed: there
// is no spread to tell a difference from seed noise, which at the small
// preset alone moves the dense base's held-out NLL by 0.3 nats.
func oneSeedNote(rows ...Row) []string {
	for _, r := range rows {
		if r.Seeds < 2 {
			return []string{"one seed only, so no spread to judge it against: not yet a result"}
		}
	}
	return nil
}

func pmNLL(r Row) string { return pm(r, heldNLL, 1) }

func ablationClaims(rows []Row) []Claim {
	base, ok := get(rows, "memory+ (3 layers)")
	// Each claim says Memory+ (three layers, the defaults) beats the
	// ablated run, unless ablationWins: then the ablated run should win.
	type abl struct {
		paper, name  string
		ablationWins bool
	}
	var out []Claim
	for _, a := range []abl{
		{"Tables 3: three memory layers beat one", "1 layer", false},
		{"Table 3: more memory layers (six) degrade", "all 4 layers", false},
		{"Table 4: SiLU gating helps (adopted in Memory+)", "no SiLU gate", false},
		{"qk-norm stabilises small models with large memories", "no qk-norm", false},
		{"Value LR: values need their own rate; a lower one (×0.3 the base) hurts", "value lr x0.3", false},
		{"Value LR: the paper trains values at 10× the base rate; that helps", "value lr x10", true},
		{"Table 4: a larger value dim is better at a fixed parameter count", "v_dim/4, 2x n_keys", false},
		{"Not ablated in the paper (its code reads knn 32 per head): halving knn hurts", "knn/2", false},
		{"Not ablated in the paper (its code uses 4 heads): a single head hurts", "1 head", false},
	} {
		r, okR := get(rows, a.name)
		if !ok || !okR {
			out = append(out, notYet(a.paper))
			continue
		}
		winner, loser := base, r
		if a.ablationWins {
			winner, loser = r, base
		}
		c := Claim{Paper: a.paper,
			Measured: fmt.Sprintf("held-out answer NLL memory+ %s vs %s %s; seen NLL %s vs %s",
				pmNLL(base), a.name, pmNLL(r), pm(base, seenNLL, 1), pm(r, seenNLL, 1))}
		c.Verdict, c.Notes = judgePair(winner, loser, seenNLL)
		out = append(out, c)
	}
	return out
}

func capacityClaims(rows []Row) []Claim {
	const paper = "Dense models store ≈2 bits of facts per parameter (Allen-Zhu & Li, after 1000 exposures); memory adds capacity"
	var dense, mem []string
	bestD, bestM := 0.0, 0.0 // bits per parameter
	var mostD, mostM Row     // the runs that recalled the most bits: each kind's capacity
	bitsD, bitsM := -1.0, -1.0
	for _, r := range rows {
		v := RecalledBitsPerParam(r)
		s := fmt.Sprintf("%g people %.4f", r.Mean["people"], v)
		bits, _ := recalledBits(r)
		if strings.HasPrefix(r.Name, "dense") {
			dense = append(dense, s)
			bestD = math.Max(bestD, v)
			if bits > bitsD {
				mostD, bitsD = r, bits
			}
		} else {
			mem = append(mem, s)
			bestM = math.Max(bestM, v)
			if bits > bitsM {
				mostM, bitsM = r, bits
			}
		}
	}
	if len(dense) == 0 || len(mem) == 0 {
		return []Claim{notYet(paper)}
	}
	_, spreadD := recalledBits(mostD)
	_, spreadM := recalledBits(mostM)
	added := map[bool]string{true: "holds", false: "does not hold"}[bitsM > bitsD]
	if spread := math.Max(spreadD, spreadM); mostD.Seeds > 1 && mostM.Seeds > 1 && math.Abs(bitsM-bitsD) <= spread {
		added = fmt.Sprintf("within the seed spread (difference %+.0f bits, spread ±%.0f)", bitsM-bitsD, spread)
	}
	return []Claim{{Paper: paper,
		Measured: fmt.Sprintf("facts recalled exactly, in bits/param, dense: %s; memory: %s (peak %.4f vs %.4f); most facts recalled, in bits: dense %.0f (%s), memory %.0f (%s); NLL-based stored bits are 0 for every run (mean answer NLL above the facts' information)",
			strings.Join(dense, ", "), strings.Join(mem, ", "), bestD, bestM, bitsD, mostD.Name, bitsM, mostM.Name),
		Verdict: fmt.Sprintf("dense peak %.2g bits/param: %s at this training budget; memory adds capacity: %s",
			bestD, map[bool]string{true: "≈2 holds", false: "far below 2"}[bestD > 1.5], added),
		Notes: oneSeedNote(rows...)}}
}

// seenRho is the rank correlation of seen-QA exact match with memory size.
func seenRho(mem []Row) float64 {
	var xs, ys []float64
	for _, r := range mem {
		xs = append(xs, math.Log(r.Mean["memory_value_params"]))
		ys = append(ys, r.Mean[seenEM])
	}
	return spearman(xs, ys)
}

// spearman is the rank correlation of xs and ys (no ties assumed).
func spearman(xs, ys []float64) float64 {
	rank := func(v []float64) []float64 {
		idx := make([]int, len(v))
		for i := range idx {
			idx[i] = i
		}
		sort.Slice(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
		r := make([]float64, len(v))
		for pos, i := range idx {
			r[i] = float64(pos)
		}
		return r
	}
	rx, ry := rank(xs), rank(ys)
	n := float64(len(xs))
	var d2 float64
	for i := range rx {
		d2 += (rx[i] - ry[i]) * (rx[i] - ry[i])
	}
	return 1 - 6*d2/(n*(n*n-1))
}

// WriteClaims prints the claims as a Markdown table. Each distinct note is
// numbered once, in the order of first use, referenced from every verdict it
// qualifies ("holds [1, 2]") and written out below the table.
func WriteClaims(w io.Writer, claims []Claim) {
	var notes []string
	number := map[string]int{}
	fmt.Fprintln(w, "| claim of the paper | measured here | verdict |")
	fmt.Fprintln(w, "|---|---|---|")
	for _, c := range claims {
		var refs []string
		for _, n := range c.Notes {
			if number[n] == 0 {
				notes = append(notes, n)
				number[n] = len(notes)
			}
			refs = append(refs, fmt.Sprint(number[n]))
		}
		verdict := c.Verdict
		if len(refs) > 0 {
			verdict += " [" + strings.Join(refs, ", ") + "]"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", c.Paper, c.Measured, verdict)
	}
	if len(notes) > 0 {
		fmt.Fprintln(w)
	}
	for i, n := range notes {
		fmt.Fprintf(w, "%d. %s%s.\n", i+1, strings.ToUpper(n[:1]), n[1:])
	}
}
