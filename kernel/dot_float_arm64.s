//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FMLA, FCVTL, SHLL, FADDP); dot_float_amd64.s and dot_f32ggml_amd64.s,
// whose orders of operations these repeat lane for lane.

#include "textflag.h"
#include "neon_arm64.h"

// An AVX2 8-lane register is two NEON registers here (lanes 0…3, 4…7), so
// each kernel below performs the very additions and fused multiply-adds of
// its amd64 twin: the same bits on both machines, and, for the llama.cpp
// orders, the plain Go's bits (fma32x is one fused multiply-add, as FMLA is).
//
// Registers: R0 = count, R1 = w, R2 = x (R3…R5 more activation rows in the
// tile), R6 scratch; V0…V7 accumulators, V16…V31 loaded operands.

// Weight loaders: 16 or 8 elements at (R1) into V4…V7 (V4, V5) as float32,
// or one into F4, advancing R1.
#define W16F32 VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]
#define W8F32 VLD1.P 32(R1), [V4.S4, V5.S4]
#define W1F32 FMOVS (R1), F4; ADD $4, R1

#define W16F16 VLD1.P 32(R1), [V20.H8, V21.H8]; VFCVTL(4, 20); VFCVTL2(5, 20); VFCVTL(6, 21); VFCVTL2(7, 21)
#define W8F16 VLD1.P 16(R1), [V20.H8]; VFCVTL(4, 20); VFCVTL2(5, 20)
#define W1F16 MOVHU.P 2(R1), R6; FMOVS R6, F4; SFCVTHS(4, 4)

#define W16BF16 VLD1.P 32(R1), [V20.H8, V21.H8]; VSHLL16(4, 20); VSHLL16_2(5, 20); VSHLL16(6, 21); VSHLL16_2(7, 21)
#define W8BF16 VLD1.P 16(R1), [V20.H8]; VSHLL16(4, 20); VSHLL16_2(5, 20)
#define W1BF16 MOVHU.P 2(R1), R6; LSLW $16, R6; FMOVS R6, F4

// HSUM8 leaves in S(a) the sum of the eight lanes Va (0…3), Vb (4…7) in
// llama.cpp's hsum_float_8 order (AVX2's VEXTRACTF128, VMOVHLPS, VMOVSHDUP
// fold): t = a+b lane by lane; then (t0+t2) + (t1+t3). Clobbers Vt.
#define HSUM8(a, b, t) \
	VFADD(a, a, b); \
	VEXT8(t, a, a); \
	VFADD(a, a, t); \
	SFADDP(a, a)

// DOT: dotF32Asm's order (dot_float_amd64.s): two 8-lane accumulators,
// A = V0|V1 and B = V2|V3, take alternate groups of 8 elements by FMA, a
// last group of 8 goes to A; then A+B folded as HSUM8, and the last n%8
// elements added one by one, fused.
#define DOT(W16, W8, W1) \
	MOVD n+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VEOR(0, 0, 0); \
	VEOR(1, 1, 1); \
	VEOR(2, 2, 2); \
	VEOR(3, 3, 3); \
loop16: \
	CMP $16, R0; \
	BLT tail8; \
	W16; \
	VLD1.P 64(R2), [V16.S4, V17.S4, V18.S4, V19.S4]; \
	VFMLA(0, 4, 16); \
	VFMLA(1, 5, 17); \
	VFMLA(2, 6, 18); \
	VFMLA(3, 7, 19); \
	SUB $16, R0; \
	B loop16; \
tail8: \
	CMP $8, R0; \
	BLT reduce; \
	W8; \
	VLD1.P 32(R2), [V16.S4, V17.S4]; \
	VFMLA(0, 4, 16); \
	VFMLA(1, 5, 17); \
	SUB $8, R0; \
reduce: \
	VFADD(0, 0, 2); \
	VFADD(1, 1, 3); \
	HSUM8(0, 1, 2); \
tail1: \
	CBZ R0, done; \
	W1; \
	FMOVS (R2), F16; \
	ADD $4, R2; \
	SFMADD(0, 4, 16, 0); \
	SUB $1, R0; \
	B tail1; \
done: \
	FMOVS F0, ret+24(FP); \
	RET

