//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_1_q8_1, _q5_0_q8_0, _q5_1_q8_1,
// _iq4_nl_q8_0; bytes_from_nibbles_32, bytes_from_bits_32, hsum_float_8); ggml-common.h layouts.

#include "textflag.h"
#include "hsum_amd64.h"

// The Q4_1, Q5_0, Q5_1 and IQ4_NL dots of dot_legacy_lanes.go, with the
// operations of llama.cpp's AVX2 code: per block, the 32 weight quants as
// bytes (low nibbles 0..15, high nibbles 16..31; fifth bits spread to
// bytes by a shuffle, an OR and a compare), eight int32 sums of four
// products (VPMADDUBSW takes one unsigned operand: the unsigned quants of
// Q4_1/Q5_1 as they are, the signed ones as |w| against y·sign(w)), to
// float32, added to the lanes by one FMA with d = w.d·x.d; hsum_float_8's
// fold at the end.
//
// Registers (single-row dots): SI = weight block, DI = activation block,
// CX = blocks left, R8 = &fp16Table (the activations' x.d and s; the
// weights' w.d and m are converted by VCVTPH2PS from a word broadcast, the
// very values the table holds: spread over the 256 KiB table, and evicted
// from it by the streamed weights, their lookups miss); Y0 (and Y1 for IQ4_NL's odd
// blocks) = lanes; X2 = Σ m·s (Q4_1, Q5_1); Y4, Y5 = the block's quants,
// Y6 = the activations, then the scale; Y7 = the int32 sums; Y10 = bytes
// of 0xFF; Y11 = the bit-select mask; Y12 = the bit-spreading shuffle;
// Y13 = words of 1; Y14 = 0xF0 / 0x10 bytes or the IQ4_NL codebook;
// Y15 = bytes of 0x0F.
//
// Each function is a body macro instantiated twice: with PAIRS_AVX2 and,
// for CPUs with AVX512-VNNI (vnniOK), with PAIRS_VNNI.

DATA llNibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL llNibble<>(SB), RODATA|NOPTR, $8
DATA llOnes<>+0(SB)/8, $0x0001000100010001
GLOBL llOnes<>(SB), RODATA|NOPTR, $8
DATA llHiF0<>+0(SB)/8, $0xf0f0f0f0f0f0f0f0
GLOBL llHiF0<>(SB), RODATA|NOPTR, $8
DATA llBit4<>+0(SB)/8, $0x1010101010101010
GLOBL llBit4<>(SB), RODATA|NOPTR, $8
// Byte i of the mask has every bit set but bit i%8 (bytes_from_bits_32).
DATA llBitSel<>+0(SB)/8, $0x7fbfdfeff7fbfdfe
GLOBL llBitSel<>(SB), RODATA|NOPTR, $8
// Byte i of the spread takes byte i/8 of the broadcast qh.
DATA llSpread<>+0(SB)/8, $0x0000000000000000
DATA llSpread<>+8(SB)/8, $0x0101010101010101
DATA llSpread<>+16(SB)/8, $0x0202020202020202
DATA llSpread<>+24(SB)/8, $0x0303030303030303
GLOBL llSpread<>(SB), RODATA|NOPTR, $32
// IQ4_NL's codebook (kernel.IQ4NLValues) as 16 int8.
DATA llIQ4NL<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA llIQ4NL<>+8(SB)/8, $0x7159453526190d01
GLOBL llIQ4NL<>(SB), RODATA|NOPTR, $16

// NIBBLES leaves the 32 nibbles of the 16 bytes at off(R) in Y4 as bytes
// 0..15 (low nibbles) and 16..31 (high nibbles); clobbers X5.
#define NIBBLES(R, off) \
	VMOVDQU off(R), X4; \
	VPSRLW $4, X4, X5; \
	VINSERTI128 $1, X5, Y4, Y4; \
	VPAND Y15, Y4, Y4

// FIFTHBITS leaves in Y5 byte i = 0xFF where bit i of the uint32 at off(R)
// is set, else 0.
#define FIFTHBITS(R, off) \
	VPBROADCASTD off(R), Y5; \
	VPSHUFB Y12, Y5, Y5; \
	VPOR Y11, Y5, Y5; \
	VPCMPEQB Y10, Y5, Y5

// PAIRS_AVX2 and PAIRS_VNNI leave in D the eight int32 sums of four
// products of the unsigned bytes U and the signed bytes S (D apart from
// both): VPMADDUBSW's pairs (at most 2·128·127 < 2¹⁵, never saturated
// here) added by VPMADDWD with words of 1 (Y13), or one VPDPBUSD
// (AVX512-VNNI with VL), as llama.cpp's mul_sum_us8_pairs_float does on
// either kind of CPU. The sums are exact both ways, so the two give the
// same bits.
#define PAIRS_AVX2(U, S, D) \
	VPMADDUBSW S, U, D; \
	VPMADDWD Y13, D, D

