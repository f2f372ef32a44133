//go:build !unix

// Reference: mmap(2); without it the file is read whole into memory instead.

package mmap

import (
	"io"
	"os"
)

// mapFile reads the whole file where no mmap is available.
func mapFile(fd *os.File, size int64) ([]byte, func() error, error) {
	b := make([]byte, size)
	if _, err := io.ReadFull(fd, b); err != nil {
		return nil, nil, err
	}
	return b, func() error { return nil }, nil
}

// Release does nothing where the file was read rather than mapped.
func Release(data []byte, lo, hi int) {}
