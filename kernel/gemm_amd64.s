//go:build !purego

// Reference: Intel SDM vol. 2 (VBROADCASTSS, VFMADD231PS); BLIS kernels/haswell/3 (6×16 float tile).

#include "textflag.h"
#include "gemm_pair_amd64.h"

// Registers: CX = k left, SI = a (6 floats per k), DI = b (16 floats per k),
// DX = c, R8 = ldc in bytes, R9 = add. Y0..Y11 hold the tile: row i in
// Y(2i) (columns 0-7) and Y(2i+1) (columns 8-15). Y12, Y13 = the b row,
// Y14, Y15 = broadcast a values.

// ROW(off, lo, hi, Ya): tile row lo:hi += a[off/4] * b row.
#define ROW(off, Ya, lo, hi) VBROADCASTSS off(SI), Ya; VFMADD231PS Y12, Ya, lo; VFMADD231PS Y13, Ya, hi

// STORE(lo, hi): c row = lo:hi (plus c row when adding); next row.
#define STORE(lo, hi) \
	TESTQ R9, R9; JEQ 3(PC); VADDPS (DX), lo, lo; VADDPS 32(DX), hi, hi; \
	VMOVUPS lo, (DX); VMOVUPS hi, 32(DX); ADDQ R8, DX

// func gemmKernelAsm(kc int, a, b, c *float32, ldc int, add int)
TEXT ·gemmKernelAsm(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ add+40(FP), R9
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

loop:
	VMOVUPS (DI), Y12          // b[p*16 : p*16+8]
	VMOVUPS 32(DI), Y13        // b[p*16+8 : p*16+16]
	ROW(0, Y14, Y0, Y1)        // row 0 += a[p*6+0] * b row
	ROW(4, Y15, Y2, Y3)
	ROW(8, Y14, Y4, Y5)
	ROW(12, Y15, Y6, Y7)
	ROW(16, Y14, Y8, Y9)
	ROW(20, Y15, Y10, Y11)     // row 5
	ADDQ $24, SI               // next k: 6 floats of a
	ADDQ $64, DI               // and 16 of b
	DECQ CX
	JNE  loop

	STORE(Y0, Y1)
	STORE(Y2, Y3)
	STORE(Y4, Y5)
	STORE(Y6, Y7)
	STORE(Y8, Y9)
	STORE(Y10, Y11)
	VZEROUPPER
	RET

// The AVX-512 pair kernel: Z0..Z11 hold a 6×32 tile, row i in Z(2i)
// (columns 0-15, first B panel) and Z(2i+1) (columns 16-31, second panel);
// R10 = the second panel's byte offset from the first (64·kc).

// func gemmKernelPairAsm(kc int, a, b, c *float32, ldc int, add int)
TEXT ·gemmKernelPairAsm(SB), NOSPLIT, $0-48
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	MOVQ add+40(FP), R9
	MOVQ CX, R10
	SHLQ $6, R10               // 16 floats per k in the first panel
	PAIRZERO

loopz:
	VMOVUPS (DI), Z12          // first panel: b[p*16 : p*16+16]
	VMOVUPS (DI)(R10*1), Z13   // second panel: b[16*kc + p*16 : …+16]
	PAIRROWSPACKED             // row i += a[p*6+i] * b rows
	ADDQ $24, SI               // next k: 6 floats of a
	ADDQ $64, DI               // and 16 of each b panel
	DECQ CX
	JNE  loopz

	PAIRSTOREALL
	VZEROUPPER
	RET