#define PAIRS_VNNI(U, S, D) \
	VPXOR D, D, D; \
	VPDPBUSD S, U, D

// USUMS turns the unsigned quants in Y4 times the int8 activations at
// off(DI) into eight float32 sums of four products in Y4; clobbers Y6, Y7.
#define USUMS(off, PAIRS) \
	VMOVDQU off(DI), Y6; \
	PAIRS(Y4, Y6, Y7); \
	VCVTDQ2PS Y7, Y4

// SISUMS is USUMS for signed quants in Y4 (none is −128): |w| against
// y·sign(w), the int32 sums left in Y7.
#define SISUMS(off, PAIRS) \
	VMOVDQU off(DI), Y6; \
	VPSIGNB Y4, Y6, Y6; \
	VPABSB Y4, Y4; \
	PAIRS(Y4, Y6, Y7)

// SCALEFMA adds Y4 times w.d·x.d (halves at wd, xd) to the lanes A;
// clobbers BX, Y6.
#define SCALEFMA(wd, xd, A) \
	VPBROADCASTW wd, X6; \
	VCVTPH2PS X6, X6; \
	MOVWLZX xd, BX; \
	VMULSS (R8)(BX*4), X6, X6; \
	VBROADCASTSS X6, Y6; \
	VFMADD231PS Y4, Y6, A

// SUMMS adds m·s (halves at 2(SI) and 2(DI)) to X2 by one FMA; clobbers
// BX, X7.
#define SUMMS \
	VPBROADCASTW 2(SI), X7; \
	VCVTPH2PS X7, X7; \
	MOVWLZX 2(DI), BX; \
	VFMADD231SS (R8)(BX*4), X7, X2

// LLCONST loads the constants every dot uses.
#define LLCONST \
	VPBROADCASTQ llNibble<>(SB), Y15; \
	VPBROADCASTQ llOnes<>(SB), Y13; \
	MOVQ ·fp16Table(SB), R8; \
	VXORPS Y0, Y0, Y0

// BITCONST loads the fifth-bit constants.
#define BITCONST \
	VMOVDQU llSpread<>(SB), Y12; \
	VPBROADCASTQ llBitSel<>(SB), Y11; \
	VPCMPEQB Y10, Y10, Y10

// Q41BODY is the loop of dotQ4_1Asm (Q4_1 × Q8_1) with the pair sums PAIRS.
#define Q41BODY(PAIRS, L) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	LLCONST; \
	VXORPS X2, X2, X2; \
L: ; \
	SUMMS; \
	NIBBLES(SI, 4); \
	USUMS(4, PAIRS); \
	SCALEFMA((SI), (DI), Y0); \
	ADDQ $20, SI; \
	ADDQ $36, DI; \
	DECQ CX; \
	JNZ  L; \
	HSUM8; \
	VADDSS X2, X0, X0; \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

// func dotQ4_1Asm(nb int, w, x *byte) float32
//
// SI = &w block (20 bytes: d, m, qs); DI = &x block (36 bytes: d, s, qs);
// X2 = Σ m·s, added after the fold as in llama.cpp.
TEXT ·dotQ4_1Asm(SB), NOSPLIT, $0-28
	Q41BODY(PAIRS_AVX2, q41loop)

// func dotQ4_1VNNIAsm(nb int, w, x *byte) float32
TEXT ·dotQ4_1VNNIAsm(SB), NOSPLIT, $0-28
	Q41BODY(PAIRS_VNNI, q41vloop)

// Q51BODY is the loop of dotQ5_1Asm (Q5_1 × Q8_1): Q41BODY with the fifth
// bits (0x10 where set) or-ed into the nibbles.
#define Q51BODY(PAIRS, L) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	LLCONST; \
	BITCONST; \
	VPBROADCASTQ llBit4<>(SB), Y14; \
	VXORPS X2, X2, X2; \
L: ; \
	SUMMS; \
	NIBBLES(SI, 8); \
	FIFTHBITS(SI, 4); \
	VPAND Y14, Y5, Y5; \
	VPOR Y5, Y4, Y4; \
	USUMS(4, PAIRS); \
	SCALEFMA((SI), (DI), Y0); \
	ADDQ $24, SI; \
	ADDQ $36, DI; \
	DECQ CX; \
	JNZ  L; \
	HSUM8; \
	VADDSS X2, X0, X0; \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

// func dotQ5_1Asm(nb int, w, x *byte) float32
//
// SI = &w block (24 bytes: d, m, qh, qs); DI = &x block (36 bytes).
TEXT ·dotQ5_1Asm(SB), NOSPLIT, $0-28
	Q51BODY(PAIRS_AVX2, q51loop)

// func dotQ5_1VNNIAsm(nb int, w, x *byte) float32
TEXT ·dotQ5_1VNNIAsm(SB), NOSPLIT, $0-28
	Q51BODY(PAIRS_VNNI, q51vloop)

