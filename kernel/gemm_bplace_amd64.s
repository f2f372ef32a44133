//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with B read in place).

#include "textflag.h"
#include "gemm_pair_amd64.h"

// As gemmKernelPairAsm, but the 32 values of B at each k are one row of an
// untransposed B, read in place (DI, then R10 = ldb in bytes on), not two
// packed micro-panels.

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
	PAIRZERO

loopb:
	VMOVUPS (DI), Z12          // b[p*ldb : p*ldb+16]
	VMOVUPS 64(DI), Z13        // b[p*ldb+16 : p*ldb+32]
	PAIRROWSPACKED             // row i += a[p*6+i] * b row
	ADDQ $24, SI               // next k: 6 floats of a
	ADDQ R10, DI               // and the next row of b
	DECQ CX
	JNE  loopb

	PAIRSTOREALL
	VZEROUPPER
	RET
