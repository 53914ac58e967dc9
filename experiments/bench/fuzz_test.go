package bench

import (
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzDecodeReport: any file is refused with a one-line error naming it, or decodes to a report whose
// tables print without a panic and whose name cannot send chart files out of the plots directory.
func FuzzDecodeReport(f *testing.F) {
	saved, err := os.ReadFile("testdata/report-graph-only.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(saved)
	f.Add([]byte(`{"name":"x","bag":{}}`))
	f.Add([]byte(`{"name":"x","layers":{"memory":[{"n_keys":4}],"host":[{"n_keys":4}]},"torch":{"memory":[{"n_keys":4}]}}`))
	f.Add([]byte(`{"name":"x","train":{"points":[{}],"growth":[{}]}}`))
	f.Add([]byte(`{"name":"../x","bag":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := DecodeReport(data, "r.json")
		if err != nil {
			if !strings.HasPrefix(err.Error(), "bench: r.json") || strings.Contains(err.Error(), "\n") {
				t.Fatalf("error %q", err)
			}
			return
		}
		if strings.ContainsAny(r.Name, `/\`) || r.Name == ".." || len(r.Config.Paths) == 0 {
			t.Fatalf("accepted report name %q, paths %v", r.Name, r.Config.Paths)
		}
		r.Print(io.Discard)
	})
}