// GGMLDOT: ggml_vec_dot_f32/f16's vector part (dotF32GGMLVecGeneric):
// accumulator j (V2j|V2j+1) takes elements 8j…8j+7 of every 32 by FMA;
// then l = (a0+a2) + (a1+a3) lane by lane, and the lanes folded as two
// horizontal adds: ((l0+l4)+(l1+l5)) + ((l2+l6)+(l3+l7)).
#define GGMLLOOP(W32) \
	MOVD n32+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VEOR(0, 0, 0); \
	VEOR(1, 1, 1); \
	VEOR(2, 2, 2); \
	VEOR(3, 3, 3); \
	VEOR(4, 4, 4); \
	VEOR(5, 5, 5); \
	VEOR(6, 6, 6); \
	VEOR(7, 7, 7); \
gloop: \
	W32; \
	VLD1.P 64(R2), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	VLD1.P 64(R2), [V28.S4, V29.S4, V30.S4, V31.S4]; \
	VFMLA(0, 16, 24); \
	VFMLA(1, 17, 25); \
	VFMLA(2, 18, 26); \
	VFMLA(3, 19, 27); \
	VFMLA(4, 20, 28); \
	VFMLA(5, 21, 29); \
	VFMLA(6, 22, 30); \
	VFMLA(7, 23, 31); \
	SUBS $1, R0; \
	BNE gloop
#define GGMLDOT(W32) \
	GGMLLOOP(W32); \
	VFADD(0, 0, 4); \
	VFADD(1, 1, 5); \
	VFADD(2, 2, 6); \
	VFADD(3, 3, 7); \
	VFADD(0, 0, 2); \
	VFADD(1, 1, 3); \
	VFADD(0, 0, 1); \
	VFADDP(0, 0, 0); \
	SFADDP(0, 0); \
	FMOVS F0, ret+24(FP); \
	RET

#define W32F32 \
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]; \
	VLD1.P 64(R1), [V20.S4, V21.S4, V22.S4, V23.S4]
#define W32F16 \
	VLD1.P 64(R1), [V8.H8, V9.H8, V10.H8, V11.H8]; \
	VFCVTL(16, 8); \
	VFCVTL2(17, 8); \
	VFCVTL(18, 9); \
	VFCVTL2(19, 9); \
	VFCVTL(20, 10); \
	VFCVTL2(21, 10); \
	VFCVTL(22, 11); \
	VFCVTL2(23, 11)

// func dotF32NEON(n int, w, x *byte) float32
TEXT ·dotF32NEON(SB), NOSPLIT, $0-28
	DOT(W16F32, W8F32, W1F32)

// func dotF16NEON(n int, w, x *byte) float32
TEXT ·dotF16NEON(SB), NOSPLIT, $0-28
	DOT(W16F16, W8F16, W1F16)

// func dotBF16NEON(n int, w, x *byte) float32
TEXT ·dotBF16NEON(SB), NOSPLIT, $0-28
	DOT(W16BF16, W8BF16, W1BF16)

// func dotF32GGMLNEON(n32 int, w, x *float32) float32
TEXT ·dotF32GGMLNEON(SB), NOSPLIT, $0-28
	GGMLDOT(W32F32)

// func dotF16GGMLNEON(n32 int, w, x *byte) float32
TEXT ·dotF16GGMLNEON(SB), NOSPLIT, $0-28
	GGMLDOT(W32F16)

// func dotF32TinyBLASNEON(n8 int, w, x *float32) float32
//
// tinyBLAS's order: lane m (of V0|V1) takes elements m, m+8, … by FMA;
// folded as HSUM8.
TEXT ·dotF32TinyBLASNEON(SB), NOSPLIT, $0-28
	MOVD n8+0(FP), R0
	MOVD w+8(FP), R1
	MOVD x+16(FP), R2
	VEOR(0, 0, 0)
	VEOR(1, 1, 1)

tloop:
	VLD1.P 32(R1), [V16.S4, V17.S4]
	VLD1.P 32(R2), [V18.S4, V19.S4]
	VFMLA(0, 16, 18)                // lanes 0…3 += w·x
	VFMLA(1, 17, 19)                // lanes 4…7
	SUBS   $1, R0
	BNE    tloop
	HSUM8(0, 1, 2)
	FMOVS  F0, ret+24(FP)
	RET

// func tileF32TinyBLASNEON(n8 int, w, x *float32, xStride int, out *[4]float32)
//
// Four dotF32TinyBLASNEON of one weight row with the activation rows at x,
// x+xStride, x+2·xStride, x+3·xStride (bytes), each weight vector loaded
// once: row j accumulates in V2j|V2j+1.
TEXT ·tileF32TinyBLASNEON(SB), NOSPLIT, $0-40
	MOVD n8+0(FP), R0
	MOVD w+8(FP), R1
	MOVD x+16(FP), R2
	MOVD xStride+24(FP), R6
	ADD  R6, R2, R3
	ADD  R6, R3, R4
	ADD  R6, R4, R5
	VEOR(0, 0, 0)
	VEOR(1, 1, 1)
	VEOR(2, 2, 2)
	VEOR(3, 3, 3)
	VEOR(4, 4, 4)
	VEOR(5, 5, 5)
	VEOR(6, 6, 6)
	VEOR(7, 7, 7)

