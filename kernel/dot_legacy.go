// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (ggml_vec_dot_q4_0_q8_0 … ggml_vec_dot_iq4_nl_q8_0, their scalar
// tails); block layouts from ggml/src/ggml-common.h.

package kernel

import (
	"encoding/binary"
	"math"
)

// Byte layouts of the legacy weight blocks (32 elements each; d and m are
// fp16, qh is a little-endian uint32 of fifth bits, qs holds two 4-bit quants
// per byte: element j in the low nibble of qs[j], element j+16 in the high):
//
//	Q4_0   (18 bytes): d | qs[16]            value = d·(q-8)
//	Q4_1   (20 bytes): d | m | qs[16]        value = d·q + m
//	Q5_0   (22 bytes): d | qh[4] | qs[16]    value = d·(q-16), q = nibble | bit<<4
//	Q5_1   (24 bytes): d | m | qh[4] | qs[16] value = d·q + m
//	Q8_0   (34 bytes): d | qs[32] int8       value = d·q
//	IQ4_NL (18 bytes): d | qs[16]            value = d·IQ4NLValues[q]
//
// The tensor package declares the same layouts as Go structs with size checks.
const (
	q4_0Bytes   = 18
	q4_1Bytes   = 20
	q5_0Bytes   = 22
	q5_1Bytes   = 24
	iq4nlBytes  = 18
	legacyHalfQ = QK / 2 // bytes of packed nibbles per block
)

// IQ4NLValues is the non-linear 4-bit codebook of IQ4_NL (and IQ4_XS): a
// 4-bit index selects one of these int8 levels, scaled by the block's d. It
// is part of the file format: read it, never write it.
var IQ4NLValues = [16]int8{-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113}

// The block dots below (Q4_0, Q8_0; dot_legacy_lanes.go has Q4_1, Q5_0,
// Q5_1 and IQ4_NL) take an integer sum of int8 products per block (exact,
// it cannot overflow: 32·128·128 < 2³¹), then one float32 scale per block,
// accumulated in float32 in llama.cpp's order (each dot says which).
// Every float product is wrapped in float32() or emulated as one fused
// multiply-add, so no architecture fuses anything else: the generic result
// is the same on every machine, which makes it a stable reference for the
// assembly versions.
//
// Each loop views the current block's quants as fixed-size arrays
// ((*[16]byte)(w[2:18])) and then advances w and x past the block: the inner
// loops need no bounds checks and few live registers, which made the plain
// Go code about 1.5× faster than indexing by block number. Fields are read with
// encoding/binary at byte offsets (one load each after inlining), so blocks
// may sit at any alignment, as they do inside a GGUF row of 18-byte blocks.

func half(b []byte) float32 { return fp16Table[binary.LittleEndian.Uint16(b)] }

// DotQ4_0 returns the dot product of n Q4_0 weights with n Q8_0 activations,
// in the float order llama.cpp uses for Q4_0 on AVX2 CPUs, where it repacks
// Q4_0 weights to q4_0_8x8 and multiplies them with ggml_gemv/gemm_q4_0_8x8_q8_0
// (for one token and for prompts alike): one float32 accumulator; per block,
// the exact integer sum of its 32 products, as float32, added by one fused
// multiply-add with d = float32(w.d·x.d), blocks in order.
func DotQ4_0(n int, w, x []byte) float32 { return dotQ4_0(n, w, x) }

var dotQ4_0 = dotQ4_0Generic

func dotQ4_0Generic(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*q4_0Bytes], x[:nb*q8_0Bytes]
	var acc float32
	for range nb {
		qs := (*[legacyHalfQ]byte)(w[2 : 2+legacyHalfQ])
		ys := (*[QK]byte)(x[q8_0QS : q8_0QS+QK])
		var sumi int32
		for j, q := range qs {
			sumi += (int32(q&15)-8)*int32(int8(ys[j])) + (int32(q>>4)-8)*int32(int8(ys[j+legacyHalfQ]))
		}
		acc = fma32i(half(w)*half(x), sumi, acc)
		w, x = w[q4_0Bytes:], x[q8_0Bytes:]
	}
	return acc
}

// DotQ8_0 returns the dot product of n Q8_0 weights with n Q8_0 activations,
// in the float order of llama.cpp's AVX2 code (see hsum8).
func DotQ8_0(n int, w, x []byte) float32 { return dotQ8_0(n, w, x) }

var dotQ8_0 = dotQ8_0Generic

