package memlayer

import (
	"syscall"
	"unsafe"
)

// adviseHugePages asks Linux to back a large, not yet touched table with 2 MiB
// pages. A lookup reads rows at random places in a table of up to gigabytes:
// with 4 KiB pages nearly every row read also misses the TLB, and under a
// hypervisor each miss walks two page tables. Where transparent huge pages
// are off, or the advice is refused, nothing changes.
func adviseHugePages(data []float32) {
	const minBytes = 4 << 20
	if len(data)*4 < minBytes {
		return
	}
	_ = syscall.Madvise(unsafe.Slice((*byte)(unsafe.Pointer(&data[0])), len(data)*4), syscall.MADV_HUGEPAGE)
}
