//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD; EVEX registers Y16–Y31); ggml/src/ggml-cpu/llamafile/sgemm.cpp
// (tinyBLAS_Q0_AVX: register tiles of several weight rows by several activation rows).

#include "textflag.h"

DATA q84Sign<>+0(SB)/8, $0x8080808080808080
GLOBL q84Sign<>(SB), RODATA|NOPTR, $8

// Q84XCORR leaves −128·Σ of each lane's four activations of the block of
// the row at P in N: VPDPBUSD of bytes of 128 (unsigned) with x (signed),
// subtracted from zero (Y2).
#define Q84XCORR(P, N) \
	VPXOR N, N, N; \
	VPDPBUSD 2(P), Y15, N; \
	VPSUBD N, Y2, N

// Q84W leaves the block of the weight row at P with its sign bits flipped
// (w+128, unsigned) in F and its w.d in every lane of D (XD its low half):
// VCVTPH2PS of the broadcast half gives fp16Table's value without a load
// from the 256 KiB table, which the streamed weights keep evicting.
#define Q84W(P, F, D, XD) \
	VPXOR 2(P), Y15, F; \
	VPBROADCASTW (P), XD; \
	VCVTPH2PS XD, D

// Q84PAIR adds to A the block of weight row i (F, D) times activation row j
// (its block at P, its correction in N, its x.d at xo(R10)): the lanes
// Σ(w+128)·x − 128·Σx = Σ w·x exactly, as float32, by one FMA with w.d·x.d.
#define Q84PAIR(P, N, xo, F, D, A) \
	VMOVDQA N, Y0; \
	VPDPBUSD 2(P), F, Y0; \
	VCVTDQ2PS Y0, Y0; \
	VMULPS.BCST xo(R10), D, Y1; \
	VFMADD231PS Y0, Y1, A

// Q84WROW does weight row i (F, D) against the four activation rows,
// into accumulators A0..A3.
#define Q84WROW(F, D, A0, A1, A2, A3) \
	Q84PAIR(DI, Y4, 0, F, D, A0); \
	Q84PAIR(R9, Y5, 4, F, D, A1); \
	Q84PAIR(R11, Y6, 8, F, D, A2); \
	Q84PAIR(R14, Y7, 12, F, D, A3)

// Q84OUT sums A's lanes as HSUM8 does (through Y0, which VEX reaches) and
// stores the result at o(DX).
#define Q84OUT(A, o) \
	VMOVAPS A, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0; \
	VMOVSS X0, o(DX)

// func tileQ8_0x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, xd *float32, out *[16]float32)
//
// Registers: SI, BX, R12, R13 = the four weight rows' blocks (rb apart);
// DI, R9, R11, R14 = the four activation rows' blocks; R10 = their x.d;
// CX = blocks left; Y4..Y7 = the activation rows'
// corrections; Y8..Y11 = the weight rows' flipped blocks; Y12, Y13, Y14,
// Y3 = their w.d; Y2 = zero; Y15 = bytes of 0x80; Y16 + 4i + j =
// accumulator of weight row i and activation row j.
TEXT ·tileQ8_0x4VNNIAsm(SB), NOSPLIT, $0-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rb+16(FP), DX
	LEAQ (SI)(DX*1), BX
	LEAQ (BX)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	MOVQ x+24(FP), DI
	MOVQ xStride+32(FP), DX
	LEAQ (DI)(DX*1), R9
	LEAQ (R9)(DX*1), R11
	LEAQ (R11)(DX*1), R14
	MOVQ xd+40(FP), R10
	VPBROADCASTQ q84Sign<>(SB), Y15
	VPXOR Y2, Y2, Y2                  // Y2 = zero
	VPXORD Y16, Y16, Y16
	VMOVDQA64 Y16, Y17
	VMOVDQA64 Y16, Y18
	VMOVDQA64 Y16, Y19
	VMOVDQA64 Y16, Y20
	VMOVDQA64 Y16, Y21
	VMOVDQA64 Y16, Y22
	VMOVDQA64 Y16, Y23
	VMOVDQA64 Y16, Y24
	VMOVDQA64 Y16, Y25
	VMOVDQA64 Y16, Y26
	VMOVDQA64 Y16, Y27
	VMOVDQA64 Y16, Y28
	VMOVDQA64 Y16, Y29
	VMOVDQA64 Y16, Y30
	VMOVDQA64 Y16, Y31

q84loop:
	Q84XCORR(DI, Y4)
	Q84XCORR(R9, Y5)
	Q84XCORR(R11, Y6)
	Q84XCORR(R14, Y7)
	Q84W(SI, Y8, Y12, X12)
	Q84W(BX, Y9, Y13, X13)
	Q84W(R12, Y10, Y14, X14)
	Q84W(R13, Y11, Y3, X3)
	Q84WROW(Y8, Y12, Y16, Y17, Y18, Y19)
	Q84WROW(Y9, Y13, Y20, Y21, Y22, Y23)
	Q84WROW(Y10, Y14, Y24, Y25, Y26, Y27)
	Q84WROW(Y11, Y3, Y28, Y29, Y30, Y31)
	ADDQ $34, SI
	ADDQ $34, BX
	ADDQ $34, R12
	ADDQ $34, R13
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $34, R11
	ADDQ $34, R14
	ADDQ $16, R10
	DECQ CX
	JNZ  q84loop

	MOVQ out+48(FP), DX
	Q84OUT(Y16, 0)
	Q84OUT(Y17, 4)
	Q84OUT(Y18, 8)
	Q84OUT(Y19, 12)
	Q84OUT(Y20, 16)
	Q84OUT(Y21, 20)
	Q84OUT(Y22, 24)
	Q84OUT(Y23, 28)
	Q84OUT(Y24, 32)
	Q84OUT(Y25, 36)
	Q84OUT(Y26, 40)
	Q84OUT(Y27, 44)
	Q84OUT(Y28, 48)
	Q84OUT(Y29, 52)
	Q84OUT(Y30, 56)
	Q84OUT(Y31, 60)
	VZEROUPPER
	RET
