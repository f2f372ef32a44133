//go:build !purego

// Reference: Arm ARM (DDI 0487) C7 (SDOT, TBL, CMTST); dot_legacy_lanes.go, whose lane orders (llama.cpp's
// AVX2 ones) these kernels keep bit for bit.

#include "textflag.h"
#include "neon_arm64.h"

// Each block's 32 quants become signed bytes, elements 0…15 in V0 (the low
// nibbles) and 16…31 in V1 (the high ones), and lane m of V20|V21 takes
// the exact sum of the products of elements 4m…4m+3 with the activations
// (SDOT, or SMULL and pairwise adds: D4); then the lanes are rounded and
// added by one FMA with d = float32(w.d·x.d) to the accumulator lanes, as
// fmaLanes does, and folded by hsum8 at the end.
//
// Constant registers: V31 = 0x0F, V30 = 0x10, V29 = 16 (bytes), V28 the
// bit masks 1, 2, …, 128 twice, V24 and V25 the TBL indices that spread
// qh's bytes 0, 1 and 2, 3 over sixteen bytes each, V23 IQ4_NL's codebook.

#define D4SDOT(d, n, m) VSDOT(d, n, m)
#define D4MULL(d, n, m) \
	VSMULL(26, n, m); \
	VSMULL2(27, n, m); \
	VSADDLP(26, 26); \
	VSADDLP(27, 27); \
	VADDP(26, 26, 27); \
	VADD(d, d, 26)

#define HSUM8(a, b, t) \
	VFADD(a, a, b); \
	VEXT8(t, a, a); \
	VFADD(a, a, t); \
	SFADDP(a, a)

// HALVES leaves FP16(woff(R1)) in S8 and FP16(xoff(R2)) in S9, widened;
// clobbers R3, R4.
#define HALVES(woff, xoff) \
	MOVHU woff(R1), R3; \
	MOVHU xoff(R2), R4; \
	SFMOVW(8, 3); \
	SFMOVW(9, 4); \
	SFCVTHS(8, 8); \
	SFCVTHS(9, 9)

// DSCALE leaves the block's d = float32(FP16(w.d)·FP16(x.d)) in S10.
#define DSCALE HALVES(0, 0); SFMUL(10, 8, 9)

// Weight decoders: the block at R1 to signed bytes in V0, V1.
#define NIB(off) \
	ADD $(off), R1, R5; \
	VLD1 (R5), [V4.B16]; \
	VAND(0, 4, 31); \
	VUSHRB(1, 4, 4)
#define WQ4_1 NIB(4)
#define FIFTH(qhoff) \
	MOVWU qhoff(R1), R7; \
	SFMOVW(5, 7); \
	VTBL1(6, 5, 24); \
	VTBL1(7, 5, 25); \
	VCMTST(6, 6, 28); \
	VCMTST(7, 7, 28); \
	VAND(6, 6, 30); \
	VAND(7, 7, 30); \
	VORR(0, 0, 6); \
	VORR(1, 1, 7)
#define WQ5_0 NIB(6); FIFTH(2); VSUBB(0, 0, 29); VSUBB(1, 1, 29)
#define WQ5_1 NIB(8); FIFTH(4)
#define WIQ4 NIB(2); VTBL1(0, 23, 0); VTBL1(1, 23, 1)

// LANES computes the block's lane sums into V20|V21 (int32) against the
// activations at xqs(R2).
#define LANES(D4, WQ, xqs) \
	WQ; \
	ADD $(xqs), R2, R6; \
	VLD1 (R6), [V2.B16, V3.B16]; \
	VEOR(20, 20, 20); \
	VEOR(21, 21, 21); \
	D4(20, 0, 2); \
	D4(21, 1, 3)

// BLOCK adds one block to the accumulator lanes Va|Vb and advances R1, R2.
#define BLOCK(D4, WQ, xqs, wb, xb, a, b) \
	DSCALE; \
	LANES(D4, WQ, xqs); \
	VSCVTF(20, 20); \
	VSCVTF(21, 21); \
	VFMLAE(a, 20, 10, 0); \
	VFMLAE(b, 21, 10, 0); \
	ADD $(wb), R1; \
	ADD $(xb), R2

#define SETUP \
	MOVD nb+0(FP), R0; \
	MOVD w+8(FP), R1; \
	MOVD x+16(FP), R2; \
	VMOVIB(31, 15); \
	VMOVIB(30, 16); \
	VMOVIB(29, 16); \
	MOVD $lanesconst<>(SB), R9; \
	VLD1.P 32(R9), [V24.B16, V25.B16]; \
	VLD1 (R9), [V28.B16]; \
	MOVD $·IQ4NLValues(SB), R9; \
	VLD1 (R9), [V23.B16]; \
	VEOR(16, 16, 16); \
	VEOR(17, 17, 17); \
	VEOR(18, 18, 18); \
	VEOR(19, 19, 19)

