//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SDOT, MLA by element, SADDLP, ADDP); dot_k_lanes.go (the lane order
// these kernels keep bit for bit); ggml-cpu-quants.c (the utmp unpacking of Q4_K/Q5_K scales).

#include "textflag.h"
#include "neon_arm64.h"

// Every K-quant dot here builds, per super-block, the eight int32 lane
// sums of dot_k_lanes.go (lane m: the scale-weighted products of elements
// 4m…4m+3 of every 32-element run, lanes 0…3 in one register and 4…7 in
// the next), exactly; then the plain Go's float steps: SCVTF, one fused
// multiply-add per lane with d = y.d·w.d, and hsum8's fold at the end.
//
// D4SDOT and D4MULL: as in dot_legacy_arm64.s (D4MULL uses V26, V27).
#define D4SDOT(d, n, m) VSDOT(d, n, m)
#define D4MULL(d, n, m) \
	VSMULL(26, n, m); \
	VSMULL2(27, n, m); \
	VSADDLP(26, 26); \
	VSADDLP(27, 27); \
	VADDP(26, 26, 27); \
	VADD(d, d, 26)

// HSUM8: hsum8's fold of Va (lanes 0…3) and Vb (4…7) into S(a); clobbers Vt.
#define HSUM8(a, b, t) \
	VFADD(a, a, b); \
	VEXT8(t, a, a); \
	VFADD(a, a, t); \
	SFADDP(a, a)

// HALF loads the fp16 at off(R1) into S(f), widened. Clobbers R5.
#define HALF(off, f) \
	MOVHU off(R1), R5; \
	SFMOVW(f, 5); \
	SFCVTHS(f, f)

// SCALES45 unpacks the eight 6-bit scales and eight 6-bit mins of a Q4_K or
// Q5_K block (12 bytes at 4(R1)) as llama.cpp's utmp code does, then widens
// them to int32 lanes: scales 0…3 in V28, 4…7 in V29, mins 0…3 in V24,
// 4…7 in V25. R19, R20, R21 hold 0x3f3f3f3f, 0x0f0f0f0f, 0x03030303.
// Clobbers R7…R15.
#define SCALES45 \
	MOVWU 4(R1), R7; \
	MOVWU 8(R1), R8; \
	MOVWU 12(R1), R9; \
	LSRW  $4, R9, R10; \
	ANDW  R20, R10, R10; \
	LSRW  $6, R8, R11; \
	ANDW  R21, R11, R11; \
	ORRW  R11<<4, R10, R10; \
	ANDW  R19, R8, R12; \
	ANDW  R20, R9, R13; \
	LSRW  $6, R7, R14; \
	ANDW  R21, R14, R14; \
	ORRW  R14<<4, R13, R13; \
	ANDW  R19, R7, R7; \
	ORR   R13<<32, R7, R15; \
	FMOVD R15, F28; \
	VUXTLB(28, 28); \
	VUXTL2H(29, 28); \
	VUXTLH(28, 28); \
	ORR   R10<<32, R12, R15; \
	FMOVD R15, F24; \
	VUXTLB(24, 24); \
	VUXTL2H(25, 24); \
	VUXTLH(24, 24)

// MINS45 leaves in V14 the four int32 lanes of qK45Mins: the sixteen Q8_K
// bsums (at 260(R2)) summed in pairs to the eight 32-element runs, times
// their mins (V24, V25), and adjacent runs added.
#define MINS45 \
	ADD $260, R2, R6; \
	VLD1 (R6), [V14.H8, V15.H8]; \
	VSADDLP(14, 14); \
	VSADDLP(15, 15); \
	VMUL(14, 14, 24); \
	VMUL(15, 15, 25); \
	VADDP(14, 14, 15)

// RUN45 adds one 64-element stretch (32 bytes of nibbles at R3: low
// nibbles with activations a[0:32], high nibbles with a[32:64], at R4) to
// the int32 lanes V12 (0…3) and V13 (4…7), scaled by scales i and i+1 of
// Vsc. For Q5_K (OR5 = VORR) the fifth bits, as 0x10, are ORed in from
// V6, V7 (low nibbles of bytes 0…15, 16…31) and V22, V23 (high nibbles);
// Q4_K has none (OR5 = NOOR).
#define NOOR(d, n, m)
#define RUN45(D4, OR5, sc, i) \
	VLD1.P 32(R3), [V0.B16, V1.B16]; \
	VLD1.P 64(R4), [V2.B16, V3.B16, V4.B16, V5.B16]; \
	VUSHRB(10, 0, 4); \
	VUSHRB(11, 1, 4); \
	VAND(0, 0, 31); \
	VAND(1, 1, 31); \
	OR5(0, 0, 6); \
	OR5(1, 1, 7); \
	OR5(10, 10, 22); \
	OR5(11, 11, 23); \
	VEOR(8, 8, 8); \
	VEOR(9, 9, 9); \
	D4(8, 0, 2); \
	D4(9, 1, 3); \
	VMLAE(12, 8, sc, i); \
	VMLAE(13, 9, sc, i); \
	VEOR(8, 8, 8); \
	VEOR(9, 9, 9); \
	D4(8, 10, 4); \
	D4(9, 11, 5); \
	VMLAE(12, 8, sc, (i)+1); \
	VMLAE(13, 9, sc, (i)+1)

