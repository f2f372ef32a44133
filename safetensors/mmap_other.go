//go:build !unix

// Reference: mmap(2); the file is mapped read-only and shared so pages come from the page cache.

package safetensors

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

// releasePages does nothing where the file was read rather than mapped.
func releasePages(data []byte, lo, hi int) {}
