package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every user mistake ends with exactly one line on stderr, exit status 2, and
// no panic trace.
func TestUserMistakesGiveOneLine(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.tsv")
	if err := os.WriteFile(bad, []byte("Paris\tcapital of\n"), 0o644); err != nil {
		t.Fatal(err)
	}
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
		{[]string{"facts"}, "--file is required"},
		{[]string{"facts", "--file", bad}, "bad.tsv:1:"},
		{[]string{"facts", "--file", "/no/such/file.tsv"}, "file.tsv"},
		{[]string{"sweep"}, "name the sweep"},
		{[]string{"sweep", "nope"}, `sweep "nope" unknown`},
		{[]string{"sweep", "scaling", "--seeds", "a,b"}, "--seeds"},
		{[]string{"sweep", "ablations", "--only", "knn("}, "only="},
		{[]string{"sweep", "ablations", "--only", "no such run"}, `"knn/2"`},
		{[]string{"plot", "scaling", "--results", t.TempDir()}, "no results for sweep scaling"},
		{[]string{"demo", "--pairs", "0"}, "pairs=0"},
		{[]string{"report", "--preset", "huge"}, `preset "huge" unknown`},
		{[]string{"report", "--results", t.TempDir()}, "no results files"},
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
