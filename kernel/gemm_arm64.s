//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FMLA by element); gemm_amd64.s (the 6×16 tile whose order of fused
// multiply-adds this repeats, so that arm64 and amd64 give the same bits).

#include "textflag.h"
#include "neon_arm64.h"

// func gemmKernelNEON(kc int, a, b, c *float32, ldc int, add int)
//
// The 6×16 register tile: row i of C in V(4i)…V(4i+3); per step p the
// six values of A's micro-panel in V24 (0…3) and V25 (4, 5), the sixteen
// of B's in V26…V29, and c[i][j] = fma(a[p][i], b[p][j], c[i][j]), p in
// order. Then C's rows are stored, or added to what is there when add ≠ 0.
#define ROW6(i, a, l) \
	VFMLAE(4*(i), 26, a, l); \
	VFMLAE(4*(i)+1, 27, a, l); \
	VFMLAE(4*(i)+2, 28, a, l); \
	VFMLAE(4*(i)+3, 29, a, l)

// STROW stores row i at R6 (ST1 of its four registers), first adding
// what is there when R5 ≠ 0 (the CBZ skips the load and four adds), and
// moves R6 to the next row.
#define STROW(i) \
	CBZ R5, 6(PC); \
	VLD1 (R6), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	VFADD(4*(i), 4*(i), 24); VFADD(4*(i)+1, 4*(i)+1, 25); VFADD(4*(i)+2, 4*(i)+2, 26); VFADD(4*(i)+3, 4*(i)+3, 27); \
	WORD $(0x4C002800 | (6<<5) | (4*(i))); \
	ADD R4, R6

TEXT ·gemmKernelNEON(SB), NOSPLIT, $0-48
	MOVD kc+0(FP), R0
	MOVD a+8(FP), R1
	MOVD b+16(FP), R2
	MOVD c+24(FP), R3
	MOVD ldc+32(FP), R4
	MOVD add+40(FP), R5
	LSL  $2, R4
	VEOR(0, 0, 0); VEOR(1, 1, 1); VEOR(2, 2, 2); VEOR(3, 3, 3)
	VEOR(4, 4, 4); VEOR(5, 5, 5); VEOR(6, 6, 6); VEOR(7, 7, 7)
	VEOR(8, 8, 8); VEOR(9, 9, 9); VEOR(10, 10, 10); VEOR(11, 11, 11)
	VEOR(12, 12, 12); VEOR(13, 13, 13); VEOR(14, 14, 14); VEOR(15, 15, 15)
	VEOR(16, 16, 16); VEOR(17, 17, 17); VEOR(18, 18, 18); VEOR(19, 19, 19)
	VEOR(20, 20, 20); VEOR(21, 21, 21); VEOR(22, 22, 22); VEOR(23, 23, 23)

gloop:
	VLD1   (R1), [V24.S4]
	FMOVD  16(R1), F25
	ADD    $24, R1
	VLD1.P 64(R2), [V26.S4, V27.S4, V28.S4, V29.S4]
	ROW6(0, 24, 0)
	ROW6(1, 24, 1)
	ROW6(2, 24, 2)
	ROW6(3, 24, 3)
	ROW6(4, 25, 0)
	ROW6(5, 25, 1)
	SUBS   $1, R0
	BNE    gloop

	MOVD R3, R6
	STROW(0)
	STROW(1)
	STROW(2)
	STROW(3)
	STROW(4)
	STROW(5)
	RET
