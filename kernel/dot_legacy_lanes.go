// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (the __AVX2__ branches of ggml_vec_dot_q4_1_q8_1,
// _q5_0_q8_0, _q5_1_q8_1, _iq4_nl_q8_0, hsum_float_8) and ggml/src/ggml-cpu/llamafile/sgemm.cpp
// (tinyBLAS_Q0_AVX, which llama.cpp takes for Q5_0 and IQ4_NL batches).

package kernel

import "encoding/binary"

// The dots of Q4_1, Q5_0, Q5_1 and IQ4_NL weights sum their products in the
// order of llama.cpp's AVX2 code, which is what its CPU backend runs on an
// x86 machine with AVX2 (its AVX-512/VNNI builds take the same branches and
// only compute the exact integer sums with other instructions):
//
//   - eight float32 lanes; lane m of a block holds the exact integer sum of
//     the products of elements 4m…4m+3 (elements 0…15 are the low nibbles,
//     16…31 the high ones), converted to float32 and added by one fused
//     multiply-add with d = float32(w.d·x.d), blocks in order; the lanes are
//     folded at the end by hsum8;
//   - Q4_1 and Q5_1 add the offset part Σ m·s (m the weight block's min, s
//     the Q8_1 block's d·Σq) in one more float32, by one fused multiply-add
//     per block (gcc contracts llama.cpp's `summs += m*s` under -march=native;
//     checked in the disassembly of the reference build), and return
//     hsum8(lanes) + Σ m·s;
//   - IQ4_NL's single dot (ggml_vec_dot_iq4_nl_q8_0) keeps two sets of lanes,
//     even blocks in one and odd blocks in the other, adds them lane by lane
//     before hsum8, and adds a last odd block as float32(d·float32(Σ)) (not
//     fused there); a batch goes through tinyBLAS, whose one set of lanes
//     takes every block (DotIQ4_NLTinyBLAS).
//
// Q5_0 and IQ4_NL batches (two or more activation rows) go through
// llama.cpp's tinyBLAS_Q0_AVX, whose order is the single set of lanes above;
// Q4_1 and Q5_1 have no tinyBLAS kernel and batch through the same dot.
//
// The plain Go emulates the fused multiply-adds exactly (fmaLanes, fma32x),
// so the generic code, the assembly (dot_legacy_lanes_amd64.s) and llama.cpp
// give the same bits.

// q4_1Lanes sets s to the eight lane sums of a Q4_1 block's nibbles qs
// times the int8 activations ys.
func q4_1Lanes(s *[8]int32, qs *[legacyHalfQ]byte, ys *[QK]byte) {
	for m := range 4 {
		j := 4 * m
		s[m] = int32(qs[j]&15)*int32(int8(ys[j])) + int32(qs[j+1]&15)*int32(int8(ys[j+1])) +
			int32(qs[j+2]&15)*int32(int8(ys[j+2])) + int32(qs[j+3]&15)*int32(int8(ys[j+3]))
		s[m+4] = int32(qs[j]>>4)*int32(int8(ys[j+16])) + int32(qs[j+1]>>4)*int32(int8(ys[j+17])) +
			int32(qs[j+2]>>4)*int32(int8(ys[j+18])) + int32(qs[j+3]>>4)*int32(int8(ys[j+19]))
	}
}

// q5Lanes sets s to the eight lane sums of a five-bit block (nibbles qs,
// fifth bits qh, each quant minus off) times the int8 activations ys.
func q5Lanes(s *[8]int32, qs *[legacyHalfQ]byte, qh uint32, off int32, ys *[QK]byte) {
	var q [QK]int32
	for j, b := range qs {
		q[j] = int32(b&15|byte(qh>>j&1)<<4) - off
		q[j+16] = int32(b>>4|byte(qh>>(j+16)&1)<<4) - off
	}
	for m := range s {
		j := 4 * m
		s[m] = q[j]*int32(int8(ys[j])) + q[j+1]*int32(int8(ys[j+1])) +
			q[j+2]*int32(int8(ys[j+2])) + q[j+3]*int32(int8(ys[j+3]))
	}
}

