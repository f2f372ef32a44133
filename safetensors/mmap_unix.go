//go:build unix

// Reference: mmap(2); the file is mapped read-only and shared so pages come from the page cache.

package safetensors

import (
	"os"

	"golang.org/x/sys/unix"
)

func mapFile(fd *os.File, size int64) ([]byte, func() error, error) {
	if size == 0 {
		return nil, func() error { return nil }, nil
	}
	if int64(int(size)) != size {
		return nil, nil, unix.EFBIG
	}
	b, err := unix.Mmap(int(fd.Fd()), 0, int(size), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		return nil, nil, err
	}
	return b, func() error { return unix.Munmap(b) }, nil
}

// releasePages drops the whole pages of data[lo:hi] from the resident set
// (MADV_DONTNEED on a shared read-only file mapping: the contents stay and
// later reads fault them in again). A converter reads each tensor once, so
// without this the whole checkpoint would count as resident by the end.
// Errors are ignored: this only saves memory.
func releasePages(data []byte, lo, hi int) {
	page := os.Getpagesize()
	lo = (lo + page - 1) / page * page // data starts on a page (mmap)
	hi = hi / page * page
	if lo < hi {
		_ = unix.Madvise(data[lo:hi], unix.MADV_DONTNEED)
	}
}
