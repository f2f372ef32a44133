//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SMIN, XTN, SADDLV); q8k.go (quantizeQ8_KGeneric, ggml's
// quantize_row_q8_K_ref, which this gives byte for byte).

#include "textflag.h"
#include "neon_arm64.h"

// func quantizeQ8_KBlockNEON(x *float32, iscale float32, y *byte)
//
// The quants and bsums of one Q8_K super-block (y points at its qs, the
// bsums follow): per value, q = nearest_int(float32(iscale·x)) by ggml's
// 1.5·2²³ trick, at most 127, stored as its low byte; per 16 values, the
// sum of the stored int8 quants as int16.
TEXT ·quantizeQ8_KBlockNEON(SB), NOSPLIT, $0-24
	MOVD  x+0(FP), R1
	FMOVS iscale+8(FP), F31
	MOVD  y+16(FP), R2
	VDUPS0(31, 31)
	MOVW  $0x4b400000, R7               // 12582912 = 1.5·2²³
	SFMOVW(30, 7)
	VDUPS0(30, 30)
	MOVW  $0x007fffff, R7
	SFMOVW(29, 7)
	VDUPS0(29, 29)
	MOVW  $0x00400000, R7
	SFMOVW(28, 7)
	VDUPS0(28, 28)
	MOVW  $127, R7
	SFMOVW(27, 7)
	VDUPS0(27, 27)
	ADD   $256, R2, R3                  // the bsums
	MOVD  $16, R0

kloop:
	VLD1.P 64(R1), [V0.S4, V1.S4, V2.S4, V3.S4]
	VFMUL(0, 0, 31)                     // float32(iscale·x)
	VFMUL(1, 1, 31)
	VFMUL(2, 2, 31)
	VFMUL(3, 3, 31)
	VFADD(0, 0, 30)                     // + 1.5·2²³
	VFADD(1, 1, 30)
	VFADD(2, 2, 30)
	VFADD(3, 3, 30)
	VAND(0, 0, 29)                      // low mantissa bits − 2²²
	VAND(1, 1, 29)
	VAND(2, 2, 29)
	VAND(3, 3, 29)
	VSUB(0, 0, 28)
	VSUB(1, 1, 28)
	VSUB(2, 2, 28)
	VSUB(3, 3, 28)
	VSMIN(0, 0, 27)                     // at most 127
	VSMIN(1, 1, 27)
	VSMIN(2, 2, 27)
	VSMIN(3, 3, 27)
	VXTN(4, 0)                          // low bytes, truncated as byte(int8(q))
	VXTN2(4, 1)
	VXTN(5, 2)
	VXTN2(5, 3)
	VXTNB(6, 4)
	VXTN2B(6, 5)
	VST1.P [V6.B16], 16(R2)
	SSADDLVB(7, 6)                      // Σ of the 16 int8 quants
	VMOV  V7.H[0], R7
	MOVH.P R7, 2(R3)
	SUBS  $1, R0
	BNE   kloop
	RET
