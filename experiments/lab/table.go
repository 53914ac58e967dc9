package lab

import (
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/memlayers/memlayers/experiments/results"
)

// Row aggregates the runs of one configuration over seeds.
type Row struct {
	Name  string
	Seeds int
	Mean  map[string]float64
	Std   map[string]float64 // sample standard deviation over seeds (0 with one seed)
}

// Aggregate groups runs by name, in the order the names first appear.
func Aggregate(runs []*results.Run) []Row {
	var order []string
	by := map[string][]*results.Run{}
	for _, r := range runs {
		if _, ok := by[r.Name]; !ok {
			order = append(order, r.Name)
		}
		by[r.Name] = append(by[r.Name], r)
	}
	rows := make([]Row, 0, len(order))
	for _, name := range order {
		group := by[name]
		row := Row{Name: name, Seeds: len(group), Mean: map[string]float64{}, Std: map[string]float64{}}
		keys := map[string]bool{}
		for _, r := range group {
			for k := range r.Final {
				keys[k] = true
			}
			keys["wall_seconds"] = true
		}
		for k := range keys {
			var vals []float64
			for _, r := range group {
				v, ok := r.Final[k]
				if k == "wall_seconds" {
					v, ok = r.WallSeconds, true
				}
				if ok {
					vals = append(vals, v)
				}
			}
			row.Mean[k], row.Std[k] = meanStd(vals)
		}
		rows = append(rows, row)
	}
	return rows
}

func meanStd(v []float64) (float64, float64) {
	if len(v) == 0 {
		return math.NaN(), 0
	}
	var s float64
	for _, x := range v {
		s += x
	}
	m := s / float64(len(v))
	if len(v) < 2 {
		return m, 0
	}
	var ss float64
	for _, x := range v {
		ss += (x - m) * (x - m)
	}
	return m, math.Sqrt(ss / float64(len(v)-1))
}

// WriteTable prints the paper's columns for each configuration, aligned for
// a terminal.
func WriteTable(w io.Writer, runs []*results.Run) {
	header, cells := tableCells(Aggregate(runs))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, strings.Join(header, "\t")+"\t")
	for _, row := range cells {
		fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
	}
	tw.Flush()
}

// WriteMarkdownTable prints the same table as WriteTable in Markdown.
func WriteMarkdownTable(w io.Writer, runs []*results.Run) {
	header, cells := tableCells(Aggregate(runs))
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, row := range cells {
		fmt.Fprintf(w, "| %s |\n", strings.Join(row, " | "))
	}
}

// tableCells are the paper's columns (parameters, compute, held-out and seen
// QA, text NLL) for each configuration, as mean±std over its seeds.
func tableCells(rows []Row) (header []string, cells [][]string) {
	header = []string{"model", "seeds", "params", "read/token", "FLOPs/token", "held-out EM %", "F1 %", "answer NLL",
		"seen EM %", "text NLL", "wall s"}
	for _, r := range rows {
		cells = append(cells, []string{r.Name, fmt.Sprint(r.Seeds),
			human(int64(r.Mean["total_params"])), human(int64(r.Mean["active_params_per_token"])),
			human(int64(r.Mean["flops_per_token"])),
			pm(r, "eval_qa_em", 100), pm(r, "eval_qa_f1", 100), pm(r, "eval_qa_nll", 1),
			pm(r, "train_qa_em", 100), pm(r, "val_nll", 1), fmt.Sprintf("%.0f", r.Mean["wall_seconds"])})
	}
	return header, cells
}

// pm formats mean ± std (std only when there are several seeds).
func pm(r Row, key string, scale float64) string {
	m, ok := r.Mean[key]
	if !ok || math.IsNaN(m) {
		return "-"
	}
	if r.Seeds > 1 {
		return fmt.Sprintf("%.2f±%.2f", scale*m, scale*r.Std[key])
	}
	return fmt.Sprintf("%.2f", scale*m)
}
