//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD, VPTESTMB, masked VPADDB; EVEX registers Y16–Y31);
// ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS_Q0_AVX: register tiles of several weight rows by
// several activation rows); ggml/src/ggml-cpu/ggml-cpu-quants.c (the AVX2 lane order of each product).

#include "textflag.h"
#include "hsum_amd64.h"

// 4×4 tiles of the lane-order dots: four weight rows (rb apart) by four
// activation rows (xStride apart), each of the sixteen products summed
// exactly as its 1×4 tile (tile_legacy_lanes_amd64.s) sums it: eight int32
// lanes of exact sums of four products, converted to float32, added by one
// FMA with w.d·x.d, blocks in order, folded as hsum8 (plus Σ m·s for Q4_1
// and Q5_1, one lane-wise FMA per block). What the 4×4 form shares: each
// weight block is unpacked (nibbles, fifth bits, codebook) and its w.d
// converted once for four activation rows, each activation block's x.d
// converted and its offset correction formed once for four weight rows.
//
// The integer sums: the weights are made unsigned (Q5_0: q+16, the 5-bit
// code itself; IQ4_NL: codebook value + 128; Q4_1, Q5_1 are unsigned
// already) so that VPDPBUSD takes them against the signed activations
// straight from memory, starting from the correction −16·Σx (Q5_0) or
// −128·Σx (IQ4_NL) of the lane's four activations, or from zero. The lane
// sums are then Σ q·x exactly, the 1×4 tiles' sums for every activation
// the Q8_0/Q8_1 quantizers make (−127…127; the 1×4 tiles' VPSIGNB trick
// differs at −128, which none makes).
//
// Registers: SI, BX, R12, R13 = the weight rows, R10 = the offset of the
// current weight block in them; DI, R9, R11, R14 = the activation rows,
// DX = the offset of the current activation block; R8 = &fp16Table; CX =
// blocks left; 0(SP) = the next prefetch address, AX a temporary;
// Y2 = the unpacked weight block, Y3 = its w.d; Y4..Y7 = the
// activation rows' corrections (Q5_0, IQ4_NL) or, in X4..X7, weight row
// i's Σ m·s with lane j for activation row j (Q4_1, Q5_1); Y8..Y11 = the
// activation rows' x.d; Y0, Y1 = temporaries; Y12..Y15 = constants;
// Y16 + 4i + j = accumulator of weight row i and activation row j.

DATA x4Nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL x4Nibble<>(SB), RODATA|NOPTR, $8
DATA x4Bit4<>+0(SB)/8, $0x1010101010101010
GLOBL x4Bit4<>(SB), RODATA|NOPTR, $8
DATA x4Sign<>+0(SB)/8, $0x8080808080808080
GLOBL x4Sign<>(SB), RODATA|NOPTR, $8
// Byte i of the mask is bit i%8 alone.
DATA x4BitOne<>+0(SB)/8, $0x8040201008040201
GLOBL x4BitOne<>(SB), RODATA|NOPTR, $8
// Byte i picks byte i/8 of the broadcast fifth-bit word.
DATA x4Spread<>+0(SB)/8, $0x0000000000000000
DATA x4Spread<>+8(SB)/8, $0x0101010101010101
DATA x4Spread<>+16(SB)/8, $0x0202020202020202
DATA x4Spread<>+24(SB)/8, $0x0303030303030303
GLOBL x4Spread<>(SB), RODATA|NOPTR, $32
// Quadword shifts: 0 for the low lane (low nibbles), 4 for the high lane.
DATA x4Shift<>+0(SB)/8, $0
DATA x4Shift<>+8(SB)/8, $0
DATA x4Shift<>+16(SB)/8, $4
DATA x4Shift<>+24(SB)/8, $4
GLOBL x4Shift<>(SB), RODATA|NOPTR, $32
// kvalues_iq4nl + 128 (−127 … 113 → 1 … 241), unsigned.
DATA x4IQ4NLU<>+0(SB)/8, $0x766a5d4f3f2d1801
DATA x4IQ4NLU<>+8(SB)/8, $0xf1d9c5b5a6998d81
GLOBL x4IQ4NLU<>(SB), RODATA|NOPTR, $16

// X4NIBBLES leaves the 32 nibbles at off(P)(R10*1) in Y2: the 16 bytes in
// both lanes, the high lane shifted by 4, both masked (low nibbles are
// elements 0…15, high ones 16…31, as the 1×4 tiles order them).
#define X4NIBBLES(P, off) \
	VBROADCASTI128 off(P)(R10*1), Y2; \
	VPSRLVQ x4Shift<>(SB), Y2, Y2; \
	VPAND Y15, Y2, Y2

