//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_1_q8_1, _q5_0_q8_0, _q5_1_q8_1)
// and llamafile/sgemm.cpp (tinyBLAS_Q0_AVX for IQ4_NL), here for four activation rows.

#include "textflag.h"

// 1×4 tiles of the lane-order dots (dot_legacy_lanes_amd64.s): each of the
// four products gets exactly the operations of its single dot (for IQ4_NL,
// of dotIQ4_NLTBAsm, tinyBLAS's order, which MatMul uses for batches), so
// the results are bit for bit those of four dots. Shared by the rows:
// unpacking the weight block (nibbles, fifth bits, codebook, |w|) and
// converting w.d (and m).
//
// Registers: SI = w block; DI, R9, R10, R11 = the rows' blocks (xStride
// apart); CX = blocks left; R8 = &fp16Table (x.d, s); Y0..Y3 = the rows' lanes;
// X8 = the rows' Σ m·s, lane j = row j (Q4_1, Q5_1: a lane-wise FMA rounds
// each lane once, as the single dot's scalar FMA); Y4 = the quants; Y5 =
// |w| (signed types) or a temporary; Y6, Y7 = temporaries; X9 = w.d;
// Y11 = the bit-select mask; Y12 = the bit-spreading shuffle; Y13 = 0xF0 /
// 0x10 bytes or the IQ4_NL codebook; Y14 = words of 1; Y15 = bytes of 0x0F.

DATA tlNibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL tlNibble<>(SB), RODATA|NOPTR, $8
DATA tlOnes<>+0(SB)/8, $0x0001000100010001
GLOBL tlOnes<>(SB), RODATA|NOPTR, $8
DATA tlHiF0<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL tlHiF0<>(SB), RODATA|NOPTR, $8
DATA tlBit4<>+0(SB)/8, $0x1010101010101010
GLOBL tlBit4<>(SB), RODATA|NOPTR, $8
// Byte i of the mask is bit i%8 alone.
DATA tlBitOne<>+0(SB)/8, $0x8040201008040201
GLOBL tlBitOne<>(SB), RODATA|NOPTR, $8
DATA tlSpread<>+0(SB)/8, $0x0000000000000000
DATA tlSpread<>+8(SB)/8, $0x0101010101010101
DATA tlSpread<>+16(SB)/8, $0x0202020202020202
DATA tlSpread<>+24(SB)/8, $0x0303030303030303
GLOBL tlSpread<>(SB), RODATA|NOPTR, $32
DATA tlIQ4NL<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA tlIQ4NL<>+8(SB)/8, $0x7159453526190d01
GLOBL tlIQ4NL<>(SB), RODATA|NOPTR, $16

// TNIBBLES leaves the 32 nibbles at off(SI) in Y4 (low nibbles, then high).
#define TNIBBLES(off) \
	VMOVDQU off(SI), X4; \
	VPSRLW $4, X4, X5; \
	VINSERTI128 $1, X5, Y4, Y4; \
	VPAND Y15, Y4, Y4

// TBITS leaves in Y5 byte i = 0xFF where bit i of the uint32 at off(SI) is
// set, else 0 (the same bytes as bytes_from_bits_32).
#define TBITS(off) \
	VPBROADCASTD off(SI), Y5; \
	VPSHUFB Y12, Y5, Y5; \
	VPAND Y11, Y5, Y5; \
	VPCMPEQB Y11, Y5, Y5

// TWD leaves FP16ToFP32(w.d) in X9, by VCVTPH2PS (fp16Table's value; the
// weights' scales, spread over the 256 KiB table and evicted from it by
// the streamed weights, miss there).
#define TWD \
	VPBROADCASTW (SI), X9; \
	VCVTPH2PS X9, X9

// TSCALE adds the float32 sums in Y6 times w.d·x.d (x.d at (P)) to A.
#define TSCALE(P, A) \
	MOVWLZX (P), AX; \
	VMULSS (R8)(AX*4), X9, X7; \
	VBROADCASTSS X7, Y7; \
	VFMADD231PS Y6, Y7, A

// TPAIRS_AVX2 and TPAIRS_VNNI leave in D the eight int32 sums of four
// products of the unsigned bytes U and the signed bytes S (D apart from
// both), as PAIRS_AVX2 and PAIRS_VNNI of dot_legacy_lanes_amd64.s (words
// of 1 in Y14 here): the same exact sums.
#define TPAIRS_AVX2(U, S, D) \
	VPMADDUBSW S, U, D; \
	VPMADDWD Y14, D, D