// Q5BITS leaves in V6/V7 (low nibbles of bytes 0…15 / 16…31) and V22/V23
// (high nibbles) the fifth bits of stretch j, as 0x10, from the qh bytes
// in V20 (0…15) and V21 (16…31), which it then shifts right by two for
// the next stretch. V30 holds 0x01 in every byte.
#define Q5BITS \
	VAND(6, 20, 30); \
	VAND(7, 21, 30); \
	VSHLB(6, 6, 4); \
	VSHLB(7, 7, 4); \
	VUSHRB(22, 20, 1); \
	VUSHRB(23, 21, 1); \
	VAND(22, 22, 30); \
	VAND(23, 23, 30); \
	VSHLB(22, 22, 4); \
	VSHLB(23, 23, 4); \
	VUSHRB(20, 20, 2); \
	VUSHRB(21, 21, 2)
#define NOBITS

// K45DOT is the Q4_K (bs = 144, qs at 16, no fifth bits) or Q5_K (bs = 176,
// qh at 16, qs at 48) dot. The mins: for Q4_K four float32 lanes (V18)
// by FMA with −y.d·w.dmin, folded (m0+m2)+(m1+m3) and added to hsum8 at
// the end; for Q5_K one float32 sum (S19) of the rounded products of that
// factor with each block's summed mins (MINQ4 or MINQ5 below). Per block:
// S15 = y.d, S11 = −y.d·w.dmin, S24 = y.d·w.d.
#define K45DOT(D4, bs, qsoff, LOADQH, BITS, OR5, MINQ, END) \
	MOVD  nb+0(FP), R0; \
	MOVD  w+8(FP), R1; \
	MOVD  x+16(FP), R2; \
	MOVW  $0x3f3f3f3f, R19; \
	MOVW  $0x0f0f0f0f, R20; \
	MOVW  $0x03030303, R21; \
	VMOVIB(31, 15); \
	VMOVIB(30, 1); \
	VEOR(16, 16, 16); \
	VEOR(17, 17, 17); \
	VEOR(18, 18, 18); \
	VEOR(19, 19, 19); \
kloop: \
	SCALES45; \
	MINS45; \
	FMOVS (R2), F15; \
	HALF(2, 11); \
	SFNMUL(11, 15, 11); \
	MINQ; \
	HALF(0, 24); \
	SFMUL(24, 15, 24); \
	LOADQH; \
	ADD $(qsoff), R1, R3; \
	ADD $4, R2, R4; \
	VEOR(12, 12, 12); \
	VEOR(13, 13, 13); \
	BITS; \
	RUN45(D4, OR5, 28, 0); \
	BITS; \
	RUN45(D4, OR5, 28, 2); \
	BITS; \
	RUN45(D4, OR5, 29, 0); \
	BITS; \
	RUN45(D4, OR5, 29, 2); \
	VSCVTF(12, 12); \
	VSCVTF(13, 13); \
	VFMLAE(16, 12, 24, 0); \
	VFMLAE(17, 13, 24, 0); \
	ADD $(bs), R1; \
	ADD $292, R2; \
	SUBS $1, R0; \
	BNE kloop; \
	HSUM8(16, 17, 12); \
	END; \
	FMOVS F16, ret+24(FP); \
	RET

// MINQ4: accm (V18) += float32(mins) · S11, fused, lane by lane.
#define MINQ4 \
	VSCVTF(14, 14); \
	VFMLAE(18, 14, 11, 0)
#define END4 \
	VEXT8(12, 18, 18); \
	VFADD(18, 18, 12); \
	SFADDP(18, 18); \
	SFADD(16, 16, 18)

// MINQ5: summs (S19) += S11 · float32((p0+p1)+(p2+p3)) by one fused
// multiply-add, as dotQ5_KGeneric (llama.cpp's contracted summs).
#define MINQ5 \
	SADDV(14, 14); \
	SSCVTF(14, 14); \
	SFMADD(19, 14, 11, 19)
#define END5 SFADD(16, 16, 19)

#define LOADQH5 \
	ADD $16, R1, R6; \
	VLD1 (R6), [V20.B16, V21.B16]
#define NOQH

// func dotQ4_KSDOT(nb int, w, x *byte) float32
TEXT ·dotQ4_KSDOT(SB), NOSPLIT, $0-28
	K45DOT(D4SDOT, 144, 16, NOQH, NOBITS, NOOR, MINQ4, END4)

