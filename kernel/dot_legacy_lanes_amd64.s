//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_1_q8_1, _q5_0_q8_0, _q5_1_q8_1,
// _iq4_nl_q8_0; bytes_from_nibbles_32, bytes_from_bits_32, hsum_float_8); ggml-common.h layouts.

#include "textflag.h"

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
// CX = blocks left, R8 = &fp16Table (w.d·x.d by two loads and a
// multiply: the very values VCVTPH2PS gives); Y0 (and Y1 for IQ4_NL's odd
// blocks) = lanes; X2 = Σ m·s (Q4_1, Q5_1); Y4, Y5 = the block's quants,
// Y6 = the activations, then the scale; Y10 = bytes of 0xFF; Y11 = the
// bit-select mask; Y12 = the bit-spreading shuffle; Y13 = words of 1;
// Y14 = 0xF0 / 0x10 bytes or the IQ4_NL codebook; Y15 = bytes of 0x0F.

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

// USUMS turns the unsigned quants in Y4 times the int8 activations at
// off(DI) into eight float32 sums of four products in Y4 (pairs at most
// 2·31·128 < 2¹⁵).
#define USUMS(off) \
	VMOVDQU off(DI), Y6; \
	VPMADDUBSW Y6, Y4, Y4; \
	VPMADDWD Y13, Y4, Y4; \
	VCVTDQ2PS Y4, Y4

// SISUMS is USUMS for signed quants in Y4 (none is −128): |w| against
// y·sign(w), then the int32 sums, left as integers.
#define SISUMS(off) \
	VMOVDQU off(DI), Y6; \
	VPSIGNB Y4, Y6, Y6; \
	VPABSB Y4, Y4; \
	VPMADDUBSW Y6, Y4, Y4; \
	VPMADDWD Y13, Y4, Y4

// SCALEFMA adds Y4 times w.d·x.d (halves at wd, xd) to the lanes A;
// clobbers AX, BX, Y6.
#define SCALEFMA(wd, xd, A) \
	MOVWLZX wd, AX; \
	MOVWLZX xd, BX; \
	VMOVSS (R8)(AX*4), X6; \
	VMULSS (R8)(BX*4), X6, X6; \
	VBROADCASTSS X6, Y6; \
	VFMADD231PS Y4, Y6, A

// SUMMS adds m·s (halves at 2(SI) and 2(DI)) to X2 by one FMA; clobbers
// AX, BX, X7.
#define SUMMS \
	MOVWLZX 2(SI), AX; \
	MOVWLZX 2(DI), BX; \
	VMOVSS (R8)(AX*4), X7; \
	VFMADD231SS (R8)(BX*4), X7, X2

// HSUM leaves the sum of Y0's lanes in X0's low lane as hsum_float_8:
// ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)); clobbers X1.
#define HSUM \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0

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

// func dotQ4_1Asm(nb int, w, x *byte) float32
TEXT ·dotQ4_1Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (20 bytes: d, m, qs)
	MOVQ x+16(FP), DI                 // DI = &x block (36 bytes: d, s, qs)
	LLCONST
	VXORPS X2, X2, X2                 // X2 = Σ m·s

q41loop:
	SUMMS                             // summs = fma(m, s, summs)
	NIBBLES(SI, 4)                    // Y4 = q (0..15)
	USUMS(4)                          // Y4 = float32(Σ4 q·y)
	SCALEFMA((SI), (DI), Y0)          // lanes += w.d·x.d · Y4
	ADDQ $20, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  q41loop

	HSUM
	VADDSS X2, X0, X0                 // hsum + summs
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_1Asm(nb int, w, x *byte) float32
TEXT ·dotQ5_1Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (24 bytes: d, m, qh, qs)
	MOVQ x+16(FP), DI                 // DI = &x block (36 bytes: d, s, qs)
	LLCONST
	BITCONST
	VPBROADCASTQ llBit4<>(SB), Y14    // Y14 = 0x10 bytes
	VXORPS X2, X2, X2                 // X2 = Σ m·s

