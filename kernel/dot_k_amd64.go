//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (the __AVX2__ branches of ggml_vec_dot_q4_K_q8_K,
// ggml_vec_dot_q5_K_q8_K, ggml_vec_dot_q6_K_q8_K: unsigned quants × signed activations with VPMADDUBSW,
// sub-block scales applied with VPMADDWD, mins through Q8_K's bsums).

package kernel

func init() {
	if !hasAVX2FMA || !f16cOK {
		return
	}
	dotQ4_K = asmDot(dotQ4_KAsm, QKK, blockQ4KBytes, BlockQ8KBytes)
	dotQ4_KRows = asmRows(dotQ4_KAsm, QKK, blockQ4KBytes, BlockQ8KBytes)
	useAsm("q4_K")
	dotQ5_K = asmDot(dotQ5_KAsm, QKK, blockQ5KBytes, BlockQ8KBytes)
	dotQ5_KRows = asmRows(dotQ5_KAsm, QKK, blockQ5KBytes, BlockQ8KBytes)
	useAsm("q5_K")
	dotQ6_K = asmDot(dotQ6_KAsm, QKK, blockQ6KBytes, BlockQ8KBytes)
	dotQ6_KRows = asmRows(dotQ6_KAsm, QKK, blockQ6KBytes, BlockQ8KBytes)
	useAsm("q6_K")
}

// dotQ4_KAsm computes, over nb super-blocks (w: 144-byte Q4_K, y: 292-byte
// Q8_K), the integer sums exactly and the float terms in eight lanes:
//
//	for i := 0; i < nb; i++ {
//		var isum, summs int32
//		for j := 0; j < 8; j++ { // sub-blocks of 32
//			sc, m := scaleMinK4(j, w.scales)
//			summs += m * (y.bsums[2j] + y.bsums[2j+1])
//			for l := 0; l < 32; l++ { // quant j·32+l: nibble j&1 of w.qs[(j/2)·32+l]
//				isum += sc * q4(w, 32j+l) * int32(y.qs[32j+l])
//			}
//		}
//		s += y.d*FP16ToFP32(w.d)*float32(isum) - y.d*FP16ToFP32(w.dmin)*float32(summs)
//	}
//	return s
//
//go:noescape
func dotQ4_KAsm(nb int, w, x *byte) float32

// dotQ5_KAsm is dotQ4_KAsm for 176-byte Q5_K blocks, whose quants take a
// fifth bit: q5(w, 32j+l) = q4(w, 32j+l) | (w.qh[l]>>j&1)<<4.
//
//go:noescape
func dotQ5_KAsm(nb int, w, x *byte) float32

// dotQ6_KAsm computes, over nb super-blocks (w: 210-byte Q6_K, y: 292-byte Q8_K):
//
//	for i := 0; i < nb; i++ {
//		var isum int32
//		for k := 0; k < 16; k++ { // sub-blocks of 16
//			for l := 0; l < 16; l++ {
//				isum += int32(w.scales[k]) * (q6(w, 16k+l) - 32) * int32(y.qs[16k+l])
//			}
//		}
//		s += y.d * FP16ToFP32(w.d) * float32(isum)
//	}
//	return s
//
// where element 128c+32r+l (c < 2, r < 4, l < 32) is the low (r < 2) or high
// nibble of w.ql[64c+32(r&1)+l] with bits 2r, 2r+1 of w.qh[32c+l] on top.
//
//go:noescape
func dotQ6_KAsm(nb int, w, x *byte) float32
