//go:build !purego

// Reference: dot_half_carry.go (the loops these compute); dot_half_amd64.s (the folds, instruction for
// instruction); Intel SDM vol. 2.

#include "textflag.h"

// The lanes live in memory (the caller's acc), one 8-lane vector per group:
// loaded, one fused multiply-add, stored. Consecutive groups of a row hit
// the same vector only in the 8-lane order; the rows are independent, so
// the out-of-order core overlaps their chains. The products are exact, so
// each VFMADD231PS rounds once, as the plain Go's add does.
//
// Registers: R8 = rows left, R9 = whole groups' bytes of halves, BX = tail
// length, R11 = mask, SI = the row's halves, R12 = stride, DI = x, R13 =
// the row's lanes, AX = byte offset in the row's halves (x at twice it),
// CX = the current vector's offset over 8, R10 = tail index, DX = scratch,
// Y7 = xt.
// Frame: 0(SP) the row's tail halves, padded with −0 (0x8000).

// func carryHalvesAsm(rows, groupBytes, tail, vec, mask int, w *byte, stride int, x *float32, xt *[8]float32, acc *float32)
TEXT ·carryHalvesAsm(SB), NOSPLIT, $16-80
	MOVQ rows+0(FP), R8
	MOVQ groupBytes+8(FP), R9
	MOVQ tail+16(FP), BX
	MOVQ mask+32(FP), R11
	MOVQ w+40(FP), SI
	MOVQ stride+48(FP), R12
	MOVQ x+56(FP), DI
	MOVQ xt+64(FP), DX
	VMOVUPS (DX), Y7
	MOVQ acc+72(FP), R13
	MOVQ $0x8000800080008000, DX
	MOVQ DX, 0(SP)
	MOVQ DX, 8(SP)

row:
	XORQ AX, AX
	MOVQ vec+24(FP), CX

group:
	CMPQ AX, R9
	JEQ  tail
	VCVTPH2PS   (SI)(AX*1), Y0         // the group's halves
	VMOVUPS     (R13)(CX*8), Y1        // its lanes
	VFMADD231PS (DI)(AX*2), Y0, Y1     // lanes += halves · x
	VMOVUPS     Y1, (R13)(CX*8)
	ADDQ        $16, AX
	ADDQ        $4, CX
	ANDQ        R11, CX                // the next lanes, wrapping
	JMP         group

tail:
	TESTQ BX, BX
	JEQ   next
	ADDQ  SI, AX                       // AX = the tail's halves
	XORQ  R10, R10

tcopy:
	MOVWLZX (AX)(R10*2), DX
	MOVW    DX, 0(SP)(R10*2)
	INCQ    R10
	CMPQ    R10, BX
	JLT     tcopy
	VCVTPH2PS   0(SP), Y0
	VMOVUPS     (R13)(CX*8), Y1
	VFMADD231PS Y7, Y0, Y1
	VMOVUPS     Y1, (R13)(CX*8)

next:
	ADDQ R12, SI
	LEAQ 32(R13)(R11*8), R13           // the next row's lanes: (mask+4)·8 bytes on
	DECQ R8
	JNZ  row
	VZEROUPPER
	RET

// func foldLanes8Asm(rows int, acc *float32, dst *float32)
TEXT ·foldLanes8Asm(SB), NOSPLIT, $0-24
	MOVQ rows+0(FP), CX
	MOVQ acc+8(FP), SI
	MOVQ dst+16(FP), DI

f8loop:
	VMOVUPS (SI), Y0
	// [l0..l7] → [a b c d] = l0+l4, … → [a+c b+d] → (a+c)+(b+d)
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVHLPS     X0, X0, X1
	VADDPS       X1, X0, X0
	VMOVSHDUP    X0, X1
	VADDSS       X1, X0, X0
	VMOVSS       X0, (DI)
	ADDQ $32, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  f8loop
	VZEROUPPER
	RET

// func foldVecAsm(rows int, acc *float32, dst *float32)
TEXT ·foldVecAsm(SB), NOSPLIT, $0-24
	MOVQ rows+0(FP), CX
	MOVQ acc+8(FP), SI
	MOVQ dst+16(FP), DI

fvloop:
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	// v = (s0+s2)+(s1+s3) → [a b c d] = v0+v4, … → [a+b c+d …] → (a+b)+(c+d)
	VADDPS       Y2, Y0, Y0
	VADDPS       Y3, Y1, Y1
	VADDPS       Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VMOVSS       X0, (DI)
	ADDQ $128, SI
	ADDQ $4, DI
	DECQ CX
	JNZ  fvloop
	VZEROUPPER
	RET