// DotRows is, for a weight type's dot, out[r] = dot(n, w[r*rb:], x) for
// every r < len(out): one activation row against consecutive weight rows,
// which is a decode step's matmul. The DotXRows functions are the DotX
// dots in this form; where the dot is assembly they call it directly for
// each row.
type DotRows func(n int, w []byte, rb int, x []byte, out []float32)

// rowsOf is the plain-Go DotRows of a dot.
func rowsOf(dot func(n int, w, x []byte) float32) DotRows {
	return func(n int, w []byte, rb int, x []byte, out []float32) {
		for r := range out {
			out[r] = dot(n, w[r*rb:], x)
		}
	}
}

// DotQ8_0Rows is DotQ8_0 over rows (DotRows).
func DotQ8_0Rows(n int, w []byte, rb int, x []byte, out []float32) { dotQ8_0Rows(n, w, rb, x, out) }

// DotQ4_0Rows is DotQ4_0 over rows (DotRows).
func DotQ4_0Rows(n int, w []byte, rb int, x []byte, out []float32) { dotQ4_0Rows(n, w, rb, x, out) }

var (
	dotQ8_0Rows = rowsOf(DotQ8_0)
	dotQ4_0Rows = rowsOf(DotQ4_0)
)

func dotQ8_0Generic(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*q8_0Bytes], x[:nb*q8_0Bytes]
	var acc [8]float32
	for range nb {
		qs := (*[QK]byte)(w[q8_0QS : q8_0QS+QK])
		ys := (*[QK]byte)(x[q8_0QS : q8_0QS+QK])
		var s [8]int32
		for m := range s {
			j := 4 * m
			s[m] = int32(int8(qs[j]))*int32(int8(ys[j])) + int32(int8(qs[j+1]))*int32(int8(ys[j+1])) +
				int32(int8(qs[j+2]))*int32(int8(ys[j+2])) + int32(int8(qs[j+3]))*int32(int8(ys[j+3]))
		}
		fmaLanes(&acc, half(w)*half(x), &s)
		w, x = w[q8_0Bytes:], x[q8_0Bytes:]
	}
	return hsum8(&acc)
}

// hsum8 ends the float order that DotQ8_0 shares with llama.cpp's AVX2
// ggml_vec_dot_q8_0_q8_0 and with tinyBLAS_Q0_AVX (llamafile_sgemm), which
// llama.cpp takes for Q8_0 on prompt batches: eight float32 lanes; lane m of
// block b holds the exact integer sum of the products of elements 4m…4m+3
// and is added by one fused multiply-add with d = float32(w.d·x.d), blocks
// in order;
// then hsum8 folds the lanes as llama.cpp's hsum_float_8 (and tinyBLAS's
// hsum) does: ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)). The assembly and the
// tiles do exactly this, so the plain Go, the assembly and llama.cpp agree
// bit for bit.
func hsum8(l *[8]float32) float32 {
	t0, t1, t2, t3 := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
	return (t0 + t2) + (t1 + t3)
}

// fmaLanes does acc[m] += d·s[m] for the eight lanes, each rounded once to
// float32 as VFMADD231PS does. As VCVTDQ2PS, s[m] is first rounded to
// float32; d·s[m] is then exact in float64 (two float32s), so the float64 sum is rounded only once more, to
// float32; where that second rounding would meet an exact float32 tie, the
// float64 sum is first moved one step toward its (exactly computed) error,
// which settles the tie as a single rounding would. Results in float32's
// subnormal range are not corrected (d ≥ 2⁻⁴⁸ in the dots). One call per
// block keeps the per-lane work inline.
//
// fma32i is the same for one lane.
func fmaLanes(acc *[8]float32, d float32, s *[8]int32) {
	for m, v := range s {
		p, q := float64(d)*float64(float32(v)), float64(acc[m])
		r := p + q
		if u := math.Float64bits(r); u&(1<<29-1) == 1<<28 { // r sits on a float32 tie
			bv := r - p
			// One float64 step toward the error (if any): away from zero
			// when the error has r's sign.
			if e := (p - (r - bv)) + (q - bv); e*r > 0 {
				r = math.Float64frombits(u + 1)
			} else if e*r < 0 {
				r = math.Float64frombits(u - 1)
			}
		}
		acc[m] = float32(r)
	}
}

func fma32i(d float32, s int32, acc float32) float32 {
	p, q := float64(d)*float64(float32(s)), float64(acc)
	r := p + q
	if u := math.Float64bits(r); u&(1<<29-1) == 1<<28 {
		bv := r - p
		if e := (p - (r - bv)) + (q - bv); e*r > 0 {
			r = math.Float64frombits(u + 1)
		} else if e*r < 0 {
			r = math.Float64frombits(u - 1)
		}
	}
	return float32(r)
}
