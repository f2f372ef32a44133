//go:build !purego

// Reference: gemm_amd64.s (gemmKernelPairAsm, the AVX-512 6×32 tile this repeats with a stride argument).

#include "textflag.h"
#include "gemm_pair_amd64.h"

// As gemmKernelPairAsm: Z0..Z11 hold a 6×32 tile, row i in Z(2i) (columns
// 0-15, first B panel) and Z(2i+1) (columns 16-31, second panel); R10 = the
// second panel's byte offset from the first, here an argument (4·bstride).

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
	PAIRZERO

loopz:
	VMOVUPS (DI), Z12          // first panel: b[p*16 : p*16+16]
	VMOVUPS (DI)(R10*1), Z13   // second panel: b[bstride + p*16 : …+16]
	PAIRROWSPACKED             // row i += a[p*6+i] * b rows
	ADDQ $24, SI               // next k: 6 floats of a
	ADDQ $64, DI               // and 16 of each b panel
	DECQ CX
	JNE  loopz

	PAIRSTOREALL
	VZEROUPPER
	RET
