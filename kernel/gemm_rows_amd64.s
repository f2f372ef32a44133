//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with A read in place).

#include "textflag.h"
#include "gemm_pair_amd64.h"

// As gemmKernelPairAsm, but the six values of A at each k are broadcast from
// A's six rows in place (SI = row 0, R11 = lda in bytes, R12 = 3·lda, R13 =
// 5·lda), not from a packed micro-panel; R10 = the second B panel's byte
// offset from the first (4·bstride).

// func gemmKernelPairRowsAsm(kc int, a *float32, lda int, b *float32, bstride int, c *float32, ldc int, add int)
TEXT ·gemmKernelPairRowsAsm(SB), NOSPLIT, $0-64
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R11
	SHLQ $2, R11               // lda in bytes
	LEAQ (R11)(R11*2), R12     // 3·lda
	LEAQ (R11)(R11*4), R13     // 5·lda
	MOVQ b+24(FP), DI
	MOVQ bstride+32(FP), R10
	SHLQ $2, R10               // the second panel's offset in bytes
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R8
	SHLQ $2, R8                // ldc in bytes
	MOVQ add+56(FP), R9
	PAIRZERO

loopr:
	VMOVUPS (DI), Z12              // first panel: b[p*16 : p*16+16]
	VMOVUPS (DI)(R10*1), Z13       // second panel: b[bstride + p*16 : …+16]
	PAIRROWSAT                     // row i += a[i*lda+p] * b rows
	ADDQ $4, SI                    // next k: the next float of each row
	ADDQ $64, DI                   // and 16 of each b panel
	DECQ CX
	JNE  loopr

	PAIRSTOREALL
	VZEROUPPER
	RET
