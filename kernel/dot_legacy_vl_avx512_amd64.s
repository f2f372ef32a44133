//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD, KMOVD, masked VPSUBB, VBROADCASTI32X4, VPSRLVQ, VCVTPH2PS,
// embedded broadcast); ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_1_q8_1, _q5_0_q8_0,
// _q5_1_q8_1, _iq4_nl_q8_0, _q8_0_q8_0: the lane order kept here); ggml-common.h block layouts.

#include "textflag.h"
#include "hsum_amd64.h"

// The one-row Q4_1, Q5_0, Q5_1, IQ4_NL and Q8_0 dots of dot_legacy_lanes_amd64.s
// and legacy_avx512_amd64.s, every float operation the same and in the
// same order, with fewer vector operations and table lookups per block
// from AVX-512 (256-bit registers only):
//
//   - the weight block's scale w.d (and Q4_1's m) by VCVTPH2PS from a word
//     broadcast of the block's own half, not looked up in the 256 KiB fp16
//     table: the weights' scales are spread over the table, and in a decode
//     step the streamed weights evict it (the activation row's x.d and s,
//     the same for every weight row, stay looked up). The values are the
//     table's, NaN payloads included;
//   - w.d·x.d: that broadcast times x.d as the multiply's embedded
//     broadcast, in place of a load, VMULSS and VBROADCASTSS (the same
//     single rounding of the same two floats);
//   - the nibbles: one broadcast load puts the 16 bytes in both 128-bit
//     lanes, one VPSRLVQ shifts the high lane by 4 (a broadcast load needs
//     no shuffle port; VPSRLW+VINSERTI128 took two operations);
//   - Q5_0's fifth bits: the qh word straight into a mask register (bit i
//     of qh is the bit of byte i of the unpacked block) and two masked byte
//     subtractions, |w| = 16−nibble and −y where the bit is clear (w =
//     nibble−16 < 0), in place of the shuffle, OR, compare, ANDN, OR,
//     VPSIGNB and VPABSB of bytes_from_bits_32 and the sign trick;
//   - Q5_1's fifth bits likewise into a mask register, 16 added by one
//     masked VPADDB;
//   - Q4_1's and Q5_1's activation halves (d, s) by one 32-bit load.
//
// The integer lane sums stay exact and equal to the AVX2 code's: |w|
// against y·sign(w) is VPSIGNB's product for every w ≠ 0, and where w = 0
// both are zero, for every activation byte, −128 included.
//
// On Zen 4 a ZMM operation takes a 256-bit pipe twice; a form that
// unpacked two blocks per ZMM register measured slower than these
// (docs/performance.md), so one block per YMM register it is.
//
// Registers: SI = weight block, DI = activation block, CX = blocks left
// minus 2, R8 = &fp16Table; Y0 (and Y1, IQ4_NL's odd blocks) = lanes; Y4
// = quants, then the float sums; Y6 = activations; Y7 = int32 sums; Y8 =
// scale; X2 = Σ m·s (Q4_1, Q5_1); Y11 = IQ4_NL codebook; Y12 = zero; Y13 =
// bytes of 16; Y14 = quadword shifts (0, 0, 4, 4); Y15 = bytes of 0x0F;
// K1 = w < 0.

DATA vlNibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL vlNibble<>(SB), RODATA|NOPTR, $8
DATA vlSixteen<>+0(SB)/8, $0x1010101010101010
GLOBL vlSixteen<>(SB), RODATA|NOPTR, $8
// Quadword shifts: 0 for the low lane (low nibbles), 4 for the high lane.
DATA vlShift<>+0(SB)/8, $0
DATA vlShift<>+8(SB)/8, $0
DATA vlShift<>+16(SB)/8, $4
DATA vlShift<>+24(SB)/8, $4
GLOBL vlShift<>(SB), RODATA|NOPTR, $32
// IQ4_NL's codebook (kernel.IQ4NLValues) as 16 int8.
DATA vlIQ4NL<>+0(SB)/8, $0xf6eaddcfbfad9881
DATA vlIQ4NL<>+8(SB)/8, $0x7159453526190d01
GLOBL vlIQ4NL<>(SB), RODATA|NOPTR, $16

// VLSETUP loads the arguments and constants and zeroes the lanes.
#define VLSETUP \
	MOVQ nb+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ ·fp16Table(SB), R8; \
	VPBROADCASTQ vlNibble<>(SB), Y15; \
	VMOVDQU vlShift<>(SB), Y14; \
	VPBROADCASTQ vlSixteen<>(SB), Y13; \
	VPXORD Y12, Y12, Y12; \
	VXORPS Y0, Y0, Y0

// VLNIBBLES leaves the 32 nibbles of the 16 bytes at off(SI) in Y4: low
// nibbles in bytes 0…15 (elements 0…15), high ones in 16…31.
#define VLNIBBLES(off) \
	VBROADCASTI32X4 off(SI), Y4; \
	VPSRLVQ Y14, Y4, Y4; \
	VPANDD Y15, Y4, Y4

