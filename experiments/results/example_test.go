package results_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/memlayers/memlayers/experiments/backend"
	"github.com/memlayers/memlayers/experiments/results"
)

func Example() {
	dir, _ := os.MkdirTemp("", "results-example")
	defer os.RemoveAll(dir)

	run := &results.Run{Experiment: "memory-scaling", Name: "dense"}
	run.Start(".") // machine, git commit, start time
	run.Seed, run.Dataset = 1, "bios"
	run.Backend = backend.Info{Spec: "go", Name: "Go Backend", NumDevices: 1} // backend.Describe(b) in a real run
	_ = run.SetConfig(map[string]int{"dim": 128})
	run.AddEval(100, 204800, map[string]float64{"val_nll": 4.1})
	run.Final = map[string]float64{"val_nll": 3.9}
	run.Finish()

	path := filepath.Join(dir, "memory-scaling", "dense.json")
	if err := results.Write(path, run, false); err != nil {
		log.Fatal(err)
	}
	err := results.Write(path, run, false) // A second write must not clobber the first.
	fmt.Println(err != nil)

	runs, err := results.ReadDir(filepath.Dir(path))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(runs), runs[0].Name, runs[0].Final["val_nll"])
	// Output:
	// true
	// 1 dense 3.9
}
