//go:build !purego

// Reference: John McCalpin's STREAM benchmark; one 32-byte load per VADDPS over four accumulators.

#include "textflag.h"

// func sumF32Asm(n int, x *float32) float32
TEXT ·sumF32Asm(SB), NOSPLIT, $0-20
	MOVQ n+0(FP), CX          // CX = elements left
	MOVQ x+8(FP), SI          // SI = &x[i]
	VXORPS Y0, Y0, Y0         // four accumulators: one load-add per cycle
	VXORPS Y1, Y1, Y1         // stays ahead of memory
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT  sumtail8

sumloop32:
	VADDPS (SI), Y0, Y0       // acc0 += x[i:i+8]
	VADDPS 32(SI), Y1, Y1     // acc1 += x[i+8:i+16]
	VADDPS 64(SI), Y2, Y2     // acc2 += x[i+16:i+24]
	VADDPS 96(SI), Y3, Y3     // acc3 += x[i+24:i+32]
	ADDQ $128, SI             // i += 32
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  sumloop32

sumtail8:
	CMPQ CX, $8
	JLT  sumreduce
	VADDPS (SI), Y0, Y0       // acc0 += x[i:i+8]
	ADDQ $32, SI
	SUBQ $8, CX
	JMP  sumtail8

sumreduce:
	VADDPS Y1, Y0, Y0         // Y0 = (acc0+acc1) + (acc2+acc3)
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1   // lanes 4..7
	VADDPS X1, X0, X0         // + lanes 0..3
	VMOVHLPS X0, X0, X1
	VADDPS X1, X0, X0         // pairs
	VMOVSHDUP X0, X1
	VADDSS X1, X0, X0         // X0[0] = sum of the vector part

sumtail1:
	TESTQ CX, CX
	JEQ   sumdone
	VADDSS (SI), X0, X0       // s += x[i]
	ADDQ $4, SI
	DECQ CX
	JMP  sumtail1

sumdone:
	VZEROUPPER
	MOVSS X0, ret+16(FP)
	RET
