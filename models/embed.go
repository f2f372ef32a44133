// Reference: models/embed.md (the default embedder's card) and recipes/embed.json, which made it.

package models

import (
	_ "embed"
	"fmt"

	"github.com/gptgo/gptgo/gguf"
)

// EmbedName is how commands name the embedded embedder in messages.
const EmbedName = "the default embedder (models/embed.gguf, embedded)"

// EmbedModelName selects the embedded embedder where a model is named
// (the server's embeddings endpoints also give it for "default" and for
// no model at all: an embedding request wants an embedder).
const EmbedModelName = "default-embed"

// embedGGUF is a small BERT that gptgo trained contrastively from scratch
// (`gptgo train embed --recipe recipes/embed.json`): `gptgo embed` and the
// knowledge base use it when no embedding model is named, because a
// decoder's pooled hidden states retrieve far worse than an encoder
// trained for it (the figures are in embed.md).
//
//go:embed embed.gguf
var embedGGUF string

// EmbedSize is the embedded embedder's size in bytes.
func EmbedSize() int { return len(embedGGUF) }

// OpenEmbed parses a private, aligned copy of the embedded embedder, as
// OpenDefault does for the default model.
func OpenEmbed() (*gguf.File, error) {
	f, err := gguf.Parse([]byte(embedGGUF))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", EmbedName, err)
	}
	return f, nil
}
