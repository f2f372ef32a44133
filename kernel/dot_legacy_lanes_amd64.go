//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (the __AVX2__ branches of ggml_vec_dot_q4_1_q8_1,
// _q5_0_q8_0, _q5_1_q8_1, _iq4_nl_q8_0); llamafile/sgemm.cpp (tinyBLAS_Q0_AVX).

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	q41, q50, q51, iq4, iq4tb := dotQ4_1Asm, dotQ5_0Asm, dotQ5_1Asm, dotIQ4_NLAsm, dotIQ4_NLTBAsm
	if vnniOK {
		// The same operations with one VPDPBUSD for each pair-sum step,
		// as llama.cpp's mul_sum_us8_pairs_float on such a CPU: same bits.
		q41, q50, q51, iq4, iq4tb = dotQ4_1VNNIAsm, dotQ5_0VNNIAsm, dotQ5_1VNNIAsm, dotIQ4_NLVNNIAsm, dotIQ4_NLTBVNNIAsm
		useAsm("lanes-vnni")
		// Fewer vector operations per block with AVX-512 masks and
		// broadcasts, w.d converted rather than looked up: same bits
		// (dot_legacy_vl_avx512_amd64.s).
		q41, q50, q51, iq4 = dotQ4_1VLAsm, dotQ5_0VLAsm, dotQ5_1VLAsm, dotIQ4_NLVLAsm
		useAsm("lanes-vl")
	}
	dotQ4_1 = asmDot(q41, QK, q4_1Bytes, q8_1Bytes)
	dotQ4_1Rows = asmRows(q41, QK, q4_1Bytes, q8_1Bytes)
	useAsm("q4_1")
	dotQ5_0 = asmDot(q50, QK, q5_0Bytes, q8_0Bytes)
	dotQ5_0Rows = asmRows(q50, QK, q5_0Bytes, q8_0Bytes)
	useAsm("q5_0")
	dotQ5_1 = asmDot(q51, QK, q5_1Bytes, q8_1Bytes)
	dotQ5_1Rows = asmRows(q51, QK, q5_1Bytes, q8_1Bytes)
	useAsm("q5_1")
	dotIQ4_NL = asmDot(iq4, QK, iq4nlBytes, q8_0Bytes)
	dotIQ4_NLRows = asmRows(iq4, QK, iq4nlBytes, q8_0Bytes)
	dotIQ4_NLTinyBLAS = asmDot(iq4tb, QK, iq4nlBytes, q8_0Bytes)
	useAsm("iq4_nl")
}

// dotQ4_1Asm computes, over nb > 0 blocks of 32 (w: 20-byte Q4_1, x:
// 36-byte Q8_1), as dotQ4_1Generic, bit for bit:
//
//	var acc [8]float32
//	var summs float32
//	for i := 0; i < nb; i++ {
//		summs = fma(FP16ToFP32(w.m), FP16ToFP32(x.s), summs) // rounded once
//		d := FP16ToFP32(w.d) * FP16ToFP32(x.d)
//		for m := 0; m < 8; m++ { // lane m: elements 4m..4m+3 (low nibbles, then high)
//			acc[m] = fma(d, float32(Σ_{j=4m}^{4m+3} q[j]*int32(x.qs[j])), acc[m])
//		}
//	}
//	return hsum8(acc) + summs
//
//go:noescape
func dotQ4_1Asm(nb int, w, x *byte) float32

// dotQ5_1Asm is dotQ4_1Asm for 24-byte Q5_1 blocks (q = nibble | fifth
// bit << 4), as dotQ5_1Generic, bit for bit.
//
//go:noescape
func dotQ5_1Asm(nb int, w, x *byte) float32

// dotQ5_0Asm computes, over nb > 0 blocks of 32 (w: 22-byte Q5_0, x:
// 34-byte Q8_0), as dotQ5_0Generic, bit for bit:
//
//	var acc [8]float32
//	for i := 0; i < nb; i++ {
//		d := FP16ToFP32(w.d) * FP16ToFP32(x.d)
//		for m := 0; m < 8; m++ { // q[j] = nibble | fifth bit << 4, minus 16
//			acc[m] = fma(d, float32(Σ_{j=4m}^{4m+3} q[j]*int32(x.qs[j])), acc[m])
//		}
//	}
//	return hsum8(acc)
//
//go:noescape
func dotQ5_0Asm(nb int, w, x *byte) float32

