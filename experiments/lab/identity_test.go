package lab

import (
	"path/filepath"
	"testing"

	"github.com/memlayers/memlayers/experiments/results"
	"github.com/memlayers/memlayers/experiments/train"
)

// TestCommittedResultsKeepTheirIdentity: every committed sweep result, with the spec set to the memory path
// it recorded (the graph path for the sweeps made before the host path, the host path for the memorize
// sweep), still resolves to the identity it recorded, so that code changes do not silently make the
// committed results stale (a sweep would refuse to extend them).
func TestCommittedResultsKeepTheirIdentity(t *testing.T) {
	checked := 0
	for _, preset := range []string{"tiny", "small"} {
		for _, name := range SweepNames {
			sw, err := SweepByName(name, preset, []int64{1, 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, spec := range sw.Runs {
				r, err := results.Read(filepath.Join("..", "..", "results", sw.FileName(spec)))
				if err != nil {
					continue
				}
				spec.MemoryPath = train.PathGraph
				if path := recordedMemoryPath(r); path != "" {
					spec.MemoryPath = path
				}
				plan, err := Build(spec)
				if err != nil {
					t.Fatal(err)
				}
				if stale, err := staleKeys(r.Config, plan); len(stale) > 0 || err != nil {
					t.Errorf("%s/%s %s seed %d: the committed result's %v differs from what the spec now resolves to (%v)",
						name, preset, spec.Name, spec.Seed, stale, err)
				}
				checked++
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d committed results, expected the ~150 of the tiny and small sweeps", checked)
	}
}
