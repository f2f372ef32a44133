// Reference: chromem-go vector.go (vectors normalised on insert, so that cosine similarity is a
// dot product); feature hashing: Weinberger et al., "Feature Hashing for Large Scale Multitask
// Learning" (ICML 2009).

package rag

import (
	"context"
	"hash/fnv"
	"math"

	"github.com/gptgo/gptgo/kernel"
)

// Embedder turns texts into vectors. The store keeps Name and Dim in its
// meta file and refuses to open with a different embedder, because vectors
// of two models are not comparable. Implementations: HashEmbedder here,
// ModelEmbedder over a gptgo model; an external service can be another.
type Embedder interface {
	Name() string
	Dim() int
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// TokenCounter sizes chunks: the splitter measures text in the tokens of
// the embedding model, whose context is what a chunk must fit.
type TokenCounter interface {
	CountTokens(text string) int
}

// HashEmbedder is a dense vector of the text's BM25 terms hashed into Dim
// buckets with a sign hash (log-scaled term counts). It knows no meaning,
// only shared words, but it is fast, deterministic and needs no model: the
// tests use it, and it is an honest baseline for "dense" retrieval.
type HashEmbedder struct{ D int }

func (h HashEmbedder) Name() string { return "hash" }
func (h HashEmbedder) Dim() int {
	if h.D <= 0 {
		return 256
	}
	return h.D
}

func (h HashEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i, t := range texts {
		out[i] = h.embed(t)
	}
	return out, nil
}

func (h HashEmbedder) embed(text string) []float32 {
	d := h.Dim()
	v := make([]float32, d)
	counts := map[string]int{}
	for _, t := range Terms(text) {
		counts[t]++
	}
	for t, n := range counts {
		f := fnv.New64a()
		f.Write([]byte(t))
		x := f.Sum64()
		w := float32(1 + math.Log(float64(n)))
		if x>>63 != 0 {
			w = -w
		}
		v[x%uint64(d)] += w
	}
	normalize(v)
	return v
}

// normalize scales v to unit L2 norm in place; a zero vector stays zero.
func normalize(v []float32) {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	if ss == 0 {
		return
	}
	inv := float32(1 / math.Sqrt(ss))
	for i := range v {
		v[i] *= inv
	}
}

// dot is the similarity of two unit vectors (their cosine): the kernel
// package's F32 dot (AVX2+FMA where the CPU has it; dotGeneric's loop
// otherwise).
func dot(a, b []float32) float32 {
	n := min(len(a), len(b))
	if n == 0 {
		return 0
	}
	return kernel.DotF32(n, kernel.F32Bytes(a[:n]), kernel.F32Bytes(b[:n]))
}

// dotGeneric is the plain loop dot stands for (the reference in tests).
func dotGeneric(a, b []float32) float32 {
	var s0, s1, s2, s3 float32
	n := min(len(a), len(b))
	i := 0
	for ; i+4 <= n; i += 4 {
		s0 += a[i] * b[i]
		s1 += a[i+1] * b[i+1]
		s2 += a[i+2] * b[i+2]
		s3 += a[i+3] * b[i+3]
	}
	for ; i < n; i++ {
		s0 += a[i] * b[i]
	}
	return s0 + s1 + s2 + s3
}
