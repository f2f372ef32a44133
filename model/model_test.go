// Reference: llama2.c's test idea (a tiny model, its logits by two routes) and STYLE.md habit 8.

package model

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// tinyConfig is a small model of each architecture: 2 layers, GQA where
// the architecture allows it, odd-ish sizes to catch stride mistakes.
func tinyConfig(arch string) Config {
	c := archDefaults[arch]
	c.Arch = arch
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF = 37, 32, 2, 4, 2, 8, 48
	c.CtxTrain, c.NormEps, c.RopeDims, c.RopeBase, c.RopeScale = 64, 1e-5, 8, 10000, 1
	if arch == "gpt2" {
		c.KVHeads = 4
	}
	return c
}

// tinySource makes random F32 weights for every name c asks for, optional
// ones included, and records the names asked.
func tinySource(c Config, seed uint64) (Source, map[string]bool) {
	r := rand.New(rand.NewPCG(seed, 99))
	asked := map[string]bool{}
	made := map[string]*tensor.Tensor{}
	qd, kvd := c.QDim(), c.KVDim()
	shapes := map[string][]int{
		"token_embd.weight": {c.Embd, c.Vocab}, "position_embd.weight": {c.Embd, c.CtxTrain},
		"output_norm.weight": {c.Embd}, "output_norm.bias": {c.Embd}, "output.weight": {c.Embd, c.Vocab},
		"rope_freqs.weight": {c.RopeDims / 2},
	}
	for i := range c.Layers {
		for k, v := range map[string][]int{
			"attn_norm.weight": {c.Embd}, "attn_norm.bias": {c.Embd}, "ffn_norm.weight": {c.Embd}, "ffn_norm.bias": {c.Embd},
			"attn_q.weight": {c.Embd, qd}, "attn_k.weight": {c.Embd, kvd}, "attn_v.weight": {c.Embd, kvd},
			"attn_q.bias": {qd}, "attn_k.bias": {kvd}, "attn_v.bias": {kvd},
			"attn_qkv.weight": {c.Embd, qd + 2*kvd}, "attn_qkv.bias": {qd + 2*kvd},
			"attn_output.weight": {qd, c.Embd}, "attn_output.bias": {c.Embd},
			"ffn_gate.weight": {c.Embd, c.FF}, "ffn_up.weight": {c.Embd, c.FF}, "ffn_up.bias": {c.FF},
			"ffn_down.weight": {c.FF, c.Embd}, "ffn_down.bias": {c.Embd},
		} {
			shapes[fmt.Sprintf("blk.%d.%s", i, k)] = v
		}
	}
	return func(name string) (*tensor.Tensor, bool, error) {
		asked[name] = true
		if t, ok := made[name]; ok {
			return t, true, nil
		}
		shape, ok := shapes[name]
		if !ok {
			return nil, false, nil
		}
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := make([]float32, n)
		scale := 1 / math.Sqrt(float64(shape[0]))
		if strings.Contains(name, "norm.weight") || name == "rope_freqs.weight" {
			scale = 0
		}
		for i := range x {
			x[i] = float32(r.NormFloat64() * scale)
			if scale == 0 {
				x[i] = 1 + 0.1*float32(r.NormFloat64())
			}
		}
		t, err := tensor.FromFloat32(name, x, shape...)
		made[name] = t
		return t, true, err
	}, asked
}

