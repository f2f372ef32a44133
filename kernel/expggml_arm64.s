//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FMLA, FMLS, FACGT, BSL, FDIV); ops.go (ExpGGML, Softmax, SiLU: the
// plain Go these give bit for bit) and ggml-cpu.c (ggml_v_expf, whose steps ExpGGML spells out).

#include "textflag.h"
#include "neon_arm64.h"

// EXP4 leaves in V0 ExpGGML of the four lanes of Vx, step for step as the
// plain Go (every fma32 one fused FMLA/FMLS, every other operation one
// rounded instruction), the three cases chosen lane by lane; the slow
// cases (|n| > 126) are computed only when some lane needs them.
// Constants: V16 r = 0x1.8p23, V17 log2(e), V18, V19 the two parts of
// ln 2, V20 1.0, V21…V25 the polynomial p5…p1, V26 126, V27 192,
// V28 0x82000000, V29 0x7f000000. Clobbers V1…V12 and R10, R11.
#define EXP4(x, lbl) \
	VORR(1, 16, 16); \
	VFMLA(1, x, 17); \
	VFSUB(2, 1, 16); \
	VORR(3, x, x); \
	VFMLS(3, 2, 18); \
	VFMLS(3, 2, 19); \
	VSHL23(4, 1); \
	VADD(5, 4, 20); \
	VFMUL(6, 3, 3); \
	VORR(7, 22, 22); \
	VFMLA(7, 21, 3); \
	VORR(8, 24, 24); \
	VFMLA(8, 23, 3); \
	VFMLA(8, 7, 6); \
	VFMUL(9, 25, 3); \
	VFMLA(9, 8, 6); \
	VORR(0, 5, 5); \
	VFMLA(0, 9, 5); \
	VFACGT(10, 2, 26); \
	VMOV V10.D[0], R10; \
	VMOV V10.D[1], R11; \
	ORR R10, R11, R10; \
	CBZ R10, lbl; \
	VFCMLEZ(11, 2); \
	VAND(11, 11, 28); \
	VADD(12, 11, 29); \
	VSUB(7, 4, 11); \
	VORR(8, 7, 7); \
	VFMLA(8, 7, 9); \
	VFMUL(8, 8, 12); \
	VFMUL(6, 12, 12); \
	VFACGT(11, 2, 27); \
	VBSL(10, 8, 0); \
	VBSL(11, 6, 10); \
	VORR(0, 11, 11); \
lbl:

#define EXPCONSTS \
	MOVD $expconst<>(SB), R9; \
	VLD1.P 64(R9), [V16.S4, V17.S4, V18.S4, V19.S4]; \
	VLD1.P 64(R9), [V20.S4, V21.S4, V22.S4, V23.S4]; \
	VLD1.P 64(R9), [V24.S4, V25.S4, V26.S4, V27.S4]; \
	VLD1 (R9), [V28.S4, V29.S4]

#define C4(off, v) \
	DATA expconst<>+(off)(SB)/4, $v; \
	DATA expconst<>+(off+4)(SB)/4, $v; \
	DATA expconst<>+(off+8)(SB)/4, $v; \
	DATA expconst<>+(off+12)(SB)/4, $v

C4(0, 0x4b400000)   // r = 0x1.8p23
C4(16, 0x3fb8aa3b)  // 0x1.715476p+0
C4(32, 0x3f317200)  // 0x1.62e4p-1
C4(48, 0x35bfbe8e)  // 0x1.7f7d1cp-20
C4(64, 0x3f800000)  // 1
C4(80, 0x3c072010)  // 0x1.0e4020p-7
C4(96, 0x3d2b9f17)  // 0x1.573e2ep-5
C4(112, 0x3e2aaf33) // 0x1.555e66p-3
C4(128, 0x3efffedb) // 0x1.fffdb6p-2
C4(144, 0x3f7ffff6) // 0x1.ffffecp-1
C4(160, 0x42fc0000) // 126
C4(176, 0x43400000) // 192
C4(192, 0x82000000)
C4(208, 0x7f000000)
GLOBL expconst<>(SB), RODATA|NOPTR, $224

// func softmaxExpNEON(n8 int, x *float32, m float32) float64
//
// x[i] = ExpGGML(x[i] − m) for 8·n8 values (n8 ≥ 1); each group of eight
// summed as hsum8 in float32, the group sums added in float64 (D31).
TEXT ·softmaxExpNEON(SB), NOSPLIT, $0-32
	MOVD  n8+0(FP), R0
	MOVD  x+8(FP), R1
	FMOVS m+16(FP), F30
	VDUPS0(30, 30)
	EXPCONSTS
	VEOR(31, 31, 31)

sloop:
	VLD1  (R1), [V13.S4, V14.S4]
	VFSUB(13, 13, 30)
	VFSUB(14, 14, 30)
	EXP4(13, se1)
	VORR(13, 0, 0)
	EXP4(14, se2)
	VORR(14, 0, 0)
	VST1.P [V13.S4, V14.S4], 32(R1)
	VFADD(13, 13, 14)                  // t = v[0:4] + v[4:8]
	VEXT8(15, 13, 13)
	VFADD(13, 13, 15)
	SFADDP(13, 13)                     // (t0+t2) + (t1+t3)
	SFCVTSD(13, 13)
	DFADD(31, 31, 13)                  // sum += float64(…)
	SUBS  $1, R0
	BNE   sloop
	FMOVD F31, ret+24(FP)
	RET

// func siluNEON(n8 int, x, up, dst *float32)
//
// dst[i] = x[i] / (1 + ExpGGML(0 − x[i])), times up[i] when up is not
// nil, for 8·n8 values, four at a time. dst may be x or up.
TEXT ·siluNEON(SB), NOSPLIT, $0-32
	MOVD n8+0(FP), R0
	MOVD x+8(FP), R1
	MOVD up+16(FP), R2
	MOVD dst+24(FP), R3
	EXPCONSTS
	VEOR(31, 31, 31)
	LSL  $1, R0

uloop:
	VLD1.P 16(R1), [V13.S4]
	VFSUB(14, 31, 13)                  // 0 − x
	EXP4(14, ue)
	VFADD(0, 0, 20)                    // 1 + e
	VFDIV(13, 13, 0)
	CBZ    R2, ustore
	VLD1.P 16(R2), [V15.S4]
	VFMUL(13, 13, 15)

ustore:
	VST1.P [V13.S4], 16(R3)
	SUBS   $1, R0
	BNE    uloop
	RET