// func dotQ4_KMULL(nb int, w, x *byte) float32
TEXT ·dotQ4_KMULL(SB), NOSPLIT, $0-28
	K45DOT(D4MULL, 144, 16, NOQH, NOBITS, NOOR, MINQ4, END4)

// func dotQ5_KSDOT(nb int, w, x *byte) float32
TEXT ·dotQ5_KSDOT(SB), NOSPLIT, $0-28
	K45DOT(D4SDOT, 176, 48, LOADQH5, Q5BITS, VORR, MINQ5, END5)

// func dotQ5_KMULL(nb int, w, x *byte) float32
TEXT ·dotQ5_KMULL(SB), NOSPLIT, $0-28
	K45DOT(D4MULL, 176, 48, LOADQH5, Q5BITS, VORR, MINQ5, END5)

// Q6_K: per half super-block c (64 ql bytes in V0…V3, 32 qh bytes in
// V4, V5), the four 32-element runs r of dotQ6_KGeneric, each as two
// vectors of 16 six-bit quants minus 32 (V6: elements 0…15 of the run,
// lanes 0…3; V7: 16…31, lanes 4…7), dotted with the run's activations and
// scaled by the sub-block scales 8c+2r and 8c+2r+1, sign-extended to
// int32 lanes in V20…V23 (four each). V31 = 0x0F, V30 = 0x30, V24 = 32.
//
// Q6Rr leaves the run's low four bits in V6/V7 and its two high bits,
// moved to bits 4 and 5 but not yet masked, in V10/V11.
#define Q6R0 VAND(6, 0, 31); VAND(7, 1, 31); VSHLB(10, 4, 4); VSHLB(11, 5, 4)
#define Q6R1 VAND(6, 2, 31); VAND(7, 3, 31); VSHLB(10, 4, 2); VSHLB(11, 5, 2)
#define Q6R2 VUSHRB(6, 0, 4); VUSHRB(7, 1, 4); VORR(10, 4, 4); VORR(11, 5, 5)
#define Q6R3 VUSHRB(6, 2, 4); VUSHRB(7, 3, 4); VUSHRB(10, 4, 2); VUSHRB(11, 5, 2)
#define Q6RUN(D4, BITS, sc, i) \
	BITS; \
	VAND(10, 10, 30); \
	VAND(11, 11, 30); \
	VORR(6, 6, 10); \
	VORR(7, 7, 11); \
	VSUBB(6, 6, 24); \
	VSUBB(7, 7, 24); \
	VLD1.P 32(R6), [V16.B16, V17.B16]; \
	VEOR(8, 8, 8); \
	VEOR(9, 9, 9); \
	D4(8, 6, 16); \
	D4(9, 7, 17); \
	VMLAE(12, 8, sc, i); \
	VMLAE(13, 9, sc, (i)+1)
#define Q6HALF(D4, sca, scb) \
	VLD1.P 64(R3), [V0.B16, V1.B16, V2.B16, V3.B16]; \
	VLD1.P 32(R4), [V4.B16, V5.B16]; \
	Q6RUN(D4, Q6R0, sca, 0); \
	Q6RUN(D4, Q6R1, sca, 2); \
	Q6RUN(D4, Q6R2, scb, 0); \
	Q6RUN(D4, Q6R3, scb, 2)

#define Q6KDOT(D4) \
	MOVD nb+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VMOVIB(31, 15); \
	VMOVIB(30, 48); \
	VMOVIB(24, 32); \
	VEOR(14, 14, 14); \
	VEOR(15, 15, 15); \
q6loop: \
	ADD $192, R1, R5; \
	VLD1 (R5), [V19.B16]; \
	VSXTLB(18, 19); \
	VSXTL2B(19, 19); \
	VSXTLH(20, 18); \
	VSXTL2H(21, 18); \
	VSXTLH(22, 19); \
	VSXTL2H(23, 19); \
	MOVD R1, R3; \
	ADD $128, R1, R4; \
	ADD $4, R2, R6; \
	VEOR(12, 12, 12); \
	VEOR(13, 13, 13); \
	Q6HALF(D4, 20, 21); \
	Q6HALF(D4, 22, 23); \
	FMOVS (R2), F18; \
	HALF(208, 25); \
	SFMUL(18, 18, 25); \
	VSCVTF(12, 12); \
	VSCVTF(13, 13); \
	VFMLAE(14, 12, 18, 0); \
	VFMLAE(15, 13, 18, 0); \
	ADD $210, R1; \
	ADD $292, R2; \
	SUBS $1, R0; \
	BNE q6loop; \
	HSUM8(14, 15, 12); \
	FMOVS F14, ret+24(FP); \
	RET

// func dotQ6_KSDOT(nb int, w, x *byte) float32
TEXT ·dotQ6_KSDOT(SB), NOSPLIT, $0-28
	Q6KDOT(D4SDOT)

// func dotQ6_KMULL(nb int, w, x *byte) float32
TEXT ·dotQ6_KMULL(SB), NOSPLIT, $0-28
	Q6KDOT(D4MULL)