func tinyModel(t testing.TB, arch string) *Model {
	t.Helper()
	c := tinyConfig(arch)
	src, _ := tinySource(c, 1)
	m, err := New(c, src)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

var tinyTokens = []int32{1, 5, 9, 36, 0, 17, 17, 2, 30, 11, 4}

// allLogits runs tokens through a fresh state and returns every position's logits.
func allLogits(t *testing.T, m *Model, o Options, tokens []int32) [][]float32 {
	t.Helper()
	s, err := m.NewState(o)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var out [][]float32
	err = s.ForwardAll(tokens, func(i int, l []float32) error {
		out = append(out, append([]float32(nil), l...))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestDecodeEqualsPrefill checks the three routes to the same logits: the
// whole prompt in one batch, in batches of 3, and one token at a time
// through the KV cache, for every architecture and both cache types, with
// 1 and 3 workers. Batches see the same numbers in the same order, so they
// agree to the bit. Single-token steps with the F16 cache sum attention in
// ggml_vec_dot_f16's order rather than tinyBLAS's (as llama.cpp does), so
// they differ by float32 rounding, which can tip a query or attention weight
// to the neighbouring half-precision value (a relative step of 2⁻¹¹ in one
// element): |Δ| ≤ 2e-4 + 2e-4·|logit| (measured up to 2.4e-5). The tiny
// models' F32 weights are likewise dotted in ggml_vec_dot_f32's order for a
// single token and tinyBLAS's for a batch, so decode gets the same
// tolerance with either cache (batches of 3 stay bit-identical: ≥ 2 tokens).
func TestDecodeEqualsPrefill(t *testing.T) {
	for _, arch := range Architectures() {
		for _, f32 := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/%s", arch, kvName(f32)), func(t *testing.T) {
				m := tinyModel(t, arch)
				want := allLogits(t, m, Options{KVF32: f32, Threads: 1}, tinyTokens)
				for _, l := range want {
					for _, v := range l {
						if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
							t.Fatalf("non-finite logit %v", v)
						}
					}
				}
				batched := allLogits(t, m, Options{KVF32: f32, Batch: 3, Threads: 3}, tinyTokens)
				s, err := m.NewState(Options{KVF32: f32, Threads: 2})
				if err != nil {
					t.Fatal(err)
				}
				defer s.Close()
				for i, tok := range tinyTokens {
					got, err := s.Forward([]int32{tok})
					if err != nil {
						t.Fatal(err)
					}
					for j := range got {
						decodeOK := got[j] == want[i][j] || testkit.Close(float64(got[j]), float64(want[i][j]), 2e-4, 2e-4)
						if !decodeOK || batched[i][j] != want[i][j] {
							t.Fatalf("position %d logit %d: decode %v, batch-3 %v, prefill %v", i, j, got[j], batched[i][j], want[i][j])
						}
					}
				}
				if s.Pos() != len(tinyTokens) {
					t.Fatalf("Pos = %d, want %d", s.Pos(), len(tinyTokens))
				}
				// Truncate and recompute the tail: the same logits again.
				if err := s.Truncate(4); err != nil {
					t.Fatal(err)
				}
				got, err := s.Forward(tinyTokens[4:])
				if err != nil {
					t.Fatal(err)
				}
				last := want[len(want)-1]
				for j := range got {
					// Positions 0–3 came from decode steps: the same tolerance.
					if got[j] != last[j] && !testkit.Close(float64(got[j]), float64(last[j]), 2e-4, 2e-4) {
						t.Fatalf("after Truncate, logit %d = %v, want %v", j, got[j], last[j])
					}
				}
			})
		}
	}
}

// TestPositionsMatter guards against a cache or RoPE that ignores order:
// the same last token after different histories gives different logits.
func TestPositionsMatter(t *testing.T) {
	for _, arch := range Architectures() {
		m := tinyModel(t, arch)
		a := allLogits(t, m, Options{}, []int32{3, 4, 5})
		b := allLogits(t, m, Options{}, []int32{4, 3, 5})
		same := true
		for j := range a[2] {
			same = same && a[2][j] == b[2][j]
		}
		if same {
			t.Errorf("%s: logits do not depend on token order", arch)
		}
	}
}

