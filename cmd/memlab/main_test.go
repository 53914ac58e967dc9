package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/memlayers/memlayers/experiments/lab"
)

// Every user mistake ends with exactly one line on stderr, exit status 2, and
// no panic trace.
func TestUserMistakesGiveOneLine(t *testing.T) {
	tmp := t.TempDir()
	bad := filepath.Join(tmp, "bad.tsv")
	if err := os.WriteFile(bad, []byte("Paris\tcapital of\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	notDir := filepath.Join(tmp, "file")
	if err := os.WriteFile(notDir, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(tmp, "out.json") // never written: every case fails before training
	capitals := "../../experiments/data/testdata/capitals.tsv"
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"frobnicate"}, `unknown command "frobnicate"`},
		{[]string{"train", "--preset", "huge"}, `preset "huge" unknown`},
		{[]string{"train", "--model", "bogus"}, `model="bogus"`},
		{[]string{"train", "--steps", "x"}, `invalid value "x" for flag -steps`},
		{[]string{"train", "--no-such-flag"}, "flag provided but not defined"},
		{[]string{"train", "stray"}, `unexpected argument "stray"`},
		{[]string{"train", "--backend", "tpu"}, "backend"},
		{[]string{"train", "--backend", "xla:cuda"}, "xla:cuda"},
		{[]string{"train", "--n-keys", "-3"}, "n_keys"},
		{[]string{"train", "--exposures", "5"}, "--exposures=5: must be >= 10"},
		{[]string{"train", "--dataset", "random-facts"}, "random facts facts=0"},
		{[]string{"facts"}, "--file is required"},
		{[]string{"facts", "--file", bad}, "bad.tsv:1:"},
		{[]string{"facts", "--file", bad}, "(or pass --lenient to skip bad lines)"},
		{[]string{"facts", "--file", bad, "--lenient"}, "no facts found; every line was skipped"},
		{[]string{"facts", "--file", "/no/such/file.tsv"}, "file.tsv"},
		{[]string{"sweep"}, "name the sweep"},
		{[]string{"sweep", "nope"}, `sweep "nope" unknown`},
		{[]string{"sweep", "scaling", "--seeds", "a,b"}, "--seeds"},
		{[]string{"sweep", "ablations", "--only", "knn("}, "only="},
		{[]string{"sweep", "ablations", "--only", "no such run"}, `"knn/2"`},
		{[]string{"plot", "scaling", "--results", t.TempDir()}, "no results for sweep scaling"},
		{[]string{"sweep", "memorize", "--exposures", "50"}, "--exposures=50: must be >= 100"},
		{[]string{"sweep", "memorize", "--facts", "-5"}, "--facts=-5"},
		{[]string{"sweep", "memorize", "--value-lr-factor", "-1"}, "--value-lr-factor=-1: must be > 0"},
		{[]string{"sweep", "scaling", "--facts", "1000"}, "memorize sweep only"},
		{[]string{"sweep", "memorize", "--preset", "gpu134m"}, `no preset "gpu134m"`},
		{[]string{"plot", "memorize", "--results", t.TempDir()}, "no results for sweep memorize"},
		{[]string{"demo", "--pairs", "0"}, "pairs=0"},
		{[]string{"report", "--preset", "huge"}, `preset "huge" unknown`},
		{[]string{"report", "--results", t.TempDir()}, "no results files"},
		{[]string{"train", "--seed", "0"}, "--seed=0: must be >= 1"},
		{[]string{"train", "--knn", "100", "--n-keys", "8"}, "knn=100: must be <= n_keys=8"},
		{[]string{"train", "--steps", "1", "--out", filepath.Join(notDir, "x.json")}, "cannot create directory " + notDir},
		{[]string{"train", "--steps", "1", "--out", tmp}, "is a directory"},
		{[]string{"facts", "--file", capitals, "--dataset", "bios"}, "--dataset cannot be used with facts"},
		{[]string{"facts", "--file", capitals, "--exposures", "5", "--steps", "3"}, "--exposures and --steps"},
		{[]string{"facts", "--file", capitals, "--exposures", "-1"}, "--exposures=-1"},
		{[]string{"eval", "--checkpoint-dir", filepath.Join(tmp, "none"), "--out", out}, "no checkpoint in " + filepath.Join(tmp, "none")},
		{[]string{"eval", "--resume"}, "eval never trains"},
		{[]string{"train", "--like", "memorize"}, `--like="memorize": must be SWEEP/RUN`},
		{[]string{"train", "--like", "memorize/nope", "--preset", "small"}, `no run "nope" with seed 1; its runs are "dense", "dense-x2"`},
		{[]string{"train", "--like", "memorize/memory+", "--preset", "small", "--swilu=false"}, "changed by --swilu: give it its own --name"},
		{[]string{"train", "--qk-norm", "maybe"}, `invalid value "maybe" for flag -qk-norm: want true or false`},
		{[]string{"eval", "--like", "nope/x"}, `sweep "nope" unknown`},
		{[]string{"train", "--memory-path", "gpu"}, `--memory-path="gpu": must be auto, graph or host`},
		{[]string{"train", "--model", "dense", "--memory-path", "host"}, "model dense has no memory layers to run on the host path"},
		{[]string{"sweep", "scaling", "--memory-path", "disk"}, `--memory-path="disk"`},
	} {
		var stdout, stderr bytes.Buffer
		status := run(context.Background(), tc.args, &stdout, &stderr)
		msg := stderr.String()
		if status != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) ||
			strings.Contains(msg, "goroutine") || stdout.Len() > 0 {
			t.Errorf("memlab %v: status %d, stderr %q, stdout %q; want status 2 and one line containing %q",
				tc.args, status, msg, stdout.String(), tc.want)
		}
	}
}

