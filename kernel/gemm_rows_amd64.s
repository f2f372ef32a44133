//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with A read in place).

#include "textflag.h"

// As gemmKernelPairAsm, but the six values of A at each k are broadcast from
// A's six rows in place (SI = row 0, R11 = lda in bytes, R12 = 3·lda, R13 =
// 5·lda), not from a packed micro-panel; R10 = the second B panel's byte
// offset from the first (4·bstride).
#define ROWR(addr, Za, lo, hi) VBROADCASTSS addr, Za; VFMADD231PS Z12, Za, lo; VFMADD231PS Z13, Za, hi

#define STORER(lo, hi) \
	TESTQ R9, R9; JEQ 3(PC); VADDPS (DX), lo, lo; VADDPS 64(DX), hi, hi; \
	VMOVUPS lo, (DX); VMOVUPS hi, 64(DX); ADDQ R8, DX

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

loopr:
	VMOVUPS (DI), Z12              // first panel: b[p*16 : p*16+16]
	VMOVUPS (DI)(R10*1), Z13       // second panel: b[bstride + p*16 : …+16]
	ROWR((SI), Z14, Z0, Z1)        // row 0 += a[0*lda+p] * b rows
	ROWR((SI)(R11*1), Z15, Z2, Z3) // row 1: a[lda+p]
	ROWR((SI)(R11*2), Z14, Z4, Z5) // row 2
	ROWR((SI)(R12*1), Z15, Z6, Z7) // row 3
	ROWR((SI)(R11*4), Z14, Z8, Z9) // row 4
	ROWR((SI)(R13*1), Z15, Z10, Z11) // row 5
	ADDQ $4, SI                    // next k: the next float of each row
	ADDQ $64, DI                   // and 16 of each b panel
	DECQ CX
	JNE  loopr

	STORER(Z0, Z1)
	STORER(Z2, Z3)
	STORER(Z4, Z5)
	STORER(Z6, Z7)
	STORER(Z8, Z9)
	STORER(Z10, Z11)
	VZEROUPPER
	RET
