package lab

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/internal/testbackend"
)

// TestSweepsEndToEnd runs every sweep at the tiny preset in smoke mode (one
// step, two questions decoded for two tokens): each configuration builds, trains, evaluates,
// writes its results file, and the table and charts are made from those
// files. A second call keeps the finished runs instead of retraining.
func TestSweepsEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every configuration of every sweep for 2 steps")
	}
	b := testbackend.Get(t)
	dir := t.TempDir()
	for _, name := range SweepNames {
		t.Run(name, func(t *testing.T) {
			sw, err := SweepByName(name, "tiny", []int64{1})
			if err != nil {
				t.Fatal(err)
			}
			opts := SweepOptions{ResultsDir: filepath.Join(dir, "results"), Smoke: true}
			runs, err := RunSweep(context.Background(), b, sw, opts)
			if err != nil {
				t.Fatal(err)
			}
			if len(runs) != len(sw.Runs) {
				t.Fatalf("%d results for %d runs", len(runs), len(sw.Runs))
			}
			for i, r := range runs {
				keys := []string{"eval_qa_em", "eval_qa_nll", "train_qa_em", "total_params", "flops_per_token"}
				if sw.Runs[i].Dataset == RandomFactsDataset { // every fact is seen: no held-out questions
					keys = []string{"train_qa_em", "train_qa_nll", "total_params", "flops_per_token", "exposures"}
				}
				for _, k := range keys {
					if _, ok := r.Final[k]; !ok {
						t.Errorf("%s: final metrics miss %q: %v", r.Name, k, r.Final)
					}
				}
			}
			var log strings.Builder
			opts.Log = &log
			again, err := RunSweep(context.Background(), b, sw, opts)
			if err != nil || len(again) != len(runs) || strings.Contains(log.String(), "training") {
				t.Fatalf("second call should keep every run: err %v, log:\n%s", err, log.String())
			}
			var table strings.Builder
			WriteTable(&table, runs)
			if strings.Count(table.String(), "\n") != len(Aggregate(runs))+1 {
				t.Errorf("table:\n%s", table.String())
			}
			files, err := PlotSweep(sw, runs, filepath.Join(dir, "plots"))
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range files {
				if st, err := os.Stat(f); err != nil || st.Size() == 0 {
					t.Errorf("plot %s missing: %v", f, err)
				}
			}
		})
	}
}

// TestChartFilesPerPreset: tiny charts keep the sweep's name; other presets'
// charts add the preset so that they never replace the tiny ones.
func TestChartFilesPerPreset(t *testing.T) {
	rows := []Row{{Name: "dense", Mean: map[string]float64{"eval_qa_nll": 9, "train_qa_nll": 6}, Std: map[string]float64{}}}
	for preset, want := range map[string]string{"tiny": "compare", "small": "compare-small"} {
		sw, err := SweepByName("compare", preset, []int64{1})
		if err != nil {
			t.Fatal(err)
		}
		charts, err := SweepCharts(sw, rows)
		if err != nil {
			t.Fatal(err)
		}
		if len(charts) != 2 || charts[0].File != want || charts[1].File != want+"-em" {
			t.Errorf("%s: chart files %q, %q; want %q and %q-em", preset, charts[0].File, charts[len(charts)-1].File, want, want)
		}
	}
}

// TestSweepOnly: a pattern keeps the matching runs of every seed, in order.
func TestSweepOnly(t *testing.T) {
	sw, err := SweepByName("ablations", "tiny", []int64{1, 2})
	if err != nil {
		t.Fatal(err)
	}
	part, err := sw.Only("knn|1 head")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range part.Runs {
		got = append(got, fmt.Sprintf("%s/%d", r.Name, r.Seed))
	}
	if want := "knn/2/1 1 head/1 knn/2/2 1 head/2"; strings.Join(got, " ") != want {
		t.Errorf("Only kept %v, want %s", got, want)
	}
	if _, err := sw.Only("["); err == nil {
		t.Error("invalid pattern accepted")
	}
}
