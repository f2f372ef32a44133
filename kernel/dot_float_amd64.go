//go:build !purego

// Reference: Intel SDM vol. 2 (VFMADD231PS, VCVTPH2PS, VPMOVZXWD); ggml/src/ggml-cpu/simd-mappings.h (AVX2 F32/F16 vectors).

package kernel

func init() {
	if !hasAVX2FMA {
		return
	}
	dotF32 = asmDot(dotF32Asm, 1, 4, 4)
	useAsm("f32")
	if f16cOK {
		dotF16 = asmDot(dotF16Asm, 1, 2, 4)
		useAsm("f16")
	}
	dotBF16 = asmDot(dotBF16Asm, 1, 2, 4)
	useAsm("bf16")
}

// dotF32Asm computes, with two 8-lane accumulators of fused multiply-adds
// (the order of operations is spelled out in dot_float_amd64.s; the tiles in
// tile_amd64.go repeat it exactly):
//
//	for i := 0; i < n; i++ {
//		s += w[i] * x[i] // w, x read as float32 at byte offset 4i
//	}
//	return s
//
//go:noescape
func dotF32Asm(n int, w, x *byte) float32

// dotF16Asm computes, with F16C conversion and fused multiply-adds:
//
//	for i := 0; i < n; i++ {
//		s += FP16ToFP32(w[i]) * x[i] // w half at byte 2i, x float32 at byte 4i
//	}
//	return s
//
//go:noescape
func dotF16Asm(n int, w, x *byte) float32

// dotBF16Asm computes, widening bfloat16 by a 16-bit shift:
//
//	for i := 0; i < n; i++ {
//		s += BF16ToFP32(w[i]) * x[i] // w bfloat16 at byte 2i, x float32 at byte 4i
//	}
//	return s
//
//go:noescape
func dotBF16Asm(n int, w, x *byte) float32
