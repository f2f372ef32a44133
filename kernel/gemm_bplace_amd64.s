//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with B read in place).

#include "textflag.h"

// As gemmKernelPairAsm, but the 32 values of B at each k are one row of an
// untransposed B, read in place (DI, then R10 = ldb in bytes on), not two
// packed micro-panels.
#define ROWB(off, Za, lo, hi) VBROADCASTSS off(SI), Za; VFMADD231PS Z12, Za, lo; VFMADD231PS Z13, Za, hi

#define STOREB(lo, hi) \
	TESTQ R9, R9; JEQ 3(PC); VADDPS (DX), lo, lo; VADDPS 64(DX), hi, hi; \
	VMOVUPS lo, (DX); VMOVUPS hi, 64(DX); ADDQ R8, DX

// func gemmKernelPairBAsm(kc int, a, b *float32, ldb int, c *float32, ldc int, add int)
TEXT ·gemmKernelPairBAsm(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R10
	SHLQ $2, R10               // ldb in bytes
	MOVQ c+32(FP), DX
	MOVQ ldc+40(FP), R8
	SHLQ $2, R8                // ldc in bytes
	MOVQ add+48(FP), R9
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	VPXORD Z8, Z8, Z8
	VPXORD Z9, Z9, Z9
	VPXORD Z10, Z10, Z10
	VPXORD Z11, Z11, Z11

loopb:
	VMOVUPS (DI), Z12          // b[p*ldb : p*ldb+16]
	VMOVUPS 64(DI), Z13        // b[p*ldb+16 : p*ldb+32]
	ROWB(0, Z14, Z0, Z1)       // row 0 += a[p*6+0] * b row
	ROWB(4, Z15, Z2, Z3)
	ROWB(8, Z14, Z4, Z5)
	ROWB(12, Z15, Z6, Z7)
	ROWB(16, Z14, Z8, Z9)
	ROWB(20, Z15, Z10, Z11)    // row 5
	ADDQ $24, SI               // next k: 6 floats of a
	ADDQ R10, DI               // and the next row of b
	DECQ CX
	JNE  loopb

	STOREB(Z0, Z1)
	STOREB(Z2, Z3)
	STOREB(Z4, Z5)
	STOREB(Z6, Z7)
	STOREB(Z8, Z9)
	STOREB(Z10, Z11)
	VZEROUPPER
	RET
