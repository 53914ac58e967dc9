package backend_test

import (
	"fmt"
	"log"

	"github.com/memlayers/memlayers/experiments/backend"
)

// A command passes its --backend flag straight to New; an empty flag falls back to GOMLX_BACKEND and then to
// the pure-Go default.
func ExampleNew() {
	b, err := backend.New("go") // e.g. the value of --backend
	if err != nil {
		log.Fatal(err) // One line, with the fix, e.g. for a missing CUDA plugin.
	}
	defer b.Finalize()
	info := backend.Describe(b)
	fmt.Println(info.Spec, info.NumDevices)
	// Output: go 1
}

func ExampleResolve() {
	_, err := backend.Resolve("tpu")
	fmt.Println(err)
	// Output: backend: unknown backend "tpu" (from "tpu"); valid choices: "go", "go:<options>" (e.g. "go:ops_sequential"), "xla:cuda", "xla:cpu", "xla:/abs/path/to/pjrt_plugin.so"
}
