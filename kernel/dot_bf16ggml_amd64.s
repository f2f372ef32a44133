//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_bf16, its __AVX2__ branch); Intel SDM vol. 2.

#include "textflag.h"

// func dotBF16GGMLAsm(n32 int, w, x *byte) float32
//
// Four accumulators Y0..Y3 take, from every 32 values, elements 8j…8j+7
// (bfloat16 widened by a 16-bit shift, exact) times the activations by FMA
// (the products are exact, so this is llama.cpp's multiply-then-add); then
// (Y0+Y2) + (Y1+Y3) lane by lane, and the eight lanes folded as
// _mm256_extractf128_ps, _mm_movehl_ps, _mm_movehdup_ps do.
TEXT ·dotBF16GGMLAsm(SB), NOSPLIT, $0-28
	MOVQ   n32+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   x+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	PREFETCHT0  128(SI) // the weights 64 values ahead, as the other float dots
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ        $64, SI
	ADDQ        $128, DI
	DECQ        CX
	JNE         loop

	VADDPS       Y2, Y0, Y0 // a0+a2
	VADDPS       Y3, Y1, Y1 // a1+a3
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0 // l0+l4, l1+l5, l2+l6, l3+l7
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0 // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET
