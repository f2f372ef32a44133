//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FCMGT, BSL, FRINTN, SQXTN, FCVT); q8.go (quantizeQ8_0ActGeneric, the
// AVX2 quantize_row_q8_0's operations, which this gives byte for byte).

#include "textflag.h"
#include "neon_arm64.h"

// MAXPS: Vd = Va > Vb ? Va : Vb lane by lane (maxps: a NaN in a yields b),
// with Vt as scratch; d may be a.
#define MAXPS(d, a, b, t) \
	VFCMGT(t, a, b); \
	VBSL(t, a, b); \
	VORR(d, t, t)

// Q8Q rounds x·id (x the four lanes of Vx) to even and narrows the int32
// values to the saturated int16 lanes of Vh (its low half when NARROW is
// VSQXTN, its high half when VSQXTN2), and their in-range mask (|r| < 2³¹,
// not NaN; V24 holds 2³¹) to Vm likewise. V25 lane 0 holds id.
#define Q8Q(x, NARROW, MNARROW, h, m) \
	VFMULE(20, x, 25, 0); \
	VFRINTN(20, 20); \
	VFACGT(21, 24, 20); \
	VFCVTZS(20, 20); \
	NARROW(h, 20); \
	MNARROW(m, 21)

// AMAXID loads a block of 32 from R1 into V0…V7 and leaves d = amax/127
// in S22 and id = 127/amax (0 for amax 0) in V25's lane 0, amax reduced
// as the AVX2 code does (lane l of eight the maxps of |x[l]|, |x[l+8]|,
// |x[l+16]|, |x[l+24]|; lanes 4…7 onto 0…3, 2, 3 onto 0, 1, then 1 onto
// 0). S26 holds 127. Clobbers V8…V12, V23.
#define AMAXID \
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]; \
	VLD1.P 64(R1), [V4.S4, V5.S4, V6.S4, V7.S4]; \
	VFABS(8, 0); \
	VFABS(9, 1); \
	VFABS(10, 2); \
	VFABS(11, 3); \
	MAXPS(8, 8, 10, 12); \
	VFABS(10, 4); \
	MAXPS(8, 8, 10, 12); \
	VFABS(10, 6); \
	MAXPS(8, 8, 10, 12); \
	MAXPS(9, 9, 11, 12); \
	VFABS(11, 5); \
	MAXPS(9, 9, 11, 12); \
	VFABS(11, 7); \
	MAXPS(9, 9, 11, 12); \
	MAXPS(8, 9, 8, 12); \
	VEXT8(9, 8, 8); \
	MAXPS(8, 8, 9, 12); \
	VEXT4(9, 8, 8); \
	MAXPS(8, 8, 9, 12); \
	SFDIV(22, 8, 26); \
	SFDIV(25, 26, 8); \
	VFCMEQZ(23, 8); \
	VBIC(25, 25, 23)

// func quantizeQ8_0NEON(nb int, x *float32, y *byte)
//
// Per block of 32: amax as the AVX2 code reduces it (lane l of eight the
// maxps of |x[l]|, |x[l+8]|, |x[l+16]|, |x[l+24]|; lanes 4…7 onto 0…3,
// 2, 3 onto 0, 1, then 1 onto 0), d = amax/127 stored as FP16, id =
// 127/amax (0 for amax 0), each quant x·id rounded to even and saturated
// to int8, −128 where x·id is NaN or beyond int32.
TEXT ·quantizeQ8_0NEON(SB), NOSPLIT, $0-24
	MOVD  nb+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  y+16(FP), R2
	MOVW  $0x42fe0000, R7                              // 127
	SFMOVW(26, 7)
	MOVW  $0x4f000000, R7                              // 2³¹
	SFMOVW(24, 7)
	VDUPS0(24, 24)
	VMOVIB(27, 128)                                    // −128 in every byte

