//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FCVTL, SHLL, FMLA); gemm_f16.go (halfLanes8TileGeneric, the order kept
// bit for bit) and llama.cpp's sgemm.cpp (tinyBLAS's 4×3 tile of 8-lane sums).

#include "textflag.h"
#include "neon_arm64.h"

// The 4×3 tile of GemmHalfLanes8Range: for weight row r (R1…R4, halves)
// and activation row c (R5…R7, float32), lanes m of the eight-lane sum
// l[r][c] (V(2(3r+c)) lanes 0…3, V(2(3r+c)+1) lanes 4…7) take the products
// k ≡ m (mod 8) by one fused multiply-add each, in k order, as fma32x does;
// then each sum is folded as hsum8. 24 accumulators, the three activation
// vectors pairs in V24…V29 and one widened weight vector in V30|V31 use
// all 32 registers.

// WF16 / WBF16 widen the eight halves in V31 to float32 in V30 (0…3) and V31 (4…7).
#define WF16 VFCVTL(30, 31); VFCVTL2(31, 31)
#define WBF16 VSHLL16(30, 31); VSHLL16_2(31, 31)

// ROW loads eight halves of one weight row from RW, widens them and adds
// their products with the three activation rows to that row's sums,
// whose first register is a.
#define ROW(W, RW, a) \
	VLD1.P 16(RW), [V31.H8]; \
	W; \
	VFMLA(a, 30, 24); \
	VFMLA((a)+1, 31, 25); \
	VFMLA((a)+2, 30, 26); \
	VFMLA((a)+3, 31, 27); \
	VFMLA((a)+4, 30, 28); \
	VFMLA((a)+5, 31, 29)

// OUT folds sum a|a+1 as hsum8 into S(a) and stores it at off(R8).
#define OUT(a, off) \
	VFADD(a, a, (a)+1); \
	VEXT8(30, a, a); \
	VFADD(a, a, 30); \
	SFADDP(a, a); \
	WORD $(0xBD000000 | (((off)/4)<<10) | (8<<5) | (a)) // STR S(a), [R8, #off]

#define TILE(W) \
	MOVD k8+0(FP), R0; \
	MOVD w0+8(FP), R1; \
	MOVD w1+16(FP), R2; \
	MOVD w2+24(FP), R3; \
	MOVD w3+32(FP), R4; \
	MOVD x0+40(FP), R5; \
	MOVD x1+48(FP), R6; \
	MOVD x2+56(FP), R7; \
	MOVD out+64(FP), R8; \
	VEOR(0, 0, 0); VEOR(1, 1, 1); VEOR(2, 2, 2); VEOR(3, 3, 3); \
	VEOR(4, 4, 4); VEOR(5, 5, 5); VEOR(6, 6, 6); VEOR(7, 7, 7); \
	VEOR(8, 8, 8); VEOR(9, 9, 9); VEOR(10, 10, 10); VEOR(11, 11, 11); \
	VEOR(12, 12, 12); VEOR(13, 13, 13); VEOR(14, 14, 14); VEOR(15, 15, 15); \
	VEOR(16, 16, 16); VEOR(17, 17, 17); VEOR(18, 18, 18); VEOR(19, 19, 19); \
	VEOR(20, 20, 20); VEOR(21, 21, 21); VEOR(22, 22, 22); VEOR(23, 23, 23); \
loop: \
	VLD1.P 32(R5), [V24.S4, V25.S4]; \
	VLD1.P 32(R6), [V26.S4, V27.S4]; \
	VLD1.P 32(R7), [V28.S4, V29.S4]; \
	ROW(W, R1, 0); \
	ROW(W, R2, 6); \
	ROW(W, R3, 12); \
	ROW(W, R4, 18); \
	SUBS $1, R0; \
	BNE loop; \
	OUT(0, 0); OUT(2, 4); OUT(4, 8); \
	OUT(6, 12); OUT(8, 16); OUT(10, 20); \
	OUT(12, 24); OUT(14, 28); OUT(16, 32); \
	OUT(18, 36); OUT(20, 40); OUT(22, 44); \
	RET

// func lanesF16TileNEON(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)
TEXT ·lanesF16TileNEON(SB), NOSPLIT, $0-72
	TILE(WF16)

// func lanesBF16TileNEON(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)
TEXT ·lanesBF16TileNEON(SB), NOSPLIT, $0-72
	TILE(WBF16)
