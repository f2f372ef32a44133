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

// Four dotHalvesLanes8Asm of four rows of halves (stride bytes apart) with
// the same x, each in that function's order: one 8-lane accumulator per
// row, x's group of eight loaded once for the four. A tail of n%8 elements
// goes through the stack as zero-padded groups, as there.
//
// Registers: SI, R8, R9, R10 = the rows; DI = x; CX = whole groups left;
// BX = tail length; Y0..Y3 = the rows' lanes; Y5 = x's group; Y4, Y6..Y8 =
// the rows' widened halves.
// Frame: 0(SP) x's padded tail (8 float32); 32(SP) + 16·j row j's padded
// tail (8 halves).

// H4OUT folds the lanes of A as dotHalvesLanes8Asm does and stores the sum
// at o(DX).
#define H4OUT(A, XA, o) \
	VEXTRACTF128 $1, A, X9; \
	VADDPS X9, XA, XA; \
	VMOVHLPS XA, XA, X9; \
	VADDPS X9, XA, XA; \
	VMOVSHDUP XA, X9; \
	VADDSS X9, XA, XA; \
	VMOVSS XA, o(DX)

// func dotHalvesLanes8x4Asm(n int, w *byte, stride int, x *float32, out *[4]float32)
TEXT ·dotHalvesLanes8x4Asm(SB), NOSPLIT, $96-40
	MOVQ n+0(FP), CX
	MOVQ CX, BX
	ANDQ $7, BX                       // BX = tail length
	SHRQ $3, CX                       // CX = whole groups
	MOVQ w+8(FP), SI
	MOVQ stride+16(FP), DX
	LEAQ (SI)(DX*1), R8
	LEAQ (R8)(DX*1), R9
	LEAQ (R9)(DX*1), R10
	MOVQ x+24(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

h4loop:
	TESTQ CX, CX
	JEQ   h4tail
	VMOVUPS (DI), Y5
	VCVTPH2PS (SI), Y4
	VFMADD231PS Y5, Y4, Y0
	VCVTPH2PS (R8), Y6
	VFMADD231PS Y5, Y6, Y1
	VCVTPH2PS (R9), Y7
	VFMADD231PS Y5, Y7, Y2
	VCVTPH2PS (R10), Y8
	VFMADD231PS Y5, Y8, Y3
	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, R9
	ADDQ $16, R10
	ADDQ $32, DI
	DECQ CX
	JMP  h4loop

h4tail:
	TESTQ BX, BX
	JEQ   h4reduce
	VXORPS Y5, Y5, Y5
	VMOVUPS Y5, 0(SP)
	VMOVUPS Y5, 32(SP)
	VMOVUPS Y5, 64(SP)
	XORQ AX, AX

h4copy:
	MOVL    (DI)(AX*4), DX
	MOVL    DX, 0(SP)(AX*4)
	MOVWLZX (SI)(AX*2), DX
	MOVW    DX, 32(SP)(AX*2)
	MOVWLZX (R8)(AX*2), DX
	MOVW    DX, 48(SP)(AX*2)
	MOVWLZX (R9)(AX*2), DX
	MOVW    DX, 64(SP)(AX*2)
	MOVWLZX (R10)(AX*2), DX
	MOVW    DX, 80(SP)(AX*2)
	INCQ    AX
	CMPQ    AX, BX
	JLT     h4copy
	VMOVUPS 0(SP), Y5
	VCVTPH2PS 32(SP), Y4
	VFMADD231PS Y5, Y4, Y0
	VCVTPH2PS 48(SP), Y6
	VFMADD231PS Y5, Y6, Y1
	VCVTPH2PS 64(SP), Y7
	VFMADD231PS Y5, Y7, Y2
	VCVTPH2PS 80(SP), Y8
	VFMADD231PS Y5, Y8, Y3

h4reduce:
	MOVQ out+32(FP), DX
	H4OUT(Y0, X0, 0)
	H4OUT(Y1, X1, 4)
	H4OUT(Y2, X2, 8)
	H4OUT(Y3, X3, 12)
	VZEROUPPER
	RET