qloop:
	AMAXID
	SFCVTSH(22, 22)
	VMOV  V22.H[0], R7
	MOVH  R7, (R2)
	Q8Q(0, VSQXTN, VXTN, 16, 17)
	Q8Q(1, VSQXTN2, VXTN2, 16, 17)
	Q8Q(2, VSQXTN, VXTN, 18, 19)
	Q8Q(3, VSQXTN2, VXTN2, 18, 19)
	VSQXTNB(28, 16)
	VSQXTN2B(28, 18)
	VXTNB(29, 17)
	VXTN2B(29, 19)
	VBSL(29, 28, 27)                                   // in range ? q : −128
	Q8Q(4, VSQXTN, VXTN, 16, 17)
	Q8Q(5, VSQXTN2, VXTN2, 16, 17)
	Q8Q(6, VSQXTN, VXTN, 18, 19)
	Q8Q(7, VSQXTN2, VXTN2, 18, 19)
	VSQXTNB(30, 16)
	VSQXTN2B(30, 18)
	VXTNB(31, 17)
	VXTN2B(31, 19)
	VBSL(31, 30, 27)
	ADD   $2, R2
	VST1.P [V29.B16], 16(R2)
	VST1.P [V31.B16], 16(R2)
	SUBS  $1, R0
	BNE   qloop
	RET

// Q81Q leaves in V21 cvtps2dq(x·id) for the four lanes of Vx (rounded to
// even, −2³¹ where NaN or beyond int32; V15 holds −2³¹), adds them to the
// int32 lanes of V13 (wrapping, as the plain Go's int32 sum) and narrows
// them with saturation into Vh (its low half for VSQXTN, high for VSQXTN2).
#define Q81Q(x, NARROW, h) \
	VFMULE(20, x, 25, 0); \
	VFRINTN(20, 20); \
	VFACGT(21, 24, 20); \
	VFCVTZS(20, 20); \
	VBSL(21, 20, 15); \
	VADD(13, 13, 21); \
	NARROW(h, 21)

// func quantizeQ8_1NEON(nb int, x *float32, y *byte)
//
// QuantizeQ8_1Activations' blocks: d and the quants as quantizeQ8_0NEON
// (−2³¹ saturating to −128), and s = FP16(d·float32(Σ q)), the sum of the
// int32 values before saturation.
TEXT ·quantizeQ8_1NEON(SB), NOSPLIT, $0-24
	MOVD  nb+0(FP), R0
	MOVD  x+8(FP), R1
	MOVD  y+16(FP), R2
	MOVW  $0x42fe0000, R7               // 127
	SFMOVW(26, 7)
	MOVW  $0x4f000000, R7               // 2³¹
	SFMOVW(24, 7)
	VDUPS0(24, 24)
	MOVW  $0x80000000, R7               // −2³¹
	SFMOVW(15, 7)
	VDUPS0(15, 15)

q1loop:
	AMAXID
	VORR(14, 22, 22)                    // d, kept for s
	SFCVTSH(22, 22)
	VMOV  V22.H[0], R7
	MOVH  R7, (R2)
	VEOR(13, 13, 13)
	Q81Q(0, VSQXTN, 16)
	Q81Q(1, VSQXTN2, 16)
	Q81Q(2, VSQXTN, 18)
	Q81Q(3, VSQXTN2, 18)
	VSQXTNB(28, 16)
	VSQXTN2B(28, 18)
	Q81Q(4, VSQXTN, 16)
	Q81Q(5, VSQXTN2, 16)
	Q81Q(6, VSQXTN, 18)
	Q81Q(7, VSQXTN2, 18)
	VSQXTNB(30, 16)
	VSQXTN2B(30, 18)
	SADDV(13, 13)                       // Σ q
	SSCVTF(13, 13)
	SFMUL(13, 14, 13)                   // d·float32(Σ q)
	SFCVTSH(13, 13)
	VMOV  V13.H[0], R7
	MOVH  R7, 2(R2)
	ADD   $4, R2
	VST1.P [V28.B16], 16(R2)
	VST1.P [V30.B16], 16(R2)
	SUBS  $1, R0
	BNE   q1loop
	RET