// ONESET: every block into V16|V17 (Q5_0, IQ4_NL's tinyBLAS order).
#define ONESET(D4, WQ, wb) \
	SETUP; \
l1loop: \
	BLOCK(D4, WQ, 2, wb, 34, 16, 17); \
	SUBS $1, R0; \
	BNE l1loop; \
	HSUM8(16, 17, 18); \
	FMOVS F16, ret+24(FP); \
	RET

// WITHMIN: Q4_1 and Q5_1 against Q8_1 (qs at 4), and per block
// summs = fma(FP16(w.m), FP16(x.s), summs) in S19, added after hsum8.
#define WITHMIN(D4, WQ, wb) \
	SETUP; \
lmloop: \
	HALVES(2, 2); \
	SFMADD(19, 8, 9, 19); \
	BLOCK(D4, WQ, 4, wb, 36, 16, 17); \
	SUBS $1, R0; \
	BNE lmloop; \
	HSUM8(16, 17, 18); \
	SFADD(16, 16, 19); \
	FMOVS F16, ret+24(FP); \
	RET

// IQ4_NL's single dot: even blocks in V16|V17, odd ones in V18|V19, the
// two added lane by lane before hsum8; a last odd block added alone as
// float32(d·float32(Σ lanes)).
#define IQ4DOT(D4) \
	SETUP; \
	CMP $2, R0; \
	BLT ifold; \
iloop: \
	BLOCK(D4, WIQ4, 2, 18, 34, 16, 17); \
	BLOCK(D4, WIQ4, 2, 18, 34, 18, 19); \
	SUB $2, R0; \
	CMP $2, R0; \
	BGE iloop; \
ifold: \
	VFADD(16, 16, 18); \
	VFADD(17, 17, 19); \
	HSUM8(16, 17, 18); \
	CBZ R0, idone; \
	DSCALE; \
	LANES(D4, WIQ4, 2); \
	VADD(20, 20, 21); \
	SADDV(20, 20); \
	SSCVTF(20, 20); \
	SFMUL(20, 10, 20); \
	SFADD(16, 16, 20); \
idone: \
	FMOVS F16, ret+24(FP); \
	RET

// TBL indices: bytes 0…7 take qh byte 0, 8…15 byte 1 (V24); 2 and 3 (V25);
// then the bit of each byte's element (V28).
DATA lanesconst<>+0(SB)/8, $0x0000000000000000
DATA lanesconst<>+8(SB)/8, $0x0101010101010101
DATA lanesconst<>+16(SB)/8, $0x0202020202020202
DATA lanesconst<>+24(SB)/8, $0x0303030303030303
DATA lanesconst<>+32(SB)/8, $0x8040201008040201
DATA lanesconst<>+40(SB)/8, $0x8040201008040201
GLOBL lanesconst<>(SB), RODATA|NOPTR, $48

// func dotQ4_1SDOT(nb int, w, x *byte) float32
TEXT ·dotQ4_1SDOT(SB), NOSPLIT, $0-28
	WITHMIN(D4SDOT, WQ4_1, 20)

// func dotQ4_1MULL(nb int, w, x *byte) float32
TEXT ·dotQ4_1MULL(SB), NOSPLIT, $0-28
	WITHMIN(D4MULL, WQ4_1, 20)

// func dotQ5_1SDOT(nb int, w, x *byte) float32
TEXT ·dotQ5_1SDOT(SB), NOSPLIT, $0-28
	WITHMIN(D4SDOT, WQ5_1, 24)

// func dotQ5_1MULL(nb int, w, x *byte) float32
TEXT ·dotQ5_1MULL(SB), NOSPLIT, $0-28
	WITHMIN(D4MULL, WQ5_1, 24)

// func dotQ5_0SDOT(nb int, w, x *byte) float32
TEXT ·dotQ5_0SDOT(SB), NOSPLIT, $0-28
	ONESET(D4SDOT, WQ5_0, 22)

// func dotQ5_0MULL(nb int, w, x *byte) float32
TEXT ·dotQ5_0MULL(SB), NOSPLIT, $0-28
	ONESET(D4MULL, WQ5_0, 22)

// func dotIQ4_NLTBSDOT(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLTBSDOT(SB), NOSPLIT, $0-28
	ONESET(D4SDOT, WIQ4, 18)

// func dotIQ4_NLTBMULL(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLTBMULL(SB), NOSPLIT, $0-28
	ONESET(D4MULL, WIQ4, 18)

// func dotIQ4_NLSDOT(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLSDOT(SB), NOSPLIT, $0-28
	IQ4DOT(D4SDOT)

// func dotIQ4_NLMULL(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLMULL(SB), NOSPLIT, $0-28
	IQ4DOT(D4MULL)
