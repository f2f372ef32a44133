//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (the __AVX2__ branches of ggml_vec_dot_q4_0_q8_0 and
// ggml_vec_dot_q8_0_q8_0: sign trick for signed×signed bytes with VPMADDUBSW).

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	dotQ4_0 = asmDot(dotQ4_0Asm, QK, q4_0Bytes, q8_0Bytes)
	dotQ4_0Rows = asmRows(dotQ4_0Asm, QK, q4_0Bytes, q8_0Bytes)
	useAsm("q4_0")
	q8 := dotQ8_0Asm
	if vnniOK {
		// dotQ8_0VNNIAsm's operations (legacy_avx512_amd64.s) with w.d
		// converted rather than looked up: the same bits
		// (dot_legacy_vl_avx512_amd64.s).
		q8 = dotQ8_0VLAsm
	}
	dotQ8_0 = asmDot(q8, QK, q8_0Bytes, q8_0Bytes)
	dotQ8_0Rows = asmRows(q8, QK, q8_0Bytes, q8_0Bytes)
	useAsm("q8_0")
}

// dotQ4_0Asm computes, over nb blocks of 32 (w: 18-byte Q4_0, x: 34-byte Q8_0),
// as dotQ4_0Generic, bit for bit:
//
//	for i := 0; i < nb; i++ {
//		var sumi int32
//		for j := 0; j < 16; j++ {
//			sumi += (int32(w.qs[j]&15)-8)*int32(x.qs[j]) + (int32(w.qs[j]>>4)-8)*int32(x.qs[j+16])
//		}
//		s = fma(float32(sumi), FP16ToFP32(w.d)*FP16ToFP32(x.d), s) // rounded once
//	}
//	return s
//
//go:noescape
func dotQ4_0Asm(nb int, w, x *byte) float32

// dotQ8_0Asm computes, over nb blocks of 32 (both 34-byte Q8_0), as
// dotQ8_0Generic, bit for bit:
//
//	var acc [8]float32
//	for i := 0; i < nb; i++ {
//		d := FP16ToFP32(w.d) * FP16ToFP32(x.d)
//		for m := 0; m < 8; m++ { // lane m: elements 4m..4m+3
//			sumi := Σ_{j=4m}^{4m+3} int32(w.qs[j]) * int32(x.qs[j])
//			acc[m] = fma(d, float32(sumi), acc[m]) // rounded once
//		}
//	}
//	return ((acc[0]+acc[4]) + (acc[2]+acc[6])) + ((acc[1]+acc[5]) + (acc[3]+acc[7]))
//
//go:noescape
func dotQ8_0Asm(nb int, w, x *byte) float32
