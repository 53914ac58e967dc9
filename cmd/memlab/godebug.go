package main

import (
	"os"
	"strings"
	"syscall"
)

// ensureNoAsyncPreemption re-executes memlab with GODEBUG=asyncpreemptoff=1
// when it is not set: on AVX-512 machines Go's asynchronous preemption
// signals make the Go backend's scalar math (math.Exp in sigmoid, SiLU and
// softmax) many times slower after its AVX-512 kernels (measurements:
// docs/performance.md). GODEBUG is read once at start-up, hence the re-exec.
// Set MEMLAB_KEEP_PREEMPTION=1 to opt out.
func ensureNoAsyncPreemption() {
	godebug := os.Getenv("GODEBUG")
	if strings.Contains(godebug, "asyncpreemptoff=") || os.Getenv("MEMLAB_KEEP_PREEMPTION") == "1" {
		return
	}
	exe, err := os.Executable()
	if err != nil {
		return // run as is: slower, still correct
	}
	if godebug != "" {
		godebug += ","
	}
	env := append(os.Environ(), "GODEBUG="+godebug+"asyncpreemptoff=1")
	_ = syscall.Exec(exe, os.Args, env) // returns only on failure: then run as is
}
