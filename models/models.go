// Package models holds gptgo's default model, baked by gptgo itself from
// recipes/default.json (see default.md beside it) and embedded in every
// binary: `gptgo run` and `gptgo chat` use it when no model is given, so a
// fresh clone or a `go install`ed binary has a working model with no
// download, no configuration, and no file to keep next to the binary.
package models

import (
	_ "embed"
	"fmt"

	"github.com/gptgo/gptgo/gguf"
)

// DefaultName is how commands name the embedded model in messages.
const DefaultName = "the default model (models/default.gguf, embedded)"

//go:embed default.gguf
var defaultGGUF string // a string: the embedded bytes cannot be changed

// DefaultSize is the embedded file's size in bytes.
func DefaultSize() int { return len(defaultGGUF) }

// OpenDefault parses a private copy of the embedded file. The copy is one
// large heap allocation, so its start (and with it every tensor, aligned
// within the file) is aligned for the kernels, which an embedded string's
// data is not guaranteed to be.
func OpenDefault() (*gguf.File, error) {
	f, err := gguf.Parse([]byte(defaultGGUF))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", DefaultName, err)
	}
	return f, nil
}
