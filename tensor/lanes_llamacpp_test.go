// Reference: docs/llamacpp-compat.md (sections g and h: the Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K,
// IQ4_XS, TQ1_0, TQ2_0 and IQ1–IQ3 matmuls against llama.cpp's ggml_mul_mat); testdata/lanes_llamacpp.json is
// its output; block_iq1_m's layout from ggml/src/ggml-common.h.

package tensor

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

// lanesGoldenInput returns the weights (R rows of n, as float32 before
// quantization) and activations (B rows of n) of one golden case, made with
// integer arithmetic and exact float operations only, so they are the same
// on every platform and Go version: per block of 32 a scale 2^-6…2^2 times
// uniform values in [-1, 1) on a 2^-20 grid.
func lanesGoldenInput(dt DType, n, R, B int) (w, x []float32) {
	s := uint64(0x9E3779B97F4A7C15) ^ uint64(dt)<<32 ^ uint64(n)<<8 ^ uint64(B)
	next := func() uint64 { // xorshift64*
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		return s * 0x2545F4914F6CDD1D
	}
	fill := func(v []float32) {
		var scale float64
		for i := range v {
			if i%32 == 0 {
				scale = math.Ldexp(1+float64(next()%8)/8, int(next()%9)-6)
			}
			v[i] = float32(scale * float64(int32(next()>>44)-1<<19) / (1 << 19))
		}
	}
	w, x = make([]float32, R*n), make([]float32, B*n)
	fill(w)
	fill(x)
	return w, x
}

// lanesGoldenCases are the cases of testdata/lanes_llamacpp.json: for each
// legacy type, rows of 3 blocks (an odd count: IQ4_NL's single dot adds its
// last block alone) and of 8, by one activation row (llama.cpp's
// ggml_vec_dot) and by five (its tinyBLAS for Q5_0 and IQ4_NL); for each
// type with Q8_K activations that no shared reference covers, rows of two
// super-blocks (so that the float sums run over more than one: Q5_K's
// fused summs, the lanes' FMAs), by one and by five activation rows.
func lanesGoldenCases() []struct {
	dt      DType
	n, R, B int
} {
	var cs []struct {
		dt      DType
		n, R, B int
	}
	for _, dt := range []DType{Q4_1, Q5_0, Q5_1, IQ4_NL} {
		for _, n := range []int{96, 256} {
			for _, B := range []int{1, 5} {
				cs = append(cs, struct {
					dt      DType
					n, R, B int
				}{dt, n, 8, B})
			}
		}
	}
	for _, dt := range []DType{Q2_K, Q3_K, Q5_K, IQ4_XS, TQ1_0, TQ2_0} {
		for _, B := range []int{1, 5} {
			cs = append(cs, struct {
				dt      DType
				n, R, B int
			}{dt, 512, 8, B})
		}
	}
	// BF16: one row (ggml_vec_dot_bf16, with a float64 tail of 4 at n=100)
	// and five (tinyBLAS); the activations are rounded to bfloat16 first,
	// as llama.cpp converts them and model.State does before MatMul.
	for _, c := range [][2]int{{100, 1}, {512, 1}, {512, 5}} {
		cs = append(cs, struct {
			dt      DType
			n, R, B int
		}{BF16, c[0], 8, c[1]})
	}
	return cs
}

// MatMul of Q4_1, Q5_0, Q5_1, IQ4_NL, Q2_K, Q3_K, Q5_K, IQ4_XS, TQ1_0, TQ2_0
// and BF16 weights gives llama.cpp's float32 results bit for bit, for one
// activation row and for a batch: the activations quantized as its AVX2
// quantize_row_q8_0/q8_1 (or the reference quantize_row_q8_K) do, the
// products summed in the order of its AVX2 dots and of tinyBLAS. The
// expected bits are llama.cpp's (snapshot c392e5094, gcc 12.2 on an AMD
// EPYC: ggml_mul_mat of the quantized weights by the F32 activations, on
// one thread; -march=native for the legacy types, the AVX2-only CPU backend
// for the others, which give the same bits under both builds but BF16: the
// native build's one-row dot uses AVX512-BF16), made by the
// programs described in docs/llamacpp-compat.md sections g and h from these
// very inputs. The weights are quantized by gptgo's reference quantizers,
// whose bytes are llama-quantize's (legacy_golden_test.go,
// TestKQuantGoldenVsLlamaCpp).
func TestLaneMatMulsMatchLlamaCpp(t *testing.T) {
	raw, err := os.ReadFile("testdata/lanes_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string // "Q4_1 n=96 B=5" → B·R float32 bits in hex, row b then r
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	p := NewPool(2)
	defer p.Close()
	for _, c := range lanesGoldenCases() {
		key := fmt.Sprintf("%v n=%d B=%d", c.dt, c.n, c.B)
		exp, ok := want[key]
		if !ok || len(exp) != c.B*c.R {
			t.Fatalf("%s: testdata has %d values, want %d", key, len(exp), c.B*c.R)
		}
		wf, x := lanesGoldenInput(c.dt, c.n, c.R, c.B)
		if c.dt == BF16 {
			kernel.RoundBF16Into(x, x)
		}
		rs, err := c.dt.RowSize(int64(c.n))
		if err != nil {
			t.Fatal(err)
		}
		wb := make([]byte, int(rs)*c.R)
		if err := Quantize(c.dt, wf, wb); err != nil {
			t.Fatal(err)
		}
		w, err := New("w", c.dt, wb, c.n, c.R)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]float32, c.B*c.R)
		if err := p.MatMul(w, x, c.B, out); err != nil {
			t.Fatal(err)
		}
		for i, v := range out {
			if got := fmt.Sprintf("%08x", math.Float32bits(v)); got != exp[i] {
				t.Errorf("%s: out[%d] = %v (%s), llama.cpp %s", key, i, v, got, exp[i])
			}
		}
	}
}

