//go:build !purego

// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS for F32: one FMA lane set, hsum) and
// ggml/src/ggml-cpu/ggml-cpu.c (ggml_vec_dot_f32 and ggml_vec_dot_f16: GGML_F32x8_FMA over four
// accumulators, GGML_F32x8_REDUCE).

#include "textflag.h"

// HSUMT leaves in XA's low lane tinyBLAS's hsum of the eight lanes of A:
// ((l0+l4) + (l2+l6)) + ((l1+l5) + (l3+l7)). Clobbers X15.
#define HSUMT(A, XA) \
	VEXTRACTF128 $1, A, X15; \
	VADDPS       X15, XA, XA; \
	VMOVHLPS     XA, XA, X15; \
	VADDPS       X15, XA, XA; \
	VMOVSHDUP    XA, X15; \
	VADDSS       X15, XA, XA

// GGMLDOT is the body of the vector part of ggml_vec_dot_f32 (es = 4,
// weights loaded by VMOVUPS) and of ggml_vec_dot_f16 (es = 2, widened by
// VCVTPH2PS, exact), with the activations xes bytes each, loaded by XLOAD
// (float32 by VMOVUPS, or halves widened by VCVTPH2PS as llama.cpp holds
// them): accumulator j takes elements 8j…8j+7 of every 32; then
// (a0+a2) + (a1+a3) lane by lane, and the lanes folded by two horizontal
// adds: ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)).
#define GGMLDOT(es, LOAD, xes, XLOAD) \
	MOVQ   n32+0(FP), CX; \
	MOVQ   w+8(FP), SI; \
	MOVQ   x+16(FP), DI; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
loop: \
	LOAD   (SI), Y4; \
	LOAD   (8*es)(SI), Y5; \
	LOAD   (16*es)(SI), Y6; \
	LOAD   (24*es)(SI), Y7; \
	XLOAD  (DI), Y8; \
	XLOAD  (8*xes)(DI), Y9; \
	XLOAD  (16*xes)(DI), Y10; \
	XLOAD  (24*xes)(DI), Y11; \
	VFMADD231PS Y8, Y4, Y0; \
	VFMADD231PS Y9, Y5, Y1; \
	VFMADD231PS Y10, Y6, Y2; \
	VFMADD231PS Y11, Y7, Y3; \
	ADDQ   $(32*es), SI; \
	ADDQ   $(32*xes), DI; \
	DECQ   CX; \
	JNE    loop; \
	VADDPS Y2, Y0, Y0; \
	VADDPS Y3, Y1, Y1; \
	VADDPS Y1, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VHADDPS X0, X0, X0; \
	VHADDPS X0, X0, X0; \
	VMOVSS X0, ret+24(FP); \
	VZEROUPPER; \
	RET

// func dotF32TinyBLASAsm(n8 int, w, x *float32) float32
TEXT ·dotF32TinyBLASAsm(SB), NOSPLIT, $0-28
	MOVQ   n8+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   x+16(FP), DI
	VXORPS Y0, Y0, Y0

ttloop:
	VMOVUPS     (SI), Y1
	VFMADD231PS (DI), Y1, Y0          // lane m += w[i+m]·x[i+m]
	ADDQ        $32, SI
	ADDQ        $32, DI
	DECQ        CX
	JNE         ttloop
	HSUMT(Y0, X0)
	VMOVSS      X0, ret+24(FP)
	VZEROUPPER
	RET

// func tileF32TinyBLASAsm(n8 int, w, x *float32, xStride int, out *[4]float32)
//
// Four dotF32TinyBLASAsm products of one weight row with the activation rows
// at x, x+xStride, x+2·xStride, x+3·xStride (bytes): the same operations
// for each, with each weight vector loaded once for the four.
TEXT ·tileF32TinyBLASAsm(SB), NOSPLIT, $0-40
	MOVQ   n8+0(FP), CX
	MOVQ   w+8(FP), SI
	MOVQ   x+16(FP), DI
	MOVQ   xStride+24(FP), DX
	LEAQ   (DI)(DX*1), R9
	LEAQ   (R9)(DX*1), R11
	LEAQ   (R11)(DX*1), R14
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

t4loop:
	VMOVUPS     (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS (R9), Y4, Y1
	VFMADD231PS (R11), Y4, Y2
	VFMADD231PS (R14), Y4, Y3
	ADDQ        $32, SI
	ADDQ        $32, DI
	ADDQ        $32, R9
	ADDQ        $32, R11
	ADDQ        $32, R14
	DECQ        CX
	JNE         t4loop
	MOVQ        out+32(FP), DX
	HSUMT(Y0, X0)
	VMOVSS      X0, 0(DX)
	HSUMT(Y1, X1)
	VMOVSS      X1, 4(DX)
	HSUMT(Y2, X2)
	VMOVSS      X2, 8(DX)
	HSUMT(Y3, X3)
	VMOVSS      X3, 12(DX)
	VZEROUPPER
	RET

// func dotF32GGMLAsm(n32 int, w, x *float32) float32
TEXT ·dotF32GGMLAsm(SB), NOSPLIT, $0-28
	GGMLDOT(4, VMOVUPS, 4, VMOVUPS)

// func dotF16GGMLAsm(n32 int, w, x *byte) float32
TEXT ·dotF16GGMLAsm(SB), NOSPLIT, $0-28
	GGMLDOT(2, VCVTPH2PS, 4, VMOVUPS)

// func dotF16HalfXAsm(n32 int, w, x *byte) float32
TEXT ·dotF16HalfXAsm(SB), NOSPLIT, $0-28
	GGMLDOT(2, VCVTPH2PS, 2, VCVTPH2PS)