// VLSUMS turns |w| in Y4 times y·sign(w) in Y6 into the eight lane sums
// as float32 in Y4 (exact int32 sums in Y7).
#define VLSUMS \
	VPXORD Y7, Y7, Y7; \
	VPDPBUSD Y6, Y4, Y7; \
	VCVTDQ2PS Y7, Y4

// VLSCALEFMA adds Y4 times FP16ToFP32(w.d)·FP16ToFP32(x.d) to the lanes A:
// w.d (the half at wd) converted in all lanes, x.d (the half at xd) looked
// up and broadcast by the multiply, the product rounded once as VMULSS did.
#define VLSCALEFMA(wd, xd, A) \
	VPBROADCASTW wd, X8; \
	VCVTPH2PS X8, Y8; \
	MOVWLZX xd, BX; \
	VMULPS.BCST (R8)(BX*4), Y8, Y8; \
	VFMADD231PS Y4, Y8, A

// VLMS adds a Q4_1 or Q5_1 block's m (at wo+2(SI)) times its Q8_1 block's s
// (at xo+2(DI)) to X2, leaving the activation's d (its half) in R9.
#define VLMS(wo, xo) \
	MOVL xo(DI), DX; \
	MOVWLZX DX, R9; \
	SHRL $16, DX; \
	VPBROADCASTW wo+2(SI), X9; \
	VCVTPH2PS X9, X9; \
	VFMADD231SS (R8)(DX*4), X9, X2

// VLQ1DOT adds the unsigned codes in Y4 times the Q8_1 block's quants at
// xo+4(DI), scaled by w.d·x.d (w.d at wo(SI), x.d's half in R9), to Y0.
#define VLQ1DOT(wo, xo) \
	VPXORD Y7, Y7, Y7; \
	VPDPBUSD xo+4(DI), Y4, Y7; \
	VCVTDQ2PS Y7, Y4; \
	VPBROADCASTW wo(SI), X8; \
	VCVTPH2PS X8, Y8; \
	VMULPS.BCST (R8)(R9*4), Y8, Y8; \
	VFMADD231PS Y4, Y8, Y0

// VLQ50 adds the Q5_0 block at wo(SI) times the Q8_0 block at xo(DI) to
// the lanes Y0.
#define VLQ50(wo, xo) \
	KMOVD wo+2(SI), K1; \
	KNOTD K1, K1; \
	VLNIBBLES(wo+6); \
	VMOVDQU xo+2(DI), Y6; \
	VPSUBB Y4, Y13, K1, Y4; \
	VPSUBB Y6, Y12, K1, Y6; \
	VLSUMS; \
	VLSCALEFMA(wo(SI), xo(DI), Y0)

// func dotQ5_0VLAsm(nb int, w, x *byte) float32
//
// Blocks: w 22 bytes (d, qh, qs), x 34 bytes (d, qs); two per iteration.
TEXT ·dotQ5_0VLAsm(SB), NOSPLIT, $0-28
	VLSETUP
	SUBQ $2, CX
	JLT  q50vltail

q50vlloop:
	VLQ50(0, 0)                       // block i
	VLQ50(22, 34)                     // block i+1, after block i
	ADDQ $44, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JGE  q50vlloop

q50vltail:
	CMPQ CX, $-1                      // one block left?
	JNE  q50vldone
	VLQ50(0, 0)

q50vldone:
	HSUM8                            // hsum_float_8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// VLIQ4 leaves in Y4 |codebook value| of the IQ4_NL block at wo(SI) and in
// Y6 the Q8_0 activations at xo(DI) times the values' signs.
#define VLIQ4(wo, xo) \
	VLNIBBLES(wo+2); \
	VPSHUFB Y4, Y11, Y4; \
	VMOVDQU xo+2(DI), Y6; \
	VPSIGNB Y4, Y6, Y6; \
	VPABSB Y4, Y4

// func dotIQ4_NLVLAsm(nb int, w, x *byte) float32
//
// Blocks: w 18 bytes (d, qs), x 34 bytes (d, qs). Even blocks into Y0, odd
// ones into Y1; a last odd block added alone after the fold.
TEXT ·dotIQ4_NLVLAsm(SB), NOSPLIT, $0-28
	VLSETUP
	VBROADCASTI32X4 vlIQ4NL<>(SB), Y11
	VXORPS Y1, Y1, Y1
	SUBQ $2, CX
	JLT  iq4vlfold

iq4vlloop:
	VLIQ4(0, 0)
	VLSUMS
	VLSCALEFMA((SI), (DI), Y0)
	VLIQ4(18, 34)
	VLSUMS
	VLSCALEFMA(18(SI), 34(DI), Y1)
	ADDQ $36, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JGE  iq4vlloop