#define TPAIRS_VNNI(U, S, D) \
	VPXOR D, D, D; \
	VPDPBUSD S, U, D

// TUROW adds row P's block (quants at xo(P)) to A for unsigned quants in Y4.
#define TUROW(P, xo, A, PAIRS) \
	VMOVDQU xo(P), Y6; \
	PAIRS(Y4, Y6, Y7); \
	VCVTDQ2PS Y7, Y6; \
	TSCALE(P, A)

// TSROW adds row P's block (quants at xo(P)) to A for signed quants in Y4
// with |w| in Y5.
#define TSROW(P, xo, A, PAIRS) \
	VMOVDQU xo(P), Y6; \
	VPSIGNB Y4, Y6, Y6; \
	PAIRS(Y5, Y6, Y7); \
	VCVTDQ2PS Y7, Y6; \
	TSCALE(P, A)

// TSUMMS adds m·s of the four rows to X8's lanes (m at 2(SI), s at 2(row)).
#define TSUMMS \
	MOVWLZX 2(DI), AX; \
	VMOVSS (R8)(AX*4), X5; \
	MOVWLZX 2(R9), AX; \
	VINSERTPS $0x10, (R8)(AX*4), X5, X5; \
	MOVWLZX 2(R10), AX; \
	VINSERTPS $0x20, (R8)(AX*4), X5, X5; \
	MOVWLZX 2(R11), AX; \
	VINSERTPS $0x30, (R8)(AX*4), X5, X5; \
	VPBROADCASTW 2(SI), X6; \
	VCVTPH2PS X6, X6; \
	VFMADD231PS X5, X6, X8

// TOUT folds A's lanes as hsum_float_8 into X5's low lane; clobbers X6.
#define TOUT(A, XA) \
	VEXTRACTF128 $1, A, X5; \
	VADDPS XA, X5, X5; \
	VMOVHLPS X5, X5, X6; \
	VADDPS X6, X5, X5; \
	VMOVSHDUP X5, X6; \
	VADDSS X6, X5, X5

// TSTORE stores X5 to out[j].
#define TSTORE(j) \
	VMOVSS X5, (4*j)(DX)

// TSTOREM stores X5 plus lane j of X8 (Σ m·s of row j) to out[j].
#define TSTOREM(j) \
	VPSHUFD $j, X8, X6; \
	VADDSS X6, X5, X5; \
	VMOVSS X5, (4*j)(DX)

// TSETUP loads the arguments and the constants every tile uses.
#define TSETUP \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ xStride+24(FP), DX; \
	LEAQ (DI)(DX*1), R9; \
	LEAQ (R9)(DX*1), R10; \
	LEAQ (R10)(DX*1), R11; \
	MOVQ ·fp16Table(SB), R8; \
	VPBROADCASTQ tlNibble<>(SB), Y15; \
	VPBROADCASTQ tlOnes<>(SB), Y14; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS X8, X8, X8

// TBITSETUP loads the fifth-bit constants.
#define TBITSETUP \
	VMOVDQU tlSpread<>(SB), Y12; \
	VPBROADCASTQ tlBitOne<>(SB), Y11

// TNEXT moves every pointer on by one block of wb (weights) and xb
// (activations) bytes and loops to L while blocks are left.
#define TNEXT(wb, xb, L) \
	ADDQ $wb, SI; \
	ADDQ $xb, DI; \
	ADDQ $xb, R9; \
	ADDQ $xb, R10; \
	ADDQ $xb, R11; \
	DECQ CX; \
	JNZ  L

// TOUTM stores the four rows' lanes folded, plus their Σ m·s (X8).
#define TOUTM \
	MOVQ out+32(FP), DX; \
	TOUT(Y0, X0); \
	TSTOREM(0); \
	TOUT(Y1, X1); \
	TSTOREM(1); \
	TOUT(Y2, X2); \
	TSTOREM(2); \
	TOUT(Y3, X3); \
	TSTOREM(3); \
	VZEROUPPER; \
	RET

// TOUT4 stores the four rows' lanes folded.
#define TOUT4 \
	MOVQ out+32(FP), DX; \
	TOUT(Y0, X0); \
	TSTORE(0); \
	TOUT(Y1, X1); \
	TSTORE(1); \
	TOUT(Y2, X2); \
	TSTORE(2); \
	TOUT(Y3, X3); \
	TSTORE(3); \
	VZEROUPPER; \
	RET

