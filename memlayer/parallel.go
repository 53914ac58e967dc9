package memlayer

import (
	"runtime"
	"sync"
)

// parallelFor splits [0, n) into one contiguous chunk per core and runs fn on
// each chunk concurrently. Contiguous chunks keep each worker's rows together
// in memory. Each worker first clears the vector registers' upper halves
// (see cleanVectorState), as its scalar code would otherwise run slowly.
func parallelFor(n int, fn func(lo, hi int)) {
	workers := min(runtime.GOMAXPROCS(0), n)
	if workers <= 1 {
		cleanVectorState()
		fn(0, n)
		return
	}
	var wg sync.WaitGroup
	chunk := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += chunk {
		hi := min(lo+chunk, n)
		wg.Add(1)
		go func() {
			defer wg.Done()
			cleanVectorState()
			fn(lo, hi)
		}()
	}
	wg.Wait()
}
