//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_bf16, its __AVX2__ branch); Intel SDM vol. 2.

#include "textflag.h"

// XF32 loads eight float32 activations at off(DI) into R.
#define XF32(off, R) VMOVUPS off(DI), R

// XBF16 loads eight bfloat16 activations at off(DI) into R, widened by a
// 16-bit shift (exact), as the weights are.
#define XBF16(off, R) VPMOVZXWD off(DI), R; VPSLLD $16, R, R

// BF16DOT is the body of ggml_vec_dot_bf16's AVX2 vector part with the
// activations xes bytes each, loaded by XLOAD (XF32 or XBF16). Four
// accumulators Y0..Y3 take, from every 32 values, elements 8j…8j+7
// (bfloat16 widened by a 16-bit shift, exact) times the activations by FMA
// (the products are exact, so this is llama.cpp's multiply-then-add); then
// (Y0+Y2) + (Y1+Y3) lane by lane, and the eight lanes folded as
// _mm256_extractf128_ps, _mm_movehl_ps, _mm_movehdup_ps do.
#define BF16DOT(xes, XLOAD) \
	MOVQ   n32+0(FP), CX; \
	MOVQ   w+8(FP), SI; \
	MOVQ   x+16(FP), DI; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
loop: \
	PREFETCHT0  128(SI); \
	VPMOVZXWD   (SI), Y4; \
	VPMOVZXWD   16(SI), Y5; \
	VPMOVZXWD   32(SI), Y6; \
	VPMOVZXWD   48(SI), Y7; \
	VPSLLD      $16, Y4, Y4; \
	VPSLLD      $16, Y5, Y5; \
	VPSLLD      $16, Y6, Y6; \
	VPSLLD      $16, Y7, Y7; \
	XLOAD(0, Y8); \
	XLOAD(8*xes, Y9); \
	XLOAD(16*xes, Y10); \
	XLOAD(24*xes, Y11); \
	VFMADD231PS Y8, Y4, Y0; \
	VFMADD231PS Y9, Y5, Y1; \
	VFMADD231PS Y10, Y6, Y2; \
	VFMADD231PS Y11, Y7, Y3; \
	ADDQ        $64, SI; \
	ADDQ        $(32*xes), DI; \
	DECQ        CX; \
	JNE         loop; \
	VADDPS       Y2, Y0, Y0; \
	VADDPS       Y3, Y1, Y1; \
	VADDPS       Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVHLPS     X0, X0, X1; \
	VADDPS       X1, X0, X0; \
	VMOVSHDUP    X0, X1; \
	VADDSS       X1, X0, X0; \
	VMOVSS       X0, ret+24(FP); \
	VZEROUPPER; \
	RET

// func dotBF16GGMLAsm(n32 int, w, x *byte) float32
TEXT ·dotBF16GGMLAsm(SB), NOSPLIT, $0-28
	BF16DOT(4, XF32)

// func dotBF16HalfXAsm(n32 int, w, x *byte) float32
//
// The activations in bfloat16 too, as llama.cpp holds them (DotBF16HalfX).
TEXT ·dotBF16HalfXAsm(SB), NOSPLIT, $0-28
	BF16DOT(2, XBF16)
