//go:build !linux

package memlayer

// adviseHugePages is Linux-only (madvise MADV_HUGEPAGE); elsewhere tables use
// the default pages.
func adviseHugePages(data []float32) {}
