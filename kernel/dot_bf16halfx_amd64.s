//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_bf16, its __AVX2__ branch: both operands widened
// by a 16-bit shift); Intel SDM vol. 2.

#include "textflag.h"

// func dotBF16HalfXAsm(n32 int, w, xh *byte) float32
//
// dotBF16GGMLAsm with the activations widened from bfloat16 as the weights
// are (exact); the same four accumulators, products, lanes and fold.
TEXT ·dotBF16HalfXAsm(SB), NOSPLIT, $0-28
	MOVQ   n32+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   xh+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	PREFETCHT0  128(SI) // the weights 64 values ahead, as dotBF16GGMLAsm
	VPMOVZXWD   (SI), Y4
	VPMOVZXWD   16(SI), Y5
	VPMOVZXWD   32(SI), Y6
	VPMOVZXWD   48(SI), Y7
	VPMOVZXWD   (DI), Y8
	VPMOVZXWD   16(DI), Y9
	VPMOVZXWD   32(DI), Y10
	VPMOVZXWD   48(DI), Y11
	VPSLLD      $16, Y4, Y4
	VPSLLD      $16, Y5, Y5
	VPSLLD      $16, Y6, Y6
	VPSLLD      $16, Y7, Y7
	VPSLLD      $16, Y8, Y8
	VPSLLD      $16, Y9, Y9
	VPSLLD      $16, Y10, Y10
	VPSLLD      $16, Y11, Y11
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ        $64, SI
	ADDQ        $64, DI
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