// iqGoldenTypes are the formats gptgo reads but cannot write (they need an
// importance matrix), checked with raw blocks instead of quantized weights.
var iqGoldenTypes = []DType{IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M}

// lanesGoldenBlocks returns R rows of n weights of type dt as raw blocks:
// xorshift bytes, with each block's fp16 scale set to 2^-8·(1+k/8) (k from
// the same generator) so that every block is finite. The scale is the first
// two bytes, except in IQ1_M, which spreads it over the top nibbles of its
// four 16-bit scale words at bytes 48…55 (after qs[32] and qh[16]).
func lanesGoldenBlocks(dt DType, n, R int) []byte {
	s := uint64(0xD1B54A32D192ED03) ^ uint64(dt)<<32 ^ uint64(n)
	next := func() uint64 { // xorshift64*
		s ^= s >> 12
		s ^= s << 25
		s ^= s >> 27
		return s * 0x2545F4914F6CDD1D
	}
	bs := dt.TypeSize()
	b := make([]byte, n/dt.BlockSize()*R*bs)
	for i := range b {
		b[i] = byte(next() >> 56)
	}
	for o := 0; o < len(b); o += bs {
		h := 0x1C00 | uint16(next()>>61)<<7
		if dt == IQ1_M {
			for k := 0; k < 4; k++ {
				at := o + 48 + 2*k
				v := uint16(b[at]) | uint16(b[at+1])<<8
				v = v&0x0FFF | (h>>(4*k)&0xF)<<12
				b[at], b[at+1] = byte(v), byte(v>>8)
			}
			continue
		}
		b[o], b[o+1] = byte(h), byte(h>>8)
	}
	return b
}

// MatMul of the IQ1–IQ3 formats gives llama.cpp's float32 results bit for
// bit (its AVX2 ggml_vec_dot_iq*_q8_K lanes), for one activation row and
// for five: rows of 512 (two super-blocks) from lanesGoldenBlocks by
// lanesGoldenInput's activations; llama.cpp's results made as for
// TestLaneMatMulsMatchLlamaCpp (AVX2-only CPU backend; docs/llamacpp-compat.md
// section h).
func TestIQMatMulsMatchLlamaCpp(t *testing.T) {
	raw, err := os.ReadFile("testdata/lanes_llamacpp.json")
	if err != nil {
		t.Fatal(err)
	}
	var want map[string][]string
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	p := NewPool(2)
	defer p.Close()
	const n, R = 512, 8
	for _, dt := range iqGoldenTypes {
		for _, B := range []int{1, 5} {
			key := fmt.Sprintf("%v n=%d B=%d", dt, n, B)
			exp, ok := want[key]
			if !ok || len(exp) != B*R {
				t.Fatalf("%s: testdata has %d values, want %d", key, len(exp), B*R)
			}
			_, x := lanesGoldenInput(dt, n, 0, B)
			w, err := New("w", dt, lanesGoldenBlocks(dt, n, R), n, R)
			if err != nil {
				t.Fatal(err)
			}
			out := make([]float32, B*R)
			if err := p.MatMul(w, x, B, out); err != nil {
				t.Fatal(err)
			}
			for i, v := range out {
				if got := fmt.Sprintf("%08x", math.Float32bits(v)); got != exp[i] {
					t.Errorf("%s: out[%d] = %v (%s), llama.cpp %s", key, i, v, got, exp[i])
				}
			}
		}
	}
}