// TQ41BODY is tileQ4_1Asm's loop: Σ m·s first (as in the dot), then the
// nibbles against the four rows.
#define TQ41BODY(PAIRS, L) \
	TSETUP; \
L: ; \
	TSUMMS; \
	TWD; \
	TNIBBLES(4); \
	TUROW(DI, 4, Y0, PAIRS); \
	TUROW(R9, 4, Y1, PAIRS); \
	TUROW(R10, 4, Y2, PAIRS); \
	TUROW(R11, 4, Y3, PAIRS); \
	TNEXT(20, 36, L); \
	TOUTM

// func tileQ4_1Asm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ4_1Asm(SB), NOSPLIT, $0-40
	TQ41BODY(TPAIRS_AVX2, tq41loop)

// func tileQ4_1VNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ4_1VNNIAsm(SB), NOSPLIT, $0-40
	TQ41BODY(TPAIRS_VNNI, tq41vloop)

// TQ51BODY is tileQ5_1Asm's loop: TQ41BODY with the fifth bits.
#define TQ51BODY(PAIRS, L) \
	TSETUP; \
	TBITSETUP; \
	VPBROADCASTQ tlBit4<>(SB), Y13; \
L: ; \
	TSUMMS; \
	TWD; \
	TNIBBLES(8); \
	TBITS(4); \
	VPAND Y13, Y5, Y5; \
	VPOR Y5, Y4, Y4; \
	TUROW(DI, 4, Y0, PAIRS); \
	TUROW(R9, 4, Y1, PAIRS); \
	TUROW(R10, 4, Y2, PAIRS); \
	TUROW(R11, 4, Y3, PAIRS); \
	TNEXT(24, 36, L); \
	TOUTM

// func tileQ5_1Asm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ5_1Asm(SB), NOSPLIT, $0-40
	TQ51BODY(TPAIRS_AVX2, tq51loop)

// func tileQ5_1VNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ5_1VNNIAsm(SB), NOSPLIT, $0-40
	TQ51BODY(TPAIRS_VNNI, tq51vloop)

// TQ50BODY is tileQ5_0Asm's loop: q−16 as int8, |q−16| once for the rows.
#define TQ50BODY(PAIRS, L) \
	TSETUP; \
	TBITSETUP; \
	VPBROADCASTQ tlHiF0<>(SB), Y13; \
L: ; \
	TWD; \
	TNIBBLES(6); \
	TBITS(2); \
	VPANDN Y13, Y5, Y5; \
	VPOR Y5, Y4, Y4; \
	VPABSB Y4, Y5; \
	TSROW(DI, 2, Y0, PAIRS); \
	TSROW(R9, 2, Y1, PAIRS); \
	TSROW(R10, 2, Y2, PAIRS); \
	TSROW(R11, 2, Y3, PAIRS); \
	TNEXT(22, 34, L); \
	TOUT4

// func tileQ5_0Asm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ5_0Asm(SB), NOSPLIT, $0-40
	TQ50BODY(TPAIRS_AVX2, tq50loop)

// func tileQ5_0VNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ5_0VNNIAsm(SB), NOSPLIT, $0-40
	TQ50BODY(TPAIRS_VNNI, tq50vloop)

// TIQ4BODY is tileIQ4_NLAsm's loop: codebook values, |w| once for the rows.
#define TIQ4BODY(PAIRS, L) \
	TSETUP; \
	VBROADCASTI128 tlIQ4NL<>(SB), Y13; \
L: ; \
	TWD; \
	TNIBBLES(2); \
	VPSHUFB Y4, Y13, Y4; \
	VPABSB Y4, Y5; \
	TSROW(DI, 2, Y0, PAIRS); \
	TSROW(R9, 2, Y1, PAIRS); \
	TSROW(R10, 2, Y2, PAIRS); \
	TSROW(R11, 2, Y3, PAIRS); \
	TNEXT(18, 34, L); \
	TOUT4

// func tileIQ4_NLAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileIQ4_NLAsm(SB), NOSPLIT, $0-40
	TIQ4BODY(TPAIRS_AVX2, tiq4loop)

// func tileIQ4_NLVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileIQ4_NLVNNIAsm(SB), NOSPLIT, $0-40
	TIQ4BODY(TPAIRS_VNNI, tiq4vloop)
