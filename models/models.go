// Package models holds gptgo's default model, baked by gptgo itself (see
// default.md beside it) and embedded in every binary: `gptgo run` and
// `gptgo chat` use it when no model is given, so a fresh clone or a `go
// install`ed binary has a working model with no download, no
// configuration, and no file to keep next to the binary.
//
// The default model is chat-tuned (recipes/default-chat.json, then
// recipes/default-chat-short.json): it answers
// through ChatML and ends its turn. The base model it was tuned from
// (recipes/default.json, a pretrained text continuer) is embedded beside
// it as default-base, for continuing text and as a base to fine-tune.
package models

import (
	_ "embed"
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/gguf"
)

// DefaultName is how commands name the embedded model in messages.
const DefaultName = "the default model (models/default.gguf, embedded)"

// BaseName is how commands name the embedded base model in messages.
const BaseName = "the default base model (models/default-base.gguf, embedded)"

// The names that select the embedded models where a model is named
// (`--model default-base`, the model store's default-base:latest).
const (
	DefaultModelName = "default"
	BaseModelName    = "default-base"
)

//go:embed default.gguf
var defaultGGUF string // a string: the embedded bytes cannot be changed

//go:embed default-base.gguf
var baseGGUF string

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

// BaseSize is the embedded base model's size in bytes.
func BaseSize() int { return len(baseGGUF) }

// OpenBase parses a private, aligned copy of the embedded base model, as
// OpenDefault does for the default model.
func OpenBase() (*gguf.File, error) {
	f, err := gguf.Parse([]byte(baseGGUF))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", BaseName, err)
	}
	return f, nil
}

// Lookup returns the opener of the embedded model called name ("default",
// "default-base" or "default-embed", with or without the ":latest" tag),
// and ok false for any other name.
func Lookup(name string) (open func() (*gguf.File, error), ok bool) {
	switch strings.TrimSuffix(name, ":latest") {
	case DefaultModelName:
		return OpenDefault, true
	case BaseModelName:
		return OpenBase, true
	case EmbedModelName:
		return OpenEmbed, true
	}
	return nil, false
}
