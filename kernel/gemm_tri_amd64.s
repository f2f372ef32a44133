//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with a stride argument).

#include "textflag.h"

// As gemmKernelPairAsm: Z0..Z11 hold a 6×32 tile, row i in Z(2i) (columns
// 0-15, first B panel) and Z(2i+1) (columns 16-31, second panel); R10 = the
// second panel's byte offset from the first, here an argument (4·bstride).
#define ROWZ(off, Za, lo, hi) VBROADCASTSS off(SI), Za; VFMADD231PS Z12, Za, lo; VFMADD231PS Z13, Za, hi

#define STOREZ(lo, hi) \
	TESTQ R9, R9; JEQ 3(PC); VADDPS (DX), lo, lo; VADDPS 64(DX), hi, hi; \
	VMOVUPS lo, (DX); VMOVUPS hi, 64(DX); ADDQ R8, DX

// func gemmKernelPairStrideAsm(kc int, a, b, c *float32, ldc int, add int, bstride int)
TEXT ·gemmKernelPairStrideAsm(SB), NOSPLIT, $0-56
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8                // ldc in bytes
	MOVQ add+40(FP), R9
	MOVQ bstride+48(FP), R10
	SHLQ $2, R10               // the second panel's offset in bytes
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

loopz:
	VMOVUPS (DI), Z12          // first panel: b[p*16 : p*16+16]
	VMOVUPS (DI)(R10*1), Z13   // second panel: b[bstride + p*16 : …+16]
	ROWZ(0, Z14, Z0, Z1)       // row 0 += a[p*6+0] * b rows
	ROWZ(4, Z15, Z2, Z3)
	ROWZ(8, Z14, Z4, Z5)
	ROWZ(12, Z15, Z6, Z7)
	ROWZ(16, Z14, Z8, Z9)
	ROWZ(20, Z15, Z10, Z11)    // row 5
	ADDQ $24, SI               // next k: 6 floats of a
	ADDQ $64, DI               // and 16 of each b panel
	DECQ CX
	JNE  loopz

	STOREZ(Z0, Z1)
	STOREZ(Z2, Z3)
	STOREZ(Z4, Z5)
	STOREZ(Z6, Z7)
	STOREZ(Z8, Z9)
	STOREZ(Z10, Z11)
	VZEROUPPER
	RET
