//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with every stride an argument).

#include "textflag.h"
#include "gemm_pair_amd64.h"

// As gemmKernelPairAsm, with A and B where they lie: A's value (i, p) at
// SI + i·R11 + p·R14 bytes (R12 = 3·R11, R13 = 5·R11), B's row p at
// DI + p·R15, its second 16 columns R10 bytes after its first.

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
	PAIRZERO

loopg:
	VMOVUPS (DI), Z12                // B row p, columns 0-15
	VMOVUPS (DI)(R10*1), Z13         // columns 16-31
	PAIRROWSAT                       // row i += A(i, p) * B row p
	ADDQ R14, SI                     // next k
	ADDQ R15, DI
	DECQ CX
	JNE  loopg

	PAIRSTOREALL
	VZEROUPPER
	RET