// iq4nlLanes sets s to the eight lane sums of an IQ4_NL block's codebook
// values times the int8 activations ys.
func iq4nlLanes(s *[8]int32, qs *[legacyHalfQ]byte, ys *[QK]byte) {
	kv := &IQ4NLValues
	for m := range 4 {
		j := 4 * m
		s[m] = int32(kv[qs[j]&15])*int32(int8(ys[j])) + int32(kv[qs[j+1]&15])*int32(int8(ys[j+1])) +
			int32(kv[qs[j+2]&15])*int32(int8(ys[j+2])) + int32(kv[qs[j+3]&15])*int32(int8(ys[j+3]))
		s[m+4] = int32(kv[qs[j]>>4])*int32(int8(ys[j+16])) + int32(kv[qs[j+1]>>4])*int32(int8(ys[j+17])) +
			int32(kv[qs[j+2]>>4])*int32(int8(ys[j+18])) + int32(kv[qs[j+3]>>4])*int32(int8(ys[j+19]))
	}
}

// DotQ4_1 returns the dot product of n Q4_1 weights with n Q8_1 activations:
// Σ (d·q+m)·dy·qy = d·dy·Σ q·qy + m·(dy·Σ qy), the last factor being the s
// that Q8_1 stores; in the order of llama.cpp's AVX2 ggml_vec_dot_q4_1_q8_1.
func DotQ4_1(n int, w, x []byte) float32 { return dotQ4_1(n, w, x) }

var dotQ4_1 = dotQ4_1Generic

func dotQ4_1Generic(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*q4_1Bytes], x[:nb*q8_1Bytes]
	var acc [8]float32
	var summs float32
	var s [8]int32
	for range nb {
		summs = fma32x(half(w[2:]), half(x[q8_1S:]), summs)
		q4_1Lanes(&s, (*[legacyHalfQ]byte)(w[4:4+legacyHalfQ]), (*[QK]byte)(x[q8_1QS:q8_1QS+QK]))
		fmaLanes(&acc, half(w)*half(x), &s)
		w, x = w[q4_1Bytes:], x[q8_1Bytes:]
	}
	return hsum8(&acc) + summs
}

// DotQ5_0 returns the dot product of n Q5_0 weights with n Q8_0 activations,
// in the order of llama.cpp's AVX2 ggml_vec_dot_q5_0_q8_0 (and of its
// tinyBLAS for batches: the same lanes).
func DotQ5_0(n int, w, x []byte) float32 { return dotQ5_0(n, w, x) }

var dotQ5_0 = dotQ5_0Generic

func dotQ5_0Generic(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*q5_0Bytes], x[:nb*q8_0Bytes]
	var acc [8]float32
	var s [8]int32
	for range nb {
		q5Lanes(&s, (*[legacyHalfQ]byte)(w[6:6+legacyHalfQ]), binary.LittleEndian.Uint32(w[2:6]), 16, (*[QK]byte)(x[q8_0QS:q8_0QS+QK]))
		fmaLanes(&acc, half(w)*half(x), &s)
		w, x = w[q5_0Bytes:], x[q8_0Bytes:]
	}
	return hsum8(&acc)
}

// DotQ5_1 returns the dot product of n Q5_1 weights with n Q8_1 activations,
// in the order of llama.cpp's AVX2 ggml_vec_dot_q5_1_q8_1 (as DotQ4_1).
func DotQ5_1(n int, w, x []byte) float32 { return dotQ5_1(n, w, x) }

var dotQ5_1 = dotQ5_1Generic

func dotQ5_1Generic(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*q5_1Bytes], x[:nb*q8_1Bytes]
	var acc [8]float32
	var summs float32
	var s [8]int32
	for range nb {
		summs = fma32x(half(w[2:]), half(x[q8_1S:]), summs)
		q5Lanes(&s, (*[legacyHalfQ]byte)(w[8:8+legacyHalfQ]), binary.LittleEndian.Uint32(w[4:8]), 0, (*[QK]byte)(x[q8_1QS:q8_1QS+QK]))
		fmaLanes(&acc, half(w)*half(x), &s)
		w, x = w[q5_1Bytes:], x[q8_1Bytes:]
	}
	return hsum8(&acc) + summs
}

