//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (FMLA, SHLL, EXT, FADDP); dot_bf16ggml_amd64.s, whose order of
// operations this repeats lane for lane.

#include "textflag.h"
#include "neon_arm64.h"

// func dotBF16GGMLNEON(n32 int, w, x *byte) float32
//
// Accumulator j (V2j|V2j+1) takes elements 8j…8j+7 of every 32 (bfloat16
// widened by SHLL #16, exact) by FMA; then (a0+a2) + (a1+a3) lane by lane
// and the eight lanes folded ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), as the
// AVX2 code's extract, movehl and movehdup adds do.
TEXT ·dotBF16GGMLNEON(SB), NOSPLIT, $0-28
	MOVD n32+0(FP), R0
	MOVD w+8(FP), R1
	MOVD x+16(FP), R2
	VEOR(0, 0, 0)
	VEOR(1, 1, 1)
	VEOR(2, 2, 2)
	VEOR(3, 3, 3)
	VEOR(4, 4, 4)
	VEOR(5, 5, 5)
	VEOR(6, 6, 6)
	VEOR(7, 7, 7)

loop:
	VLD1.P 64(R1), [V8.H8, V9.H8, V10.H8, V11.H8]
	VSHLL16(16, 8)
	VSHLL16_2(17, 8)
	VSHLL16(18, 9)
	VSHLL16_2(19, 9)
	VSHLL16(20, 10)
	VSHLL16_2(21, 10)
	VSHLL16(22, 11)
	VSHLL16_2(23, 11)
	VLD1.P 64(R2), [V24.S4, V25.S4, V26.S4, V27.S4]
	VLD1.P 64(R2), [V28.S4, V29.S4, V30.S4, V31.S4]
	VFMLA(0, 16, 24)
	VFMLA(1, 17, 25)
	VFMLA(2, 18, 26)
	VFMLA(3, 19, 27)
	VFMLA(4, 20, 28)
	VFMLA(5, 21, 29)
	VFMLA(6, 22, 30)
	VFMLA(7, 23, 31)
	SUBS $1, R0
	BNE  loop

	VFADD(0, 0, 4)  // a0+a2, lanes 0…3
	VFADD(1, 1, 5)  // lanes 4…7
	VFADD(2, 2, 6)  // a1+a3
	VFADD(3, 3, 7)
	VFADD(0, 0, 2)  // l0…l3
	VFADD(1, 1, 3)  // l4…l7
	VFADD(0, 0, 1)  // l0+l4, l1+l5, l2+l6, l3+l7
	VEXT8(2, 0, 0)  // l2+l6, l3+l7, l0+l4, l1+l5
	VFADD(0, 0, 2)  // (l0+l4)+(l2+l6), (l1+l5)+(l3+l7)
	SFADDP(0, 0)
	FMOVS F0, ret+24(FP)
	RET
