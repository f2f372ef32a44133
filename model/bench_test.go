// Reference: ../shared/reference/ANCHORS.md (llama-bench shapes: the 110M LLaMA with a 32k vocabulary).

package model

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// benchModel builds the 110M shape of ANCHORS.md (dim 768, 12 layers, 12
// heads, ff 2048, vocab 32000) with random weights of type dt in memory.
func benchModel(b *testing.B, dt tensor.DType) *Model {
	b.Helper()
	c := Config{Arch: "llama", Vocab: 32000, Embd: 768, Layers: 12, Heads: 12, KVHeads: 12, HeadDim: 64, FF: 2048,
		CtxTrain: 2048, NormEps: 1e-5, RopeDims: 64, RopeBase: 10000, RopeScale: 1,
		Norm: RMSNorm, Rope: RopeNorm, FFN: FFNSwiGLU}
	r := rand.New(rand.NewPCG(1, 1))
	src := func(name string) (*tensor.Tensor, bool, error) {
		var shape []int
		switch {
		case name == "token_embd.weight" || name == "output.weight":
			shape = []int{768, 32000}
		case strings.HasSuffix(name, "norm.weight"):
			shape = []int{768}
		case strings.Contains(name, "attn_") && strings.HasSuffix(name, ".weight"):
			shape = []int{768, 768}
		case strings.HasSuffix(name, "ffn_gate.weight") || strings.HasSuffix(name, "ffn_up.weight"):
			shape = []int{768, 2048}
		case strings.HasSuffix(name, "ffn_down.weight"):
			shape = []int{2048, 768}
		default:
			return nil, false, nil
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			x[i] = float32(r.NormFloat64() * 0.02)
		}
		typ := dt
		if len(shape) == 1 {
			typ = tensor.F32
		}
		size, err := typ.RowSize(int64(n))
		if err != nil {
			return nil, false, err
		}
		data := make([]byte, size)
		if err := tensor.Quantize(typ, x, data); err != nil {
			return nil, false, err
		}
		t, err := tensor.New(name, typ, data, shape...)
		return t, true, err
	}
	m, err := New(c, src)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkLlama110M measures prompt processing (64 tokens in one batch) and
// decoding (one token with a 64-token cache) on the 110M shape:
//
//	go test ./model -run '^$' -bench Llama110M -benchtime 5x
func BenchmarkLlama110M(b *testing.B) {
	for _, dt := range []tensor.DType{tensor.F16, tensor.Q8_0, tensor.Q4_0, tensor.Q4_K} {
		b.Run(dt.String(), func(b *testing.B) { benchShape(b, benchModel(b, dt)) })
	}
}

func benchShape(b *testing.B, m *Model) {
	prompt := make([]int32, 64)
	for i := range prompt {
		prompt[i] = int32(100 + i)
	}
	b.Run("prefill64", func(b *testing.B) {
		s, err := m.NewState(Options{Ctx: 512})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		for b.Loop() {
			s.Reset()
			if _, err := s.Forward(prompt); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(len(prompt)*b.N)/b.Elapsed().Seconds(), "tok/s")
	})
	b.Run("decode", func(b *testing.B) {
		s, err := m.NewState(Options{Ctx: 512})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Forward(prompt); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if err := s.Truncate(len(prompt)); err != nil {
				b.Fatal(err)
			}
			if _, err := s.Forward([]int32{7}); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tok/s")
	})
}
