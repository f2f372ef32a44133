//go:build !purego

// Reference: ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS F16); ggml/src/ggml-cpu/simd-mappings.h
// (GGML_F16_VEC_REDUCE on AVX2); Intel SDM vol. 2.

#include "textflag.h"

// The half dots of the attention (see dot_half.go). Every product of a half
// and a half-rounded float32 is exact, so VFMADD231PS rounds once per add just
// as the plain-Go multiply-then-add does, and the lanes, accumulators,
// tails and folds below are those of dotHalvesLanes8Generic and
// dotHalvesVecGeneric, which makes the results bit-identical.
//
// A tail shorter than a vector is copied into a padded buffer on the stack
// and processed as a whole vector: for Lanes8 the padding is +0 halves times
// +0, the zeros tinyBLAS's padded tail adds; for Vec it is −0 halves times
// +0, a −0 product that leaves each accumulator unchanged, since the plain
// loop adds nothing to the lanes past the end.
//
// Registers: CX = elements left, SI = w, DI = x, AX = tail index.

// func dotHalvesLanes8Asm(n int, w *byte, x *float32) float32
// Frame: 0(SP) 8 halves, 16(SP) 8 float32s.
TEXT ·dotHalvesLanes8Asm(SB), NOSPLIT, $48-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0

loop8:
	CMPQ CX, $8
	JLT  tail
	VCVTPH2PS   (SI), Y4
	VFMADD231PS (DI), Y4, Y0
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  loop8

tail:
	TESTQ CX, CX
	JEQ   reduce
	VXORPS  Y5, Y5, Y5
	VMOVDQU X5, 0(SP)
	VMOVDQU Y5, 16(SP)
	XORQ    AX, AX

copy8:
	MOVWLZX (SI)(AX*2), DX
	MOVW    DX, 0(SP)(AX*2)
	MOVL    (DI)(AX*4), DX
	MOVL    DX, 16(SP)(AX*4)
	INCQ    AX
	CMPQ    AX, CX
	JLT     copy8
	VCVTPH2PS   0(SP), Y4
	VFMADD231PS 16(SP), Y4, Y0

reduce:
	// [l0..l7] → [a b c d] = l0+l4, … → [a+c b+d] → (a+c)+(b+d)
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotHalvesVecAsm(n int, w *byte, x *float32) float32
// Frame: 0(SP) 32 halves, 64(SP) 32 float32s.
TEXT ·dotHalvesVecAsm(SB), NOSPLIT, $192-28
	MOVQ n+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

loop32:
	CMPQ CX, $32
	JLT  tail
	VCVTPH2PS   0(SI), Y4
	VCVTPH2PS   16(SI), Y5
	VCVTPH2PS   32(SI), Y6
	VCVTPH2PS   48(SI), Y7
	VFMADD231PS 0(DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JMP  loop32

tail:
	TESTQ CX, CX
	JEQ   reduce
	MOVL         $0x80008000, DX
	VMOVD        DX, X5
	VPBROADCASTD X5, Y5
	VMOVDQU      Y5, 0(SP)
	VMOVDQU      Y5, 32(SP)
	VXORPS       Y6, Y6, Y6
	VMOVDQU      Y6, 64(SP)
	VMOVDQU      Y6, 96(SP)
	VMOVDQU      Y6, 128(SP)
	VMOVDQU      Y6, 160(SP)
	XORQ         AX, AX

copy32:
	MOVWLZX (SI)(AX*2), DX
	MOVW    DX, 0(SP)(AX*2)
	MOVL    (DI)(AX*4), DX
	MOVL    DX, 64(SP)(AX*4)
	INCQ    AX
	CMPQ    AX, CX
	JLT     copy32
	VCVTPH2PS   0(SP), Y4
	VCVTPH2PS   16(SP), Y5
	VCVTPH2PS   32(SP), Y6
	VCVTPH2PS   48(SP), Y7
	VFMADD231PS 64(SP), Y4, Y0
	VFMADD231PS 96(SP), Y5, Y1
	VFMADD231PS 128(SP), Y6, Y2
	VFMADD231PS 160(SP), Y7, Y3

reduce:
	// v = (s0+s2)+(s1+s3) → [a b c d] = v0+v4, … → [a+b c+d …] → (a+b)+(c+d)
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