t4loop:
	VLD1.P 32(R1), [V16.S4, V17.S4]
	VLD1.P 32(R2), [V18.S4, V19.S4]
	VLD1.P 32(R3), [V20.S4, V21.S4]
	VLD1.P 32(R4), [V22.S4, V23.S4]
	VLD1.P 32(R5), [V24.S4, V25.S4]
	VFMLA(0, 16, 18)
	VFMLA(1, 17, 19)
	VFMLA(2, 16, 20)
	VFMLA(3, 17, 21)
	VFMLA(4, 16, 22)
	VFMLA(5, 17, 23)
	VFMLA(6, 16, 24)
	VFMLA(7, 17, 25)
	SUBS $1, R0
	BNE  t4loop
	MOVD out+32(FP), R6
	HSUM8(0, 1, 16)
	HSUM8(2, 3, 17)
	HSUM8(4, 5, 18)
	HSUM8(6, 7, 19)
	FMOVS F0, 0(R6)
	FMOVS F2, 4(R6)
	FMOVS F4, 8(R6)
	FMOVS F6, 12(R6)
	RET

// func axpyNEON(n int, a float32, x, y *float32)
//
// y[i] = fma(a, x[i], y[i]): 16 at a time, then one by one.
TEXT ·axpyNEON(SB), NOSPLIT, $0-32
	MOVD  n+0(FP), R0
	FMOVS a+8(FP), F0
	MOVD  x+16(FP), R1
	MOVD  y+24(FP), R2

aloop16:
	CMP    $16, R0
	BLT    atail
	VLD1.P 64(R1), [V16.S4, V17.S4, V18.S4, V19.S4]
	VLD1   (R2), [V20.S4, V21.S4, V22.S4, V23.S4]
	VFMLAE(20, 16, 0, 0)                             // y += x·a, fused
	VFMLAE(21, 17, 0, 0)
	VFMLAE(22, 18, 0, 0)
	VFMLAE(23, 19, 0, 0)
	VST1.P [V20.S4, V21.S4, V22.S4, V23.S4], 64(R2)
	SUB    $16, R0
	B      aloop16

atail:
	CBZ   R0, adone
	FMOVS (R1), F16
	FMOVS (R2), F20
	SFMADD(20, 16, 0, 20)
	FMOVS F20, (R2)
	ADD   $4, R1
	ADD   $4, R2
	SUB   $1, R0
	B     atail

adone:
	RET

// func halvesVecNEON(n32 int, w *byte, x *float32, s *[32]float32)
//
// dotHalvesVecGeneric's four 8-lane accumulators over 32·n32 elements
// (n32 ≥ 1), stored to s[8g+m] for the Go code to add the tail and fold.
// The products are exact (x holds halves), so FMLA adds what the plain
// Go's multiply-then-add does.
TEXT ·halvesVecNEON(SB), NOSPLIT, $0-32
	GGMLLOOP(W32F16)
	MOVD s+24(FP), R3
	VST1.P [V0.S4, V1.S4, V2.S4, V3.S4], 64(R3)
	VST1   [V4.S4, V5.S4, V6.S4, V7.S4], (R3)
	RET

// func halvesLanes8NEON(n8 int, w *byte, x *float32, l *[8]float32)
//
// dotHalvesLanes8Generic's eight lanes over 8·n8 elements (n8 ≥ 1): lane m
// (V0|V1) takes elements m, m+8, …; stored to l.
TEXT ·halvesLanes8NEON(SB), NOSPLIT, $0-32
	MOVD n8+0(FP), R0
	MOVD w+8(FP), R1
	MOVD x+16(FP), R2
	VEOR(0, 0, 0)
	VEOR(1, 1, 1)

hloop:
	VLD1.P 16(R1), [V20.H8]
	VFCVTL(4, 20)
	VFCVTL2(5, 20)
	VLD1.P 32(R2), [V16.S4, V17.S4]
	VFMLA(0, 4, 16)
	VFMLA(1, 5, 17)
	SUBS   $1, R0
	BNE    hloop
	MOVD   l+24(FP), R3
	VST1   [V0.S4, V1.S4], (R3)
	RET