// X4FIFTH adds 16 to byte i of Y2 where bit i of the uint32 at
// off(P)(R10*1) is set (Y12 = spread, Y13 = bit masks, Y14 = bytes of 16).
#define X4FIFTH(P, off) \
	VPBROADCASTD off(P)(R10*1), Y0; \
	VPSHUFB Y12, Y0, Y0; \
	VPTESTMB Y13, Y0, K1; \
	VPADDB Y14, Y2, K1, Y2

// X4WD leaves FP16ToFP32(w.d) of weight row P's block in every lane of Y3.
#define X4WD(P) \
	MOVWLZX (P)(R10*1), AX; \
	VBROADCASTSS (R8)(AX*4), Y3

// X4XD leaves FP16ToFP32(x.d) of activation row P's block in every lane of D.
#define X4XD(P, D) \
	MOVWLZX (P)(DX*1), AX; \
	VBROADCASTSS (R8)(AX*4), D

// X4CORR leaves in N, lane by lane, −C·Σ of the lane's four activations of
// row P's Q8_0 block (C the unsigned bytes in U): exact integers.
#define X4CORR(P, U, N) \
	VPXOR Y0, Y0, Y0; \
	VPDPBUSD 2(P)(DX*1), U, Y0; \
	VPXOR N, N, N; \
	VPSUBD Y0, N, N

// X4PAIRN adds to A the product of the weight block (Y2, w.d in Y3) and
// activation row P's block (quants at xo, correction N, x.d in D): the
// exact lane sums from N, as float32, by one FMA with w.d·x.d.
#define X4PAIRN(P, xo, N, D, A) \
	VMOVDQA N, Y0; \
	VPDPBUSD xo(P)(DX*1), Y2, Y0; \
	VCVTDQ2PS Y0, Y0; \
	VMULPS D, Y3, Y1; \
	VFMADD231PS Y0, Y1, A

// X4PAIRZ is X4PAIRN for unsigned weights, the lane sums from zero.
#define X4PAIRZ(P, xo, N, D, A) \
	VPXOR Y0, Y0, Y0; \
	VPDPBUSD xo(P)(DX*1), Y2, Y0; \
	VCVTDQ2PS Y0, Y0; \
	VMULPS D, Y3, Y1; \
	VFMADD231PS Y0, Y1, A

// X4ROW does the weight block in Y2, Y3 against the four activation rows.
#define X4ROW(PAIR, xo, A0, A1, A2, A3) \
	PAIR(DI, xo, Y4, Y8, A0); \
	PAIR(R9, xo, Y5, Y9, A1); \
	PAIR(R11, xo, Y6, Y10, A2); \
	PAIR(R14, xo, Y7, Y11, A3)

// X4SUMMS adds m·s of weight row P and the four activation rows (s at
// 2(row)(DX*1), gathered in X0 by the first call's X4SGATHER) to S's lanes,
// one FMA rounding each lane once, as the dot's scalar FMA.
#define X4SUMMS(P, S) \
	MOVWLZX 2(P)(R10*1), AX; \
	VBROADCASTSS (R8)(AX*4), X1; \
	VFMADD231PS X0, X1, S

// X4SGATHER leaves the four activation rows' s (Q8_1) in X0's lanes.
#define X4SGATHER \
	MOVWLZX 2(DI)(DX*1), AX; \
	VMOVSS (R8)(AX*4), X0; \
	MOVWLZX 2(R9)(DX*1), AX; \
	VINSERTPS $0x10, (R8)(AX*4), X0, X0; \
	MOVWLZX 2(R11)(DX*1), AX; \
	VINSERTPS $0x20, (R8)(AX*4), X0, X0; \
	MOVWLZX 2(R14)(DX*1), AX; \
	VINSERTPS $0x30, (R8)(AX*4), X0, X0

// X4SETUP loads the row pointers and zeroes the accumulators and offsets.
#define X4SETUP \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ rb+16(FP), DX; \
	LEAQ (SI)(DX*1), BX; \
	LEAQ (BX)(DX*1), R12; \
	LEAQ (R12)(DX*1), R13; \
	LEAQ (R13)(DX*1), AX; \
	MOVQ AX, 0(SP); \
	MOVQ x+24(FP), DI; \
	MOVQ xStride+32(FP), DX; \
	LEAQ (DI)(DX*1), R9; \
	LEAQ (R9)(DX*1), R11; \
	LEAQ (R11)(DX*1), R14; \
	MOVQ ·fp16Table(SB), R8; \
	XORQ R10, R10; \
	XORQ DX, DX; \
	VPBROADCASTQ x4Nibble<>(SB), Y15; \
	VPXORD Y16, Y16, Y16; \
	VMOVDQA64 Y16, Y17; \
	VMOVDQA64 Y16, Y18; \
	VMOVDQA64 Y16, Y19; \
	VMOVDQA64 Y16, Y20; \
	VMOVDQA64 Y16, Y21; \
	VMOVDQA64 Y16, Y22; \
	VMOVDQA64 Y16, Y23; \
	VMOVDQA64 Y16, Y24; \
	VMOVDQA64 Y16, Y25; \
	VMOVDQA64 Y16, Y26; \
	VMOVDQA64 Y16, Y27; \
	VMOVDQA64 Y16, Y28; \
	VMOVDQA64 Y16, Y29; \
	VMOVDQA64 Y16, Y30; \
	VMOVDQA64 Y16, Y31

