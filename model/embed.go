// Reference: llama.cpp include/llama.h (enum llama_pooling_type) and src/llama-graph.cpp
// (build_pooling: mean, cls and last over the final normed hidden state "result_norm").

package model

import (
	"context"
	"fmt"
	"math"

	"github.com/gptgo/gptgo/gguf"
)

// Pooling turns a sequence's hidden states into one vector. The values are
// llama.cpp's llama_pooling_type, the numbers stored under the GGUF key
// "<arch>.pooling_type"; they must never be renumbered.
type Pooling int

const (
	PoolNone Pooling = 0 // one vector per token (not a sequence embedding)
	PoolMean Pooling = 1 // average of every token's hidden state
	PoolCLS  Pooling = 2 // the first token's hidden state
	PoolLast Pooling = 3 // the last token's hidden state (decoders that see the whole text only there)
	PoolRank Pooling = 4 // a classifier head's score (rerankers)
)

var poolingNames = map[Pooling]string{PoolNone: "none", PoolMean: "mean", PoolCLS: "cls", PoolLast: "last", PoolRank: "rank"}

func (p Pooling) String() string {
	if n, ok := poolingNames[p]; ok {
		return n
	}
	return fmt.Sprintf("pooling(%d)", int(p))
}

// ParsePooling reads a pooling name as String writes it.
func ParsePooling(name string) (Pooling, error) {
	for p, n := range poolingNames {
		if n == name {
			return p, nil
		}
	}
	return 0, fmt.Errorf("model: pooling %q is not one of none, mean, cls, last, rank", name)
}

// PoolingFromGGUF reads "<arch>.pooling_type" from f; ok is false when the
// key is absent. A value outside llama.cpp's enum is an error.
func PoolingFromGGUF(f *gguf.File) (p Pooling, ok bool, err error) {
	key := f.Arch() + ".pooling_type"
	v, ok := f.Uint(key)
	if !ok {
		return 0, false, nil
	}
	if _, known := poolingNames[Pooling(v)]; !known || v > math.MaxInt32 {
		return 0, false, fmt.Errorf("model: %s = %d is not a pooling type llama.cpp knows (0…4)", key, v)
	}
	return Pooling(v), true, nil
}

// DefaultPooling is the pooling a model's file asks for, or mean for a
// decoder whose file says nothing (or was not opened from a file): every
// token's state carries part of the text, and mean pooling is what
// llama.cpp's embedding example falls back on for such models.
func (m *Model) DefaultPooling() (Pooling, error) {
	if m.file == nil {
		return PoolMean, nil
	}
	p, ok, err := PoolingFromGGUF(m.file)
	if err != nil || !ok {
		return PoolMean, err
	}
	return p, nil
}

// EmbedOptions configure Embed.
type EmbedOptions struct {
	Pooling   Pooling // PoolMean, PoolCLS or PoolLast
	Normalize bool    // scale to unit L2 norm, so that cosine similarity is a dot product
}

// Hidden runs tokens through the layers at positions Pos…, appends them to
// the KV cache like Forward, and calls fn with each token's index and its
// final normalised hidden state [C] (the vector the output head would
// multiply; valid during the call). No logits are computed. ctx is checked
// between batches of Batch tokens, so a long input stops soon after it is
// cancelled.
func (s *State) Hidden(ctx context.Context, tokens []int32, fn func(i int, h []float32) error) error {
	if len(tokens) == 0 {
		return fmt.Errorf("model: hidden states: no tokens")
	}
	if P := s.m.VirtualTokens(); P > 0 { // their virtual tokens go in front of generated text only (prompt_infer.go)
		return fmt.Errorf("model: hidden states: the model runs a %s (%d virtual tokens), which embeddings would ignore", s.m.VirtualAdapter(), P)
	}
	if s.pos+len(tokens) > s.ctx {
		return fmt.Errorf("model: %d tokens after %d cached exceed the context of %d", len(tokens), s.pos, s.ctx)
	}
	V, C := s.m.Vocab, s.m.Embd
	for i, t := range tokens {
		if t < 0 || int(t) >= V {
			return fmt.Errorf("model: token %d at index %d is outside the vocabulary of %d", t, i, V)
		}
	}
	for done := 0; done < len(tokens); {
		if err := ctx.Err(); err != nil {
			return err
		}
		nb := min(s.batch, len(tokens)-done)
		s.ubatch = nb
		if err := s.layers(tokens[done : done+nb]); err != nil {
			return err
		}
		for r := range nb {
			if err := fn(done+r, s.xb[r*C:(r+1)*C]); err != nil {
				return err
			}
		}
		done += nb
	}
	return nil
}

// Embed resets the state (a sequence sees only its own tokens), runs tokens
// through the model and returns their pooled hidden state [C], L2-normalised
// when o.Normalize is set. The state's KV cache holds tokens afterwards.
// Sums are kept in float64, so a long mean does not drift.
func (s *State) Embed(ctx context.Context, tokens []int32, o EmbedOptions) ([]float32, error) {
	if len(tokens) == 0 {
		return nil, fmt.Errorf("model: embed: no tokens (an empty text has no embedding)")
	}
	switch o.Pooling {
	case PoolMean, PoolCLS, PoolLast:
	default:
		return nil, fmt.Errorf("model: embed: pooling %s does not give one vector per text (use mean, cls or last)", o.Pooling)
	}
	if len(tokens) > s.ctx {
		return nil, fmt.Errorf("model: embed: %d tokens exceed the context of %d", len(tokens), s.ctx)
	}
	s.Reset()
	C, n := s.m.Embd, len(tokens)
	acc := make([]float64, C)
	err := s.Hidden(ctx, tokens, func(i int, h []float32) error {
		switch {
		case o.Pooling == PoolMean:
			for j, v := range h {
				acc[j] += float64(v)
			}
		case o.Pooling == PoolCLS && i == 0, o.Pooling == PoolLast && i == n-1:
			for j, v := range h {
				acc[j] = float64(v)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if o.Pooling == PoolMean {
		for j := range acc {
			acc[j] /= float64(n)
		}
	}
	if o.Normalize {
		var ss float64
		for _, v := range acc {
			ss += float64(v * v) // rounded, as amd64 does: arm64 would fuse it
		}
		// A zero vector stays zero rather than becoming NaN, as llama.cpp's
		// common_embd_normalize does.
		if ss > 0 {
			inv := 1 / math.Sqrt(ss)
			for j := range acc {
				acc[j] *= inv
			}
		}
	}
	out := make([]float32, C)
	for j, v := range acc {
		out[j] = float32(v)
	}
	return out, nil
}

// EmbedEach embeds every sequence of seqs in turn, each from an empty
// cache, and hands fn the index and vector of each. Memory stays that of
// one State and one vector whatever the number of texts; ctx is checked
// between sequences and batches.
func (s *State) EmbedEach(ctx context.Context, seqs [][]int32, o EmbedOptions, fn func(i int, v []float32) error) error {
	for i, toks := range seqs {
		if err := ctx.Err(); err != nil {
			return err
		}
		v, err := s.Embed(ctx, toks, o)
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if err := fn(i, v); err != nil {
			return err
		}
	}
	return nil
}
