//go:build !purego

// Reference: ggml/src/ggml-cpu/vec.cpp (ggml_vec_dot_f16 under AVX2: GGML_F32Cx8_LOAD widens both
// operands with VCVTPH2PS; four accumulators over each 32 values; GGML_F32x8_REDUCE).

#include "textflag.h"

// func dotF16HalfXAsm(n32 int, w, xh *byte) float32
//
// dotF16GGMLAsm's lanes and fold with the activations widened from halves
// as the weights are: accumulator j takes elements 8j…8j+7 of every 32,
// then (a0+a2) + (a1+a3) lane by lane and two horizontal adds.
TEXT ·dotF16HalfXAsm(SB), NOSPLIT, $0-28
	MOVQ   n32+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   xh+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop:
	VCVTPH2PS   (SI), Y4
	VCVTPH2PS   16(SI), Y5
	VCVTPH2PS   32(SI), Y6
	VCVTPH2PS   48(SI), Y7
	VCVTPH2PS   (DI), Y8
	VCVTPH2PS   16(DI), Y9
	VCVTPH2PS   32(DI), Y10
	VCVTPH2PS   48(DI), Y11
	VFMADD231PS Y8, Y4, Y0
	VFMADD231PS Y9, Y5, Y1
	VFMADD231PS Y10, Y6, Y2
	VFMADD231PS Y11, Y7, Y3
	ADDQ        $64, SI
	ADDQ        $64, DI
	DECQ        CX
	JNE         loop
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, ret+24(FP)
	VZEROUPPER
	RET
