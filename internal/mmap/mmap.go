// Reference: mmap(2) and madvise(2); the file is mapped read-only and shared so pages come from the page cache.

// Package mmap maps whole files read-only for the format readers (gguf,
// safetensors), so that weights are shared with the page cache instead of
// copied into the heap. Where no mmap exists the file is read into memory
// and the same calls work.
package mmap

import (
	"fmt"
	"os"
)

// Open maps the whole file at path read-only. The bytes stay valid until
// unmap is called. Errors from opening or stating the file come back as os
// returns them (they name the path); a failed mapping is "map PATH: ...".
func Open(path string) (data []byte, unmap func() error, err error) {
	fd, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	// The mapping outlives the descriptor: closing it does not unmap.
	defer fd.Close()
	st, err := fd.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, unmap, err = mapFile(fd, st.Size())
	if err != nil {
		return nil, nil, fmt.Errorf("map %s: %w", path, err)
	}
	return data, unmap, nil
}