// X4FIFTHSETUP loads the fifth-bit constants.
#define X4FIFTHSETUP \
	VMOVDQU x4Spread<>(SB), Y12; \
	VPBROADCASTQ x4BitOne<>(SB), Y13; \
	VPBROADCASTQ x4Bit4<>(SB), Y14

// X4NEXT prefetches two lines of the next tile's weight rows (the address
// at 0(SP), from 4·rb on, 4·wb bytes further each block: four short rows
// read side by side defeat the hardware prefetcher), moves the offsets on
// by one block (wb weight, xb activation bytes) and loops to L while
// blocks are left.
#define X4NEXT(wb, xb, L) \
	MOVQ 0(SP), AX; \
	PREFETCHT0 (AX); \
	PREFETCHT0 64(AX); \
	ADDQ $(4*wb), AX; \
	MOVQ AX, 0(SP); \
	ADDQ $wb, R10; \
	ADDQ $xb, DX; \
	DECQ CX; \
	JNZ  L

// X4FOLD folds A's lanes as hsum8 into X0's low lane (through Y0, which
// VEX reaches).
#define X4FOLD(A) \
	VMOVAPS A, Y0; \
	HSUM8

// X4OUT stores A folded at o(DX).
#define X4OUT(A, o) \
	X4FOLD(A); \
	VMOVSS X0, o(DX)

// X4OUTM stores A folded plus lane j of S at o(DX).
#define X4OUTM(A, S, j, o) \
	X4FOLD(A); \
	VPSHUFD $j, S, X1; \
	VADDSS X1, X0, X0; \
	VMOVSS X0, o(DX)

// X4STORE stores the sixteen results, out[4i+j] for weight row i and
// activation row j.
#define X4STORE \
	MOVQ out+40(FP), DX; \
	X4OUT(Y16, 0); \
	X4OUT(Y17, 4); \
	X4OUT(Y18, 8); \
	X4OUT(Y19, 12); \
	X4OUT(Y20, 16); \
	X4OUT(Y21, 20); \
	X4OUT(Y22, 24); \
	X4OUT(Y23, 28); \
	X4OUT(Y24, 32); \
	X4OUT(Y25, 36); \
	X4OUT(Y26, 40); \
	X4OUT(Y27, 44); \
	X4OUT(Y28, 48); \
	X4OUT(Y29, 52); \
	X4OUT(Y30, 56); \
	X4OUT(Y31, 60); \
	VZEROUPPER; \
	RET

// X4STOREM is X4STORE plus each weight row's Σ m·s (X4..X7).
#define X4STOREM \
	MOVQ out+40(FP), DX; \
	X4OUTM(Y16, X4, 0, 0); \
	X4OUTM(Y17, X4, 1, 4); \
	X4OUTM(Y18, X4, 2, 8); \
	X4OUTM(Y19, X4, 3, 12); \
	X4OUTM(Y20, X5, 0, 16); \
	X4OUTM(Y21, X5, 1, 20); \
	X4OUTM(Y22, X5, 2, 24); \
	X4OUTM(Y23, X5, 3, 28); \
	X4OUTM(Y24, X6, 0, 32); \
	X4OUTM(Y25, X6, 1, 36); \
	X4OUTM(Y26, X6, 2, 40); \
	X4OUTM(Y27, X6, 3, 44); \
	X4OUTM(Y28, X7, 0, 48); \
	X4OUTM(Y29, X7, 1, 52); \
	X4OUTM(Y30, X7, 2, 56); \
	X4OUTM(Y31, X7, 3, 60); \
	VZEROUPPER; \
	RET

// X4ACTS converts the four activation rows' x.d and forms their
// corrections (C the unsigned bytes in U).
#define X4ACTS(U) \
	X4XD(DI, Y8); \
	X4CORR(DI, U, Y4); \
	X4XD(R9, Y9); \
	X4CORR(R9, U, Y5); \
	X4XD(R11, Y10); \
	X4CORR(R11, U, Y6); \
	X4XD(R14, Y11); \
	X4CORR(R14, U, Y7)

// X4Q50W unpacks weight row P's Q5_0 block (d, qh at 2, qs at 6) into the
// 5-bit codes q+16 in Y2 and w.d in Y3.
#define X4Q50W(P) \
	X4WD(P); \
	X4NIBBLES(P, 6); \
	X4FIFTH(P, 2)