iq4vlfold:
	VADDPS Y1, Y0, Y0                 // acc1 + acc2, then hsum_float_8
	HSUM8                            // hsum_float_8
	CMPQ CX, $-1
	JNE  iq4vldone
	VLIQ4(0, 0)                       // the odd last block, alone
	VPXORD Y7, Y7, Y7
	VPDPBUSD Y6, Y4, Y7
	VEXTRACTI128 $1, Y7, X5
	VPADDD X5, X7, X4
	VPSHUFD $0x4E, X4, X5
	VPADDD X5, X4, X4
	VPSHUFD $0xB1, X4, X5
	VPADDD X5, X4, X4                 // sumi
	VCVTDQ2PS X4, X4
	MOVWLZX (SI), AX
	MOVWLZX (DI), BX
	VMOVSS (R8)(AX*4), X6
	VMULSS (R8)(BX*4), X6, X6         // d
	VMULSS X6, X4, X4                 // float32(d·float32(sumi))
	VADDSS X4, X0, X0

iq4vldone:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// VLQ41 adds the Q4_1 block at wo(SI) times the Q8_1 block at xo(DI) to
// the lanes Y0 and m·s to X2 (one scalar FMA, before the block's lanes as
// in dotQ4_1Asm; the two chains are independent). The activation block's
// d and s come from one 32-bit load and the table; the weight block's d
// and m are converted by VCVTPH2PS from word broadcasts (the table's very
// values), which spares two table lookups that, spread over the weights'
// scales, often miss L1.
#define VLQ41(wo, xo) \
	VLMS(wo, xo); \
	VLNIBBLES(wo+4); \
	VLQ1DOT(wo, xo)

// func dotQ4_1VLAsm(nb int, w, x *byte) float32
//
// Blocks: w 20 bytes (d, m, qs), x 36 bytes (d, s, qs); X2 = Σ m·s, added
// after the fold.
TEXT ·dotQ4_1VLAsm(SB), NOSPLIT, $0-28
	VLSETUP
	VXORPS X2, X2, X2
	SUBQ $2, CX
	JLT  q41vltail

q41vlloop:
	VLQ41(0, 0)
	VLQ41(20, 36)
	ADDQ $40, SI
	ADDQ $72, DI
	SUBQ $2, CX
	JGE  q41vlloop

q41vltail:
	CMPQ CX, $-1
	JNE  q41vldone
	VLQ41(0, 0)

q41vldone:
	HSUM8                            // hsum_float_8
	VADDSS X2, X0, X0                 // hsum8(acc) + summs
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// VLQ80 adds the Q8_0 block at wo(SI) times the one at xo(DI) to the lanes
// Y0: dotQ8_0VNNIAsm's operations, the scale formed by VLSCALEFMA.
#define VLQ80(wo, xo) \
	VMOVDQU wo+2(SI), Y4; \
	VMOVDQU xo+2(DI), Y6; \
	VPSIGNB Y4, Y6, Y6; \
	VPABSB Y4, Y4; \
	VLSUMS; \
	VLSCALEFMA(wo(SI), xo(DI), Y0)

// func dotQ8_0VLAsm(nb int, w, x *byte) float32
//
// Blocks: 34 bytes (d, qs) both.
TEXT ·dotQ8_0VLAsm(SB), NOSPLIT, $0-28
	VLSETUP
	SUBQ $2, CX
	JLT  q80vltail

q80vlloop:
	VLQ80(0, 0)
	VLQ80(34, 34)
	ADDQ $68, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JGE  q80vlloop

q80vltail:
	CMPQ CX, $-1
	JNE  q80vldone
	VLQ80(0, 0)

q80vldone:
	HSUM8                            // hsum_float_8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// VLQ51 adds the Q5_1 block at wo(SI) times the Q8_1 block at xo(DI) to
// the lanes Y0 and m·s to X2, as VLQ41 with the fifth bits: 16 added
// (or-ed, the nibble being below 16) to byte i where bit i of qh is set,
// the mask straight from qh.
#define VLQ51(wo, xo) \
	VLMS(wo, xo); \
	KMOVD wo+4(SI), K1; \
	VLNIBBLES(wo+8); \
	VPADDB Y13, Y4, K1, Y4; \
	VLQ1DOT(wo, xo)

// func dotQ5_1VLAsm(nb int, w, x *byte) float32
//
// Blocks: w 24 bytes (d, m, qh, qs), x 36 bytes (d, s, qs); X2 = Σ m·s,
// added after the fold.
TEXT ·dotQ5_1VLAsm(SB), NOSPLIT, $0-28
	VLSETUP
	VXORPS X2, X2, X2
	SUBQ $2, CX
	JLT  q51vltail

q51vlloop:
	VLQ51(0, 0)
	VLQ51(24, 36)
	ADDQ $48, SI
	ADDQ $72, DI
	SUBQ $2, CX
	JGE  q51vlloop

q51vltail:
	CMPQ CX, $-1
	JNE  q51vldone
	VLQ51(0, 0)

q51vldone:
	HSUM8                            // hsum_float_8
	VADDSS X2, X0, X0                 // hsum8(acc) + summs
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
