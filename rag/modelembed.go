// Reference: model/embed.go (decoder pooling over the final normed hidden state) and
// model/bert_forward.go (bert encoders), the vectors llama.cpp's llama-embedding prints.

package rag

import (
	"context"
	"fmt"
	"sync"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// embedState is what ModelEmbedder needs of a model state: both
// model.State (decoders) and model.EncoderState (bert) have it.
type embedState interface {
	EmbedEach(ctx context.Context, seqs [][]int32, o model.EmbedOptions, fn func(i int, v []float32) error) error
	Ctx() int
}

// ModelEmbedder embeds with a gptgo model: a bert encoder (made for it) or
// a decoder (mean-pooled hidden states: weak for retrieval, as no decoder
// was trained for it; BM25 carries hybrid search then). Texts longer than
// the context are cut to it. One state: calls are serialised.
type ModelEmbedder struct {
	name string
	dim  int
	tok  *tokenizer.Tokenizer
	st   embedState
	o    model.EmbedOptions
	mu   sync.Mutex
}

// NewDecoderEmbedder embeds with a decoder's state. name identifies the
// model in the store's meta (a file name).
func NewDecoderEmbedder(name string, st *model.State, tok *tokenizer.Tokenizer, pooling model.Pooling) *ModelEmbedder {
	return &ModelEmbedder{name: name, dim: st.Model().Embd, tok: tok, st: st, o: model.EmbedOptions{Pooling: pooling, Normalize: true}}
}

// NewEncoderEmbedder embeds with a bert encoder's state.
func NewEncoderEmbedder(name string, st *model.EncoderState, tok *tokenizer.Tokenizer) *ModelEmbedder {
	e := st.Encoder()
	return &ModelEmbedder{name: name, dim: e.Embd, tok: tok, st: st, o: model.EmbedOptions{Pooling: e.Pooling, Normalize: true}}
}

func (m *ModelEmbedder) Name() string { return fmt.Sprintf("%s/%s", m.name, m.o.Pooling) }
func (m *ModelEmbedder) Dim() int     { return m.dim }

// CountTokens implements TokenCounter in the model's own tokens.
func (m *ModelEmbedder) CountTokens(s string) int {
	return len(m.tok.Encode(s, tokenizer.EncodeOptions{}))
}

// Embed implements Embedder.
func (m *ModelEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		s := m.tok.Encode(t, tokenizer.EncodeOptions{AddSpecial: true})
		if len(s) == 0 {
			s = m.tok.Encode(" ", tokenizer.EncodeOptions{AddSpecial: true})
		}
		if len(s) > m.st.Ctx() {
			s = s[:m.st.Ctx()]
		}
		if len(s) == 0 {
			return nil, fmt.Errorf("rag: text %d has no tokens", i)
		}
		seqs[i] = s
	}
	out := make([][]float32, len(texts))
	err := m.st.EmbedEach(ctx, seqs, m.o, func(i int, v []float32) error {
		out[i] = append([]float32(nil), v...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("rag: embedding with %s: %w", m.name, err)
	}
	return out, nil
}