// func tileQ5_0x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)
TEXT ·tileQ5_0x4VNNIAsm(SB), NOSPLIT, $8-48
	X4SETUP
	X4FIFTHSETUP

x4q50loop:
	X4ACTS(Y14)
	X4Q50W(SI)
	X4ROW(X4PAIRN, 2, Y16, Y17, Y18, Y19)
	X4Q50W(BX)
	X4ROW(X4PAIRN, 2, Y20, Y21, Y22, Y23)
	X4Q50W(R12)
	X4ROW(X4PAIRN, 2, Y24, Y25, Y26, Y27)
	X4Q50W(R13)
	X4ROW(X4PAIRN, 2, Y28, Y29, Y30, Y31)
	X4NEXT(22, 34, x4q50loop)
	X4STORE

// X4IQ4W unpacks weight row P's IQ4_NL block (d, qs at 2) into codebook
// values + 128 in Y2 (Y14 = the shifted codebook) and w.d in Y3.
#define X4IQ4W(P) \
	X4WD(P); \
	X4NIBBLES(P, 2); \
	VPSHUFB Y2, Y14, Y2

// func tileIQ4_NLx4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)
TEXT ·tileIQ4_NLx4VNNIAsm(SB), NOSPLIT, $8-48
	X4SETUP
	VBROADCASTI128 x4IQ4NLU<>(SB), Y14
	VPBROADCASTQ x4Sign<>(SB), Y13

x4iq4loop:
	X4ACTS(Y13)
	X4IQ4W(SI)
	X4ROW(X4PAIRN, 2, Y16, Y17, Y18, Y19)
	X4IQ4W(BX)
	X4ROW(X4PAIRN, 2, Y20, Y21, Y22, Y23)
	X4IQ4W(R12)
	X4ROW(X4PAIRN, 2, Y24, Y25, Y26, Y27)
	X4IQ4W(R13)
	X4ROW(X4PAIRN, 2, Y28, Y29, Y30, Y31)
	X4NEXT(18, 34, x4iq4loop)
	X4STORE

// X4Q81ACTS converts the four Q8_1 activation rows' x.d and adds every
// weight row's m·s to its Σ m·s (first, as the dot does).
#define X4Q81ACTS \
	X4XD(DI, Y8); \
	X4XD(R9, Y9); \
	X4XD(R11, Y10); \
	X4XD(R14, Y11); \
	X4SGATHER; \
	X4SUMMS(SI, X4); \
	X4SUMMS(BX, X5); \
	X4SUMMS(R12, X6); \
	X4SUMMS(R13, X7)

// X4Q41W unpacks weight row P's Q4_1 block (d, m, qs at 4) into Y2, w.d
// into Y3.
#define X4Q41W(P) \
	X4WD(P); \
	X4NIBBLES(P, 4)

// func tileQ4_1x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)
TEXT ·tileQ4_1x4VNNIAsm(SB), NOSPLIT, $8-48
	X4SETUP
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

x4q41loop:
	X4Q81ACTS
	X4Q41W(SI)
	X4ROW(X4PAIRZ, 4, Y16, Y17, Y18, Y19)
	X4Q41W(BX)
	X4ROW(X4PAIRZ, 4, Y20, Y21, Y22, Y23)
	X4Q41W(R12)
	X4ROW(X4PAIRZ, 4, Y24, Y25, Y26, Y27)
	X4Q41W(R13)
	X4ROW(X4PAIRZ, 4, Y28, Y29, Y30, Y31)
	X4NEXT(20, 36, x4q41loop)
	X4STOREM

// X4Q51W unpacks weight row P's Q5_1 block (d, m, qh at 4, qs at 8) into
// the 5-bit codes in Y2, w.d into Y3.
#define X4Q51W(P) \
	X4WD(P); \
	X4NIBBLES(P, 8); \
	X4FIFTH(P, 4)

// func tileQ5_1x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, out *[16]float32)
TEXT ·tileQ5_1x4VNNIAsm(SB), NOSPLIT, $8-48
	X4SETUP
	X4FIFTHSETUP
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

x4q51loop:
	X4Q81ACTS
	X4Q51W(SI)
	X4ROW(X4PAIRZ, 4, Y16, Y17, Y18, Y19)
	X4Q51W(BX)
	X4ROW(X4PAIRZ, 4, Y20, Y21, Y22, Y23)
	X4Q51W(R12)
	X4ROW(X4PAIRZ, 4, Y24, Y25, Y26, Y27)
	X4Q51W(R13)
	X4ROW(X4PAIRZ, 4, Y28, Y29, Y30, Y31)
	X4NEXT(24, 36, x4q51loop)
	X4STOREM
