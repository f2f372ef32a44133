//go:build !purego

// Reference: Intel SDM vol. 2 (VBROADCASTSS, VFMADD231PS, VFMADD231SS).

#include "textflag.h"

// func axpyAsm(n int, a float32, x, y *float32)
// Registers: CX = elements left, SI = x, DI = y, AX = byte offset, Y0 = a in every lane.
TEXT ·axpyAsm(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	VBROADCASTSS a+8(FP), Y0          // Y0 = {a, a, …, a}
	MOVQ x+16(FP), SI
	MOVQ y+24(FP), DI
	XORQ AX, AX

loop32:                               // 32 elements per pass: four independent vectors
	CMPQ CX, $32
	JLT  loop8
	VMOVUPS (DI)(AX*1), Y1            // y[i:i+8]
	VMOVUPS 32(DI)(AX*1), Y2
	VMOVUPS 64(DI)(AX*1), Y3
	VMOVUPS 96(DI)(AX*1), Y4
	VFMADD231PS (SI)(AX*1), Y0, Y1    // y += a·x[i:i+8]
	VFMADD231PS 32(SI)(AX*1), Y0, Y2
	VFMADD231PS 64(SI)(AX*1), Y0, Y3
	VFMADD231PS 96(SI)(AX*1), Y0, Y4
	VMOVUPS Y1, (DI)(AX*1)            // store y[i:i+8]
	VMOVUPS Y2, 32(DI)(AX*1)
	VMOVUPS Y3, 64(DI)(AX*1)
	VMOVUPS Y4, 96(DI)(AX*1)
	ADDQ $128, AX
	SUBQ $32, CX
	JMP  loop32

loop8:                                // then 8 at a time
	CMPQ CX, $8
	JLT  tail
	VMOVUPS (DI)(AX*1), Y1
	VFMADD231PS (SI)(AX*1), Y0, Y1
	VMOVUPS Y1, (DI)(AX*1)
	ADDQ $32, AX
	SUBQ $8, CX
	JMP  loop8

tail:                                 // the last n%8 one by one
	TESTQ CX, CX
	JEQ  done
	VMOVSS (DI)(AX*1), X1             // y[i]
	VFMADD231SS (SI)(AX*1), X0, X1    // += a·x[i]
	VMOVSS X1, (DI)(AX*1)
	ADDQ $4, AX
	DECQ CX
	JMP  tail

done:
	VZEROUPPER
	RET