// dotIQ4_NLAsm computes, over nb > 0 blocks of 32 (w: 18-byte IQ4_NL, x:
// 34-byte Q8_0), as dotIQ4_NLGeneric, bit for bit: dotQ5_0Asm's lanes with
// q[j] = IQ4NLValues[nibble j], even blocks in acc1 and odd ones in acc2,
// then hsum8(acc1 + acc2), and for odd nb the last block added as
// float32(d·float32(Σ q[j]·x.qs[j])).
//
//go:noescape
func dotIQ4_NLAsm(nb int, w, x *byte) float32

// dotIQ4_NLTBAsm is dotIQ4_NLAsm with every block in one set of lanes
// (tinyBLAS's order), as dotIQ4_NLTinyBLASGeneric, bit for bit.
//
//go:noescape
func dotIQ4_NLTBAsm(nb int, w, x *byte) float32

// TileQ4_1 is TileF32 for Q4_1 weights against Q8_1 activations (n a
// multiple of 32, rows of 36-byte blocks xStride bytes apart):
// out[j*outStride] = DotQ4_1(n, w, x[j*xStride:]), bit for bit. Like the
// tiles in tile_amd64.go, it may be called only where Tiles() is true.
func TileQ4_1(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QK; tileCheck(nb, nb*q4_1Bytes, nb*q8_1Bytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileQ4_1VNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileQ4_1Asm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileQ5_1 is TileQ4_1 for Q5_1 weights:
// out[j*outStride] = DotQ5_1(n, w, x[j*xStride:]), bit for bit.
func TileQ5_1(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QK; tileCheck(nb, nb*q5_1Bytes, nb*q8_1Bytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileQ5_1VNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileQ5_1Asm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileQ5_0 is TileQ4_1 for Q5_0 weights against Q8_0 activations (rows of
// 34-byte blocks): out[j*outStride] = DotQ5_0(n, w, x[j*xStride:]), bit for
// bit (llama.cpp's tinyBLAS gives Q5_0 batches the same bits).
func TileQ5_0(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QK; tileCheck(nb, nb*q5_0Bytes, nb*q8_0Bytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileQ5_0VNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileQ5_0Asm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// TileIQ4_NL is TileQ5_0 for IQ4_NL weights, in the order MatMul uses for
// batches: out[j*outStride] = DotIQ4_NLTinyBLAS(n, w, x[j*xStride:]), bit
// for bit.
func TileIQ4_NL(n int, w, x []byte, xStride int, out []float32, outStride int) {
	var t [4]float32
	if nb := n / QK; tileCheck(nb, nb*iq4nlBytes, nb*q8_0Bytes, w, x, xStride, out, outStride) {
		if vnniTiles {
			tileIQ4_NLVNNIAsm(nb, &w[0], &x[0], xStride, &t)
		} else {
			tileIQ4_NLAsm(nb, &w[0], &x[0], xStride, &t)
		}
	}
	scatter(&t, out, outStride)
}

// tileQ4_1Asm computes, with the operations of dotQ4_1Asm for each product:
//
//	for j := 0; j < 4; j++ {
//		out[j] = dotQ4_1Asm(nb, w, x + j*xStride)
//	}
//
// unpacking each weight block and converting its d and m once for the four.
//
//go:noescape
func tileQ4_1Asm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileQ5_1Asm is tileQ4_1Asm with the operations of dotQ5_1Asm.
//
//go:noescape
func tileQ5_1Asm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileQ5_0Asm is tileQ4_1Asm with the operations of dotQ5_0Asm.
//
//go:noescape
func tileQ5_0Asm(nb int, w, x *byte, xStride int, out *[4]float32)

// tileIQ4_NLAsm is tileQ4_1Asm with the operations of dotIQ4_NLTBAsm.
//
//go:noescape
func tileIQ4_NLAsm(nb int, w, x *byte, xStride int, out *[4]float32)

// The VNNI forms: the functions above with VPDPBUSD (AVX512-VNNI with VL,
// 256-bit) in place of each VPMADDUBSW+VPMADDWD pair, bit for bit the same
// (the integer sums are exact either way), for CPUs where vnniOK.
//
//go:noescape
func dotQ4_1VNNIAsm(nb int, w, x *byte) float32

//go:noescape
func dotQ5_0VNNIAsm(nb int, w, x *byte) float32

//go:noescape
func dotQ5_1VNNIAsm(nb int, w, x *byte) float32

//go:noescape
func dotIQ4_NLVNNIAsm(nb int, w, x *byte) float32

//go:noescape
func dotIQ4_NLTBVNNIAsm(nb int, w, x *byte) float32

//go:noescape
func tileQ4_1VNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)

//go:noescape
func tileQ5_1VNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)

//go:noescape
func tileQ5_0VNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)

//go:noescape
func tileIQ4_NLVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
