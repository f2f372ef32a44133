//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with every stride an argument).

#include "textflag.h"

// As gemmKernelPairAsm, with A and B where they lie: A's value (i, p) at
// SI + i·R11 + p·R14 bytes (R12 = 3·R11, R13 = 5·R11), B's row p at
// DI + p·R15, its second 16 columns R10 bytes after its first.
#define ROWG(addr, Za, lo, hi) VBROADCASTSS addr, Za; VFMADD231PS Z12, Za, lo; VFMADD231PS Z13, Za, hi

#define STOREG(lo, hi) \
	TESTQ R9, R9; JEQ 3(PC); VADDPS (DX), lo, lo; VADDPS 64(DX), hi, hi; \
	VMOVUPS lo, (DX); VMOVUPS hi, 64(DX); ADDQ R8, DX

// func gemmKernelPairGenAsm(kc int, a *float32, ai, ap int, b *float32, bp, bhalf int, c *float32, ldc int, add int)
TEXT ·gemmKernelPairGenAsm(SB), NOSPLIT, $0-80
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ ai+16(FP), R11
	SHLQ $2, R11               // A's row step in bytes
	LEAQ (R11)(R11*2), R12     // 3 rows
	LEAQ (R11)(R11*4), R13     // 5 rows
	MOVQ ap+24(FP), R14
	SHLQ $2, R14               // A's k step in bytes
	MOVQ b+32(FP), DI
	MOVQ bp+40(FP), R15
	SHLQ $2, R15               // B's k step in bytes
	MOVQ bhalf+48(FP), R10
	SHLQ $2, R10               // B's second 16 columns, in bytes
	MOVQ c+56(FP), DX
	MOVQ ldc+64(FP), R8
	SHLQ $2, R8                // ldc in bytes
	MOVQ add+72(FP), R9
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

loopg:
	VMOVUPS (DI), Z12                // B row p, columns 0-15
	VMOVUPS (DI)(R10*1), Z13         // columns 16-31
	ROWG((SI), Z14, Z0, Z1)          // row 0 += A(0, p) * B row p
	ROWG((SI)(R11*1), Z15, Z2, Z3)   // row 1
	ROWG((SI)(R11*2), Z14, Z4, Z5)   // row 2
	ROWG((SI)(R12*1), Z15, Z6, Z7)   // row 3
	ROWG((SI)(R11*4), Z14, Z8, Z9)   // row 4
	ROWG((SI)(R13*1), Z15, Z10, Z11) // row 5
	ADDQ R14, SI                     // next k
	ADDQ R15, DI
	DECQ CX
	JNE  loopg

	STOREG(Z0, Z1)
	STOREG(Z2, Z3)
	STOREG(Z4, Z5)
	STOREG(Z6, Z7)
	STOREG(Z8, Z9)
	STOREG(Z10, Z11)
	VZEROUPPER
	RET
