// Reference: madvise(2) MADV_POPULATE_WRITE (Linux 5.14): "populate (prefault) page tables writable".

package autograd

import "golang.org/x/sys/unix"

// populate maps b's whole pages writable in one system call, or, on a
// kernel older than 5.14 (EINVAL), by writing to each.
func populate(b []float32) {
	mem := pages(b)
	if len(mem) == 0 {
		return
	}
	if unix.Madvise(mem, unix.MADV_POPULATE_WRITE) != nil {
		touch(mem)
	}
}