q51loop:
	SUMMS                             // summs = fma(m, s, summs)
	NIBBLES(SI, 8)                    // Y4 = low four bits
	FIFTHBITS(SI, 4)                  // Y5 = 0xFF where the fifth bit is set
	VPAND Y14, Y5, Y5
	VPOR Y5, Y4, Y4                   // Y4 = q (0..31)
	USUMS(4)
	SCALEFMA((SI), (DI), Y0)
	ADDQ $24, SI
	ADDQ $36, DI
	DECQ CX
	JNZ  q51loop

	HSUM
	VADDSS X2, X0, X0                 // hsum + summs
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_0Asm(nb int, w, x *byte) float32
TEXT ·dotQ5_0Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (22 bytes: d, qh, qs)
	MOVQ x+16(FP), DI                 // DI = &x block (34 bytes: d, qs)
	LLCONST
	BITCONST
	VPBROADCASTQ llHiF0<>(SB), Y14    // Y14 = 0xF0 bytes

q50loop:
	NIBBLES(SI, 6)                    // Y4 = low four bits
	FIFTHBITS(SI, 2)
	VPANDN Y14, Y5, Y5                // 0xF0 where the fifth bit is clear
	VPOR Y5, Y4, Y4                   // Y4 = q−16 as int8 (−16..15)
	SISUMS(2)
	VCVTDQ2PS Y4, Y4
	SCALEFMA((SI), (DI), Y0)
	ADDQ $22, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  q50loop

	HSUM
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// IQ4NL leaves the codebook values of the IQ4_NL block at (SI) in Y4.
#define IQ4NL \
	NIBBLES(SI, 2); \
	VPSHUFB Y4, Y14, Y4

// func dotIQ4_NLAsm(nb int, w, x *byte) float32
//
// Even blocks into Y0, odd blocks into Y1, a last odd block added alone as
// float32(d·float32(Σ)) after the fold (ggml_vec_dot_iq4_nl_q8_0).
TEXT ·dotIQ4_NLAsm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (18 bytes: d, qs)
	MOVQ x+16(FP), DI                 // DI = &x block (34 bytes: d, qs)
	LLCONST
	VBROADCASTI128 llIQ4NL<>(SB), Y14 // Y14 = codebook in both halves
	VXORPS Y1, Y1, Y1

iq4loop2:
	CMPQ CX, $2
	JLT  iq4fold
	IQ4NL
	SISUMS(2)
	VCVTDQ2PS Y4, Y4
	SCALEFMA((SI), (DI), Y0)          // block i into Y0
	ADDQ $18, SI
	ADDQ $34, DI
	IQ4NL
	SISUMS(2)
	VCVTDQ2PS Y4, Y4
	SCALEFMA((SI), (DI), Y1)          // block i+1 into Y1
	ADDQ $18, SI
	ADDQ $34, DI
	SUBQ $2, CX
	JMP  iq4loop2

iq4fold:
	VADDPS Y1, Y0, Y0                 // lane by lane, then the fold
	HSUM
	TESTQ CX, CX
	JEQ   iq4done
	IQ4NL                             // the last block: its exact Σ
	SISUMS(2)
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0x4E, X4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0xB1, X4, X5
	VPADDD X5, X4, X4
	VCVTDQ2PS X4, X4                  // float32(Σ)
	MOVWLZX (SI), AX
	MOVWLZX (DI), BX
	VMOVSS (R8)(AX*4), X6
	VMULSS (R8)(BX*4), X6, X6         // d = w.d·x.d
	VMULSS X6, X4, X4                 // float32(d·Σ)
	VADDSS X4, X0, X0

iq4done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotIQ4_NLTBAsm(nb int, w, x *byte) float32
//
// tinyBLAS's order: every block into Y0.
TEXT ·dotIQ4_NLTBAsm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (18 bytes: d, qs)
	MOVQ x+16(FP), DI                 // DI = &x block (34 bytes: d, qs)
	LLCONST
	VBROADCASTI128 llIQ4NL<>(SB), Y14 // Y14 = codebook in both halves

iq4tbloop:
	IQ4NL
	SISUMS(2)
	VCVTDQ2PS Y4, Y4
	SCALEFMA((SI), (DI), Y0)
	ADDQ $18, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  iq4tbloop

	HSUM
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
