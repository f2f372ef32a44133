//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SDOT, SMULL, SADDLP, ADDP, SCVTF, FMLA); dot_legacy.go and
// dot_q4_0x8.go, whose float orders these kernels keep bit for bit.

#include "textflag.h"
#include "neon_arm64.h"

// The integer part of every block is exact in any order, so only the
// float steps must follow the plain Go: each lane's (or block's) integer
// sum rounded to float32 by SCVTF, then one fused multiply-add with
// d = float32(w.d·x.d), blocks in order.
//
// D4(d, n, m) adds to the four int32 lanes of Vd the sums of the products
// of the signed bytes 4k…4k+3 of Vn and Vm: one SDOT with FEAT_DotProd
// (D4SDOT), else SMULL/SMULL2 to int16 products (|q·y| ≤ 128² fits),
// SADDLP to pair sums and ADDP to the sums of four (D4MULL, which uses
// V26 and V27). Each kernel is assembled once with each.
#define D4SDOT(d, n, m) VSDOT(d, n, m)
#define D4MULL(d, n, m) \
	VSMULL(26, n, m); \
	VSMULL2(27, n, m); \
	VSADDLP(26, 26); \
	VSADDLP(27, 27); \
	VADDP(26, 26, 27); \
	VADD(d, d, 26)

// DSCALE leaves float32(FP16(w.d)·FP16(x.d)) in S6 for the blocks at R1
// and R2. Clobbers R3, R4, V4, V5.
#define DSCALE \
	MOVHU (R1), R3; \
	MOVHU (R2), R4; \
	FMOVS R3, F4; \
	FMOVS R4, F5; \
	SFCVTHS(4, 4); \
	SFCVTHS(5, 5); \
	SFMUL(6, 4, 5)

// Q8_0: lane m (V16 for m < 4, V17 above) of the accumulator takes the
// block's products 4m…4m+3 (exactly what SDOT sums), so that the end is
// hsum8's fold (dotQ8_0Generic).
#define Q8_0DOT(D4) \
	MOVD nb+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VEOR(16, 16, 16); \
	VEOR(17, 17, 17); \
q8loop: \
	DSCALE; \
	ADD $2, R1, R5; \
	ADD $2, R2, R6; \
	VLD1 (R5), [V0.B16, V1.B16]; \
	VLD1 (R6), [V2.B16, V3.B16]; \
	VEOR(20, 20, 20); \
	VEOR(21, 21, 21); \
	D4(20, 0, 2); \
	D4(21, 1, 3); \
	VSCVTF(20, 20); \
	VSCVTF(21, 21); \
	VFMLAE(16, 20, 6, 0); \
	VFMLAE(17, 21, 6, 0); \
	ADD $34, R1; \
	ADD $34, R2; \
	SUBS $1, R0; \
	BNE q8loop; \
	VFADD(16, 16, 17); \
	VEXT8(18, 16, 16); \
	VFADD(16, 16, 18); \
	SFADDP(16, 16); \
	FMOVS F16, ret+24(FP); \
	RET

// NIBBLES splits the 16 bytes of Vq into Vlo (low nibbles) and Vhi (high),
// each minus 8; V31 holds 0x0F and V30 8 in every byte.
#define NIBBLES(q, lo, hi) \
	VAND(lo, q, 31); \
	VUSHRB(hi, q, 4); \
	VSUBB(lo, lo, 30); \
	VSUBB(hi, hi, 30)

// Q4_0: the block's whole integer sum (ADDV of the four lanes), then
// acc = fma(sumi, d, acc) in one scalar register (dotQ4_0Generic).
#define Q4_0DOT(D4) \
	MOVD nb+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VMOVIB(31, 15); \
	VMOVIB(30, 8); \
	VEOR(16, 16, 16); \
q4loop: \
	DSCALE; \
	ADD $2, R1, R5; \
	ADD $2, R2, R6; \
	VLD1 (R5), [V0.B16]; \
	VLD1 (R6), [V2.B16, V3.B16]; \
	NIBBLES(0, 1, 0); \
	VEOR(20, 20, 20); \
	D4(20, 1, 2); \
	D4(20, 0, 3); \
	SADDV(20, 20); \
	SSCVTF(20, 20); \
	SFMADD(16, 20, 6, 16); \
	ADD $18, R1; \
	ADD $34, R2; \
	SUBS $1, R0; \
	BNE q4loop; \
	FMOVS F16, ret+24(FP); \
	RET