// Q50BODY is the loop of dotQ5_0Asm (Q5_0 × Q8_0): quants q−16 as int8
// (0xF0 or-ed in where the fifth bit is clear), signed pair sums.
#define Q50BODY(PAIRS, L) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	LLCONST; \
	BITCONST; \
	VPBROADCASTQ llHiF0<>(SB), Y14; \
L: ; \
	NIBBLES(SI, 6); \
	FIFTHBITS(SI, 2); \
	VPANDN Y14, Y5, Y5; \
	VPOR Y5, Y4, Y4; \
	SISUMS(2, PAIRS); \
	VCVTDQ2PS Y7, Y4; \
	SCALEFMA((SI), (DI), Y0); \
	ADDQ $22, SI; \
	ADDQ $34, DI; \
	DECQ CX; \
	JNZ  L; \
	HSUM8; \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

// func dotQ5_0Asm(nb int, w, x *byte) float32
//
// SI = &w block (22 bytes: d, qh, qs); DI = &x block (34 bytes: d, qs).
TEXT ·dotQ5_0Asm(SB), NOSPLIT, $0-28
	Q50BODY(PAIRS_AVX2, q50loop)

// func dotQ5_0VNNIAsm(nb int, w, x *byte) float32
TEXT ·dotQ5_0VNNIAsm(SB), NOSPLIT, $0-28
	Q50BODY(PAIRS_VNNI, q50vloop)

// IQ4NL leaves the codebook values of the IQ4_NL block at (SI) in Y4.
#define IQ4NL \
	NIBBLES(SI, 2); \
	VPSHUFB Y4, Y14, Y4

// IQ4BLOCK adds the IQ4_NL block at (SI) times the Q8_0 block at (DI) to
// the lanes A and moves both pointers on.
#define IQ4BLOCK(PAIRS, A) \
	IQ4NL; \
	SISUMS(2, PAIRS); \
	VCVTDQ2PS Y7, Y4; \
	SCALEFMA((SI), (DI), A); \
	ADDQ $18, SI; \
	ADDQ $34, DI

// IQ4BODY is the loop of dotIQ4_NLAsm: even blocks into Y0, odd blocks
// into Y1, a last odd block added alone as float32(d·float32(Σ)) after the
// fold (ggml_vec_dot_iq4_nl_q8_0).
#define IQ4BODY(PAIRS, L, F, D) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	LLCONST; \
	VBROADCASTI128 llIQ4NL<>(SB), Y14; \
	VXORPS Y1, Y1, Y1; \
L: ; \
	CMPQ CX, $2; \
	JLT  F; \
	IQ4BLOCK(PAIRS, Y0); \
	IQ4BLOCK(PAIRS, Y1); \
	SUBQ $2, CX; \
	JMP  L; \
F: ; \
	VADDPS Y1, Y0, Y0; \
	HSUM8; \
	TESTQ CX, CX; \
	JEQ   D; \
	IQ4NL; \
	SISUMS(2, PAIRS); \
	VEXTRACTI128 $1, Y7, X5; \
	VPADDD X5, X7, X4; \
	VPSHUFD $0x4E, X4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0xB1, X4, X5; \
	VPADDD X5, X4, X4; \
	VCVTDQ2PS X4, X4; \
	VPBROADCASTW (SI), X6; \
	VCVTPH2PS X6, X6; \
	MOVWLZX (DI), BX; \
	VMULSS (R8)(BX*4), X6, X6; \
	VMULSS X6, X4, X4; \
	VADDSS X4, X0, X0; \
D: ; \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

// func dotIQ4_NLAsm(nb int, w, x *byte) float32
//
// SI = &w block (18 bytes: d, qs); DI = &x block (34 bytes: d, qs).
TEXT ·dotIQ4_NLAsm(SB), NOSPLIT, $0-28
	IQ4BODY(PAIRS_AVX2, iq4loop, iq4fold, iq4done)

// func dotIQ4_NLVNNIAsm(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLVNNIAsm(SB), NOSPLIT, $0-28
	IQ4BODY(PAIRS_VNNI, iq4vloop, iq4vfold, iq4vdone)

// IQ4TBBODY is the loop of dotIQ4_NLTBAsm: tinyBLAS's order, every block
// into Y0.
#define IQ4TBBODY(PAIRS, L) \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	LLCONST; \
	VBROADCASTI128 llIQ4NL<>(SB), Y14; \
L: ; \
	IQ4BLOCK(PAIRS, Y0); \
	DECQ CX; \
	JNZ  L; \
	HSUM8; \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

// func dotIQ4_NLTBAsm(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLTBAsm(SB), NOSPLIT, $0-28
	IQ4TBBODY(PAIRS_AVX2, iq4tbloop)

// func dotIQ4_NLTBVNNIAsm(nb int, w, x *byte) float32
TEXT ·dotIQ4_NLTBVNNIAsm(SB), NOSPLIT, $0-28
	IQ4TBBODY(PAIRS_VNNI, iq4tbvloop)
