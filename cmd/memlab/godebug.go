package main

import (
	"os"
	"strings"
	"syscall"
)

// ensureNoAsyncPreemption re-executes memlab with GODEBUG=asyncpreemptoff=1
// when it is not set. On the project's AVX-512 machines, Go's asynchronous
// preemption signals left scalar math (math.Exp, used by the Go backend's
// sigmoid, SiLU and softmax) 10–100× slower after the backend's AVX-512
// kernels: a SwiGLU forward+backward went from 1.7 s to 0.41 s with the
// signals off. GODEBUG is read once at start-up, hence the re-exec. Set
// MEMLAB_KEEP_PREEMPTION=1 to opt out.
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
