// Reference: GGUF specification (ggml/docs/gguf.md), "File Structure": the file is mapped, not read.

package gguf

import (
	"fmt"

	"github.com/gptgo/gptgo/internal/mmap"
)

// Open maps the file at path read-only and parses it. Close releases the mapping.
func Open(path string) (*File, error) {
	data, unmap, err := mmap.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	f, err := Parse(data)
	if err != nil {
		unmap()
		return nil, fmt.Errorf("%w (in %s)", err, path)
	}
	f.unmap = unmap
	return f, nil
}