// Q4X8ROW leaves in Vp the four partial lane sums of the packed row whose
// 16 nibble bytes are in Vq, against the activations in V2 (elements
// 0…15) and V3 (16…31).
#define Q4X8ROW(D4, q, p) \
	NIBBLES(q, 0, 1); \
	VEOR(p, p, p); \
	D4(p, 0, 2); \
	D4(p, 1, 3)

// Q4_0x8: eight rows' sums per block; the rows come in the packed order
// r0 r4 r1 r5 r2 r6 r3 r7 (V8…V15), their partial sums go to V18+r, and
// three ADDPs per half leave rows 0…3 in V18 and 4…7 in V22, to be scaled
// by their eight d (V6, V7) and added by FMA (dotQ4_0x8Generic).
#define Q4_0X8DOT(D4) \
	MOVD nb+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VMOVIB(31, 15); \
	VMOVIB(30, 8); \
	VEOR(16, 16, 16); \
	VEOR(17, 17, 17); \
x8loop: \
	MOVHU (R2), R4; \
	FMOVS R4, F5; \
	SFCVTHS(5, 5); \
	ADD $2, R2, R6; \
	VLD1 (R6), [V2.B16, V3.B16]; \
	VLD1.P 16(R1), [V4.H8]; \
	VFCVTL(6, 4); \
	VFCVTL2(7, 4); \
	VFMULE(6, 6, 5, 0); \
	VFMULE(7, 7, 5, 0); \
	VLD1.P 64(R1), [V8.B16, V9.B16, V10.B16, V11.B16]; \
	VLD1.P 64(R1), [V12.B16, V13.B16, V14.B16, V15.B16]; \
	Q4X8ROW(D4, 8, 18); \
	Q4X8ROW(D4, 9, 22); \
	Q4X8ROW(D4, 10, 19); \
	Q4X8ROW(D4, 11, 23); \
	Q4X8ROW(D4, 12, 20); \
	Q4X8ROW(D4, 13, 24); \
	Q4X8ROW(D4, 14, 21); \
	Q4X8ROW(D4, 15, 25); \
	VADDP(18, 18, 19); \
	VADDP(20, 20, 21); \
	VADDP(18, 18, 20); \
	VADDP(22, 22, 23); \
	VADDP(24, 24, 25); \
	VADDP(22, 22, 24); \
	VSCVTF(18, 18); \
	VSCVTF(22, 22); \
	VFMLA(16, 18, 6); \
	VFMLA(17, 22, 7); \
	ADD $34, R2; \
	SUBS $1, R0; \
	BNE x8loop; \
	MOVD out+24(FP), R3; \
	VST1 [V16.S4, V17.S4], (R3); \
	RET

// func dotQ8_0SDOT(nb int, w, x *byte) float32
TEXT ·dotQ8_0SDOT(SB), NOSPLIT, $0-28
	Q8_0DOT(D4SDOT)

// func dotQ8_0MULL(nb int, w, x *byte) float32
TEXT ·dotQ8_0MULL(SB), NOSPLIT, $0-28
	Q8_0DOT(D4MULL)

// func dotQ4_0SDOT(nb int, w, x *byte) float32
TEXT ·dotQ4_0SDOT(SB), NOSPLIT, $0-28
	Q4_0DOT(D4SDOT)

// func dotQ4_0MULL(nb int, w, x *byte) float32
TEXT ·dotQ4_0MULL(SB), NOSPLIT, $0-28
	Q4_0DOT(D4MULL)

// func dotQ4_0x8SDOT(nb int, w, x *byte, out *[8]float32)
TEXT ·dotQ4_0x8SDOT(SB), NOSPLIT, $0-32
	Q4_0X8DOT(D4SDOT)

// func dotQ4_0x8MULL(nb int, w, x *byte, out *[8]float32)
TEXT ·dotQ4_0x8MULL(SB), NOSPLIT, $0-32
	Q4_0X8DOT(D4MULL)