func TestBindingErrorsListEveryMissingName(t *testing.T) {
	c := tinyConfig("llama")
	full, _ := tinySource(c, 2)
	src := func(name string) (*tensor.Tensor, bool, error) {
		if name == "blk.1.attn_k.weight" || name == "output_norm.weight" || name == "output.weight" {
			return nil, false, nil // output.weight is optional: tied to token_embd
		}
		return full(name)
	}
	_, err := New(c, src)
	if err == nil {
		t.Fatal("no error for missing tensors")
	}
	for _, want := range []string{`"blk.1.attn_k.weight"`, `"output_norm.weight"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not name %s: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "output.weight\"") && !strings.Contains(err.Error(), "output_norm") {
		t.Errorf("optional output.weight reported: %v", err)
	}

	// Every tensor a model of each architecture binds exists in the source,
	// and a wrong shape is an error naming the tensor.
	c.Embd = 40
	_, err = New(c, full)
	if err == nil || !strings.Contains(err.Error(), "shape") {
		t.Errorf("wrong shapes not reported: %v", err)
	}
}

func TestUnsupportedArchitecture(t *testing.T) {
	c := tinyConfig("llama")
	c.Arch = "mamba"
	_, err := New(c, nil)
	if err == nil || !strings.Contains(err.Error(), "llama, qwen2") {
		t.Fatalf("error should list the supported architectures: %v", err)
	}
}

func TestForwardErrors(t *testing.T) {
	m := tinyModel(t, "qwen2")
	s, err := m.NewState(Options{Ctx: 8})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Forward([]int32{1, 37}); err == nil || !strings.Contains(err.Error(), "vocabulary") {
		t.Errorf("out-of-vocabulary token: %v", err)
	}
	if _, err := s.Forward(make([]int32, 9)); err == nil || !strings.Contains(err.Error(), "context") {
		t.Errorf("context overflow: %v", err)
	}
	if s.Pos() != 0 {
		t.Errorf("a failed forward moved Pos to %d", s.Pos())
	}
	if _, err := m.NewState(Options{Ctx: 65}); err == nil {
		t.Error("a context beyond the training context was accepted")
	}
	if err := s.Truncate(1); err == nil {
		t.Error("Truncate beyond Pos was accepted")
	}
	var e error = errors.New("stop")
	if err := s.ForwardAll([]int32{1, 2}, func(int, []float32) error { return e }); !errors.Is(err, e) {
		t.Errorf("callback error not returned: %v", err)
	}
}

func BenchmarkDecodeTiny(b *testing.B) {
	m := tinyModel(b, "llama")
	s, err := m.NewState(Options{Ctx: 64})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	for b.Loop() {
		if s.Pos() == s.Ctx() {
			s.Reset()
		}
		if _, err := s.Forward([]int32{3}); err != nil {
			b.Fatal(err)
		}
	}
}

// convertedSource is src with its matrices (2-D tensors) converted to dt.
func convertedSource(src Source, dt tensor.DType) Source {
	return func(name string) (*tensor.Tensor, bool, error) {
		w, ok, err := src(name)
		if !ok || err != nil || len(w.Shape) != 2 {
			return w, ok, err
		}
		v, err := w.Float32s()
		if err != nil {
			return nil, false, err
		}
		size, _ := dt.RowSize(int64(len(v)))
		data := make([]byte, size)
		if err := tensor.Quantize(dt, v, data); err != nil {
			return nil, false, err
		}
		h, err := tensor.New(name, dt, data, w.Shape...)
		return h, true, err
	}
}

// TestHalfWeights runs the tiny models with F16 and BF16 matrices (the
// activations are rounded to the same type before those matmuls, as ggml
// does): the logits stay within the rounding of the weights of the F32 run.
func TestHalfWeights(t *testing.T) {
	for _, arch := range Architectures() {
		c := tinyConfig(arch)
		full, _ := tinySource(c, 1)
		want := allLogits(t, tinyModel(t, arch), Options{}, tinyTokens)
		for _, dt := range []tensor.DType{tensor.F16, tensor.BF16} {
			m, err := New(c, convertedSource(full, dt))
			if err != nil {
				t.Fatal(err)
			}
			got := allLogits(t, m, Options{}, tinyTokens)
			// BF16 keeps 8 bits of mantissa: relative error 2⁻⁹ per weight
			// and activation, a few 1e-2 on logits of order 1; F16 8× less.
			tol := 0.1
			if dt == tensor.F16 {
				tol = 0.02
			}
			for i := range want {
				testkit.CheckClose(t, fmt.Sprintf("%s %v position %d", arch, dt, i), got[i], want[i], tol, 0)
			}
		}
	}
}

// kvName names the cache type for test names and logs.
func kvName(f32 bool) string {
	if f32 {
		return "F32"
	}
	return "F16"
}
