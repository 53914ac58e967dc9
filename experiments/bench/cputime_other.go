//go:build !unix

package bench

// processCPUSeconds is unknown off Unix: 0.
func processCPUSeconds() float64 { return 0 }
