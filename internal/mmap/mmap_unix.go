//go:build unix

// Reference: mmap(2) and madvise(2) (MADV_DONTNEED on a shared read-only file mapping).

package mmap

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

// Release drops the whole pages of data[lo:hi] from the resident set, where
// data is a mapping returned by Open. For a shared read-only file mapping
// the contents stay: later reads fault them in again from the page cache or
// the file. A reader that passes over each tensor once (a converter, a
// quantizer) calls it so the whole file does not end up counted as resident.
// Errors are ignored: this only saves memory.
func Release(data []byte, lo, hi int) {
	page := os.Getpagesize()
	lo = (lo + page - 1) / page * page // data starts on a page (mmap)
	hi = hi / page * page
	if lo < hi {
		_ = unix.Madvise(data[lo:hi], unix.MADV_DONTNEED)
	}
}
