// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS, 8-lane F16 dot) and ggml/src/ggml-cpu/ggml-cpu.c
// with simd-mappings.h (ggml_vec_dot_f16 on AVX2: GGML_F16_STEP 32, GGML_F16_EPR 8).

package kernel

import (
	"encoding/binary"
	"sync"
)

// The half dots serve the attention over an F16 KV cache: w holds len(x)
// halves (2 bytes each, little-endian) and x values already rounded to half
// precision (RoundF16), so every product of two halves is exact in float32
// (11+11 significant bits, exponents well inside float32's range) and a fused
// multiply-add gives the same bits as a multiply then an add. That is what
// lets the assembly (dot_half_amd64.s) reproduce these sums to the bit, and
// the sums are llama.cpp's to the bit because the orders are its kernels'.

// DotHalvesLanes8 is Σ w[i]·x[i] summed as tinyBLAS does (llama.cpp's F16
// matmul for batches of ≥ 2 tokens): lane i mod 8 accumulates, then the lanes
// are added pairwise (l0+l4, l1+l5, …) and the four results as (a+c)+(b+d).
// A tail of fewer than 8 elements is added as a zero-padded group of 8.
func DotHalvesLanes8(w []byte, x []float32) float32 { return dotHalvesLanes8(w, x) }

// DotHalvesVec is the same dot summed as ggml_vec_dot_f16 does on AVX2 (a
// single token): four 8-lane accumulators take consecutive groups of 8 in
// each step of 32, then fold as (s0+s2)+(s1+s3), halves l+l₄, and
// (a+b)+(c+d). A last step shorter than 32 adds only the elements it has
// (llama.cpp pads the KV length with zeros to a multiple of 32).
func DotHalvesVec(w []byte, x []float32) float32 { return dotHalvesVec(w, x) }

// DotHalvesLanes8Rows sets dst[r] = DotHalvesLanes8(w[r*stride:], x) for
// every r < len(dst): the attention's query against a run of cached keys
// (or its weights against rows of V), without a call per row; the assembly
// does four rows per pass over x.
func DotHalvesLanes8Rows(dst []float32, w []byte, stride int, x []float32) {
	dotHalvesLanes8Rows(dst, w, stride, x)
}

var (
	dotHalvesLanes8     = dotHalvesLanes8Generic
	dotHalvesLanes8Rows = dotHalvesLanes8RowsGeneric
	dotHalvesVec        = dotHalvesVecGeneric
)

func dotHalvesLanes8RowsGeneric(dst []float32, w []byte, stride int, x []float32) {
	for r := range dst {
		dst[r] = dotHalvesLanes8Generic(w[r*stride:], x)
	}
}

// halfTable maps every half-precision bit pattern to its float32 value; a
// lookup is cheaper than FP16ToFP32's bit manipulation in the plain-Go dots.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	var t [1 << 16]float32
	for i := range t {
		t[i] = FP16ToFP32(uint16(i))
	}
	return &t
})

// dotHalvesLanes8Generic keeps the lanes in named variables so that they
// live in registers. The products are exact, so plain adds equal tinyBLAS's
// FMAs.
func dotHalvesLanes8Generic(w []byte, x []float32) float32 {
	t := halfTable()
	var l0, l1, l2, l3, l4, l5, l6, l7 float32
	n := len(x)
	w = w[:2*n]
	i := 0
	for ; i+8 <= n; i += 8 {
		wb, xb := w[2*i:2*i+16:2*i+16], x[i:i+8:i+8]
		l0 += t[uint16(wb[0])|uint16(wb[1])<<8] * xb[0]
		l1 += t[uint16(wb[2])|uint16(wb[3])<<8] * xb[1]
		l2 += t[uint16(wb[4])|uint16(wb[5])<<8] * xb[2]
		l3 += t[uint16(wb[6])|uint16(wb[7])<<8] * xb[3]
		l4 += t[uint16(wb[8])|uint16(wb[9])<<8] * xb[4]
		l5 += t[uint16(wb[10])|uint16(wb[11])<<8] * xb[5]
		l6 += t[uint16(wb[12])|uint16(wb[13])<<8] * xb[6]
		l7 += t[uint16(wb[14])|uint16(wb[15])<<8] * xb[7]
	}
	if i < n { // a padded row's tail: zeros beyond
		var l [8]float32
		for j := 0; i < n; i, j = i+1, j+1 {
			l[j] = t[binary.LittleEndian.Uint16(w[2*i:])] * x[i]
		}
		l0, l1, l2, l3 = l0+l[0], l1+l[1], l2+l[2], l3+l[3]
		l4, l5, l6, l7 = l4+l[4], l5+l[5], l6+l[6], l7+l[7]
	}
	a, b, c, d := l0+l4, l1+l5, l2+l6, l3+l7
	return (a + c) + (b + d)
}

// dotHalvesVecGeneric computes each accumulator in its own pass so that its
// lanes stay in registers; the sums are the same.
func dotHalvesVecGeneric(w []byte, x []float32) float32 {
	t := halfTable()
	var s [4][8]float32
	n := len(x)
	w = w[:2*n]
	full := n &^ 31
	for g := range 4 {
		var l0, l1, l2, l3, l4, l5, l6, l7 float32
		for i := 8 * g; i < full; i += 32 {
			wb, xb := w[2*i:2*i+16:2*i+16], x[i:i+8:i+8]
			l0 += t[uint16(wb[0])|uint16(wb[1])<<8] * xb[0]
			l1 += t[uint16(wb[2])|uint16(wb[3])<<8] * xb[1]
			l2 += t[uint16(wb[4])|uint16(wb[5])<<8] * xb[2]
			l3 += t[uint16(wb[6])|uint16(wb[7])<<8] * xb[3]
			l4 += t[uint16(wb[8])|uint16(wb[9])<<8] * xb[4]
			l5 += t[uint16(wb[10])|uint16(wb[11])<<8] * xb[5]
			l6 += t[uint16(wb[12])|uint16(wb[13])<<8] * xb[6]
			l7 += t[uint16(wb[14])|uint16(wb[15])<<8] * xb[7]
		}
		s[g] = [8]float32{l0, l1, l2, l3, l4, l5, l6, l7}
	}
	for i := full; i < n; i++ { // the zero-padded last step
		j := i - full
		s[j/8][j%8] += t[binary.LittleEndian.Uint16(w[2*i:])] * x[i]
	}
	var v [8]float32
	for m := range 8 {
		v[m] = (s[0][m] + s[2][m]) + (s[1][m] + s[3][m])
	}
	a, b, c, d := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (a + b) + (c + d)
}