// DotIQ4_NL returns the dot product of n IQ4_NL weights with n Q8_0
// activations (each nibble indexes IQ4NLValues), in the order of llama.cpp's
// AVX2 ggml_vec_dot_iq4_nl_q8_0, which it uses for one token: even and odd
// blocks in two sets of lanes, a last odd block added alone.
func DotIQ4_NL(n int, w, x []byte) float32 { return dotIQ4_NL(n, w, x) }

var dotIQ4_NL = dotIQ4_NLGeneric

func dotIQ4_NLGeneric(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*iq4nlBytes], x[:nb*q8_0Bytes]
	var acc1, acc2 [8]float32
	var s [8]int32
	ib := 0
	for ; ib+1 < nb; ib += 2 {
		iq4nlLanes(&s, (*[legacyHalfQ]byte)(w[2:2+legacyHalfQ]), (*[QK]byte)(x[q8_0QS:q8_0QS+QK]))
		fmaLanes(&acc1, half(x)*half(w), &s)
		w, x = w[iq4nlBytes:], x[q8_0Bytes:]
		iq4nlLanes(&s, (*[legacyHalfQ]byte)(w[2:2+legacyHalfQ]), (*[QK]byte)(x[q8_0QS:q8_0QS+QK]))
		fmaLanes(&acc2, half(x)*half(w), &s)
		w, x = w[iq4nlBytes:], x[q8_0Bytes:]
	}
	for m := range acc1 {
		acc1[m] += acc2[m]
	}
	sumf := hsum8(&acc1)
	if ib < nb {
		iq4nlLanes(&s, (*[legacyHalfQ]byte)(w[2:2+legacyHalfQ]), (*[QK]byte)(x[q8_0QS:q8_0QS+QK]))
		sumi := s[0] + s[1] + s[2] + s[3] + s[4] + s[5] + s[6] + s[7]
		sumf += float32(float32(half(x)*half(w)) * float32(sumi))
	}
	return sumf
}

// DotIQ4_NLTinyBLAS is DotIQ4_NL in the order of llama.cpp's tinyBLAS_Q0_AVX,
// which it uses for IQ4_NL when it multiplies two or more activation rows:
// one set of lanes for every block, then hsum8. MatMul takes it for batches
// so that a prompt's logits are llama.cpp's.
func DotIQ4_NLTinyBLAS(n int, w, x []byte) float32 { return dotIQ4_NLTinyBLAS(n, w, x) }

var dotIQ4_NLTinyBLAS = dotIQ4_NLTinyBLASGeneric

func dotIQ4_NLTinyBLASGeneric(n int, w, x []byte) float32 {
	nb := n / QK
	w, x = w[:nb*iq4nlBytes], x[:nb*q8_0Bytes]
	var acc [8]float32
	var s [8]int32
	for range nb {
		iq4nlLanes(&s, (*[legacyHalfQ]byte)(w[2:2+legacyHalfQ]), (*[QK]byte)(x[q8_0QS:q8_0QS+QK]))
		fmaLanes(&acc, half(w)*half(x), &s)
		w, x = w[iq4nlBytes:], x[q8_0Bytes:]
	}
	return hsum8(&acc)
}

// DotQ4_1Rows, DotQ5_0Rows, DotQ5_1Rows and DotIQ4_NLRows are the dots above
// over rows (DotRows), for a decode step's matmul.
func DotQ4_1Rows(n int, w []byte, rb int, x []byte, out []float32) { dotQ4_1Rows(n, w, rb, x, out) }

// DotQ5_0Rows is DotQ5_0 over rows (DotRows).
func DotQ5_0Rows(n int, w []byte, rb int, x []byte, out []float32) { dotQ5_0Rows(n, w, rb, x, out) }

// DotQ5_1Rows is DotQ5_1 over rows (DotRows).
func DotQ5_1Rows(n int, w []byte, rb int, x []byte, out []float32) { dotQ5_1Rows(n, w, rb, x, out) }

// DotIQ4_NLRows is DotIQ4_NL over rows (DotRows).
func DotIQ4_NLRows(n int, w []byte, rb int, x []byte, out []float32) { dotIQ4_NLRows(n, w, rb, x, out) }

var (
	dotQ4_1Rows   = rowsOf(DotQ4_1)
	dotQ5_0Rows   = rowsOf(DotQ5_0)
	dotQ5_1Rows   = rowsOf(DotQ5_1)
	dotIQ4_NLRows = rowsOf(DotIQ4_NL)
)