func TestHelpExitsZero(t *testing.T) {
	for _, args := range [][]string{{}, {"help"}, {"train", "--help"}, {"sweep", "--help"}, {"facts", "--help"}} {
		var stdout, stderr bytes.Buffer
		if status := run(context.Background(), args, &stdout, &stderr); status != 0 || stdout.Len() == 0 {
			t.Errorf("memlab %v: status %d, stdout %q, stderr %q", args, status, stdout.String(), stderr.String())
		}
	}
}

// TestRunTooLargeForMemory: a run whose estimated memory exceeds what the machine has is refused with one
// line naming the size and the flag to lower, before anything is allocated or written.
func TestRunTooLargeForMemory(t *testing.T) {
	if _, ok := lab.AvailableMemory(); !ok {
		t.Skip("available memory unknown here (no /proc/meminfo): the check is skipped")
	}
	out := filepath.Join(t.TempDir(), "sub", "out.json")
	var stdout, stderr bytes.Buffer
	status := run(context.Background(), []string{"train", "--n-keys", "46000", "--out", out}, &stdout, &stderr)
	msg := stderr.String()
	if status != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "TiB") || !strings.Contains(msg, "lower --n-keys") {
		t.Errorf("status %d, stderr %q; want status 2 and one line naming the size and --n-keys", status, msg)
	}
	if _, err := os.Stat(filepath.Dir(out)); !os.IsNotExist(err) {
		t.Errorf("the refused run created %s", filepath.Dir(out))
	}
}

// TestSweepOnlyExitsZero: a sweep limited by --only to runs that the charts cannot show alone (here the
// scaling sweep's dense baseline, already finished) still succeeds: the plots are reported as not drawn.
func TestSweepOnlyExitsZero(t *testing.T) {
	dir := t.TempDir()
	saved, err := os.ReadFile("../../results/scaling/tiny/dense-seed1.json")
	if err != nil {
		t.Skip("no committed dense result to start from:", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "scaling", "tiny"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "scaling", "tiny", "dense-seed1.json"), saved, 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	status := run(context.Background(), []string{"sweep", "scaling", "--seeds", "1", "--only", "^dense$",
		"--results", dir, "--plots", filepath.Join(dir, "plots")}, &stdout, &stderr)
	if status != 0 || !strings.Contains(stdout.String(), "kept") || !strings.Contains(stdout.String(), "plots: not drawn yet") {
		t.Errorf("status %d, stderr %q, stdout:\n%s", status, stderr.String(), stdout.String())
	}
}
