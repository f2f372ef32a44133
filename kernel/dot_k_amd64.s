//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_K/q5_K/q6_K_q8_K); ggml-common.h layouts.

#include "textflag.h"
#include "hsum_amd64.h"

// Q8_K layout: d float32 at 0, qs [256]int8 at 4, bsums [16]int16 at 260.
// Q4_K: d at 0, dmin at 2, scales [12] at 4, qs [128] at 16; 144 bytes.
// Q5_K: as Q4_K but qh [32] at 16 and qs [128] at 48; 176 bytes.
// Q6_K: ql [128] at 0, qh [64] at 128, scales [16]int8 at 192, d at 208; 210 bytes.

DATA kNibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f // low-nibble mask
GLOBL kNibble<>(SB), RODATA|NOPTR, $8
DATA kOne<>+0(SB)/8, $0x0101010101010101   // bit 0 of each byte
GLOBL kOne<>(SB), RODATA|NOPTR, $8
DATA kThree<>+0(SB)/8, $0x0303030303030303 // two low bits of each byte
GLOBL kThree<>(SB), RODATA|NOPTR, $8
DATA kWord0<>+0(SB)/8, $0x0100010001000100 // VPSHUFB: word 0 of the lane to all words
GLOBL kWord0<>(SB), RODATA|NOPTR, $8
DATA kWord1<>+0(SB)/8, $0x0302030203020302 // VPSHUFB: word 1 of the lane to all words
GLOBL kWord1<>(SB), RODATA|NOPTR, $8

// HALFTIMESD leaves FP16ToFP32(*h)·y.d (y.d the float32 at (DI)) in all
// lanes of Y; clobbers AX.
#define HALFTIMESD(h, Y, X) \
	MOVWLZX h, AX; \
	VMOVD AX, X; \
	VCVTPH2PS X, X; \
	VMULSS (DI), X, X; \
	VBROADCASTSS X, Y

// SCALESMINS unpacks the twelve scale bytes of a Q4_K/Q5_K block at SI into
// sixteen words in Y2 (scales 0..7 in the low lane, mins 0..7 in the high
// lane), as get_scale_min_k4 defines them; clobbers R8..R13. With u0, u1, u2
// the three little-endian uint32 of the bytes:
//   scales 0..3 = u0 & 0x3f3f3f3f
//   scales 4..7 = (u2 & 0x0f0f0f0f) | ((u0>>6) & 0x03030303)<<4
//   mins 0..3   = u1 & 0x3f3f3f3f
//   mins 4..7   = ((u2>>4) & 0x0f0f0f0f) | ((u1>>6) & 0x03030303)<<4
#define SCALESMINS \
	MOVL 4(SI), R8; \
	MOVL 8(SI), R9; \
	MOVL 12(SI), R10; \
	MOVL R10, R11; \
	SHRL $4, R11; \
	ANDL $0x0f0f0f0f, R11; \
	MOVL R9, R12; \
	SHRL $6, R12; \
	ANDL $0x03030303, R12; \
	SHLL $4, R12; \
	ORL R12, R11; \
	MOVL R9, R12; \
	ANDL $0x3f3f3f3f, R12; \
	ANDL $0x0f0f0f0f, R10; \
	MOVL R8, R13; \
	SHRL $6, R13; \
	ANDL $0x03030303, R13; \
	SHLL $4, R13; \
	ORL R13, R10; \
	ANDL $0x3f3f3f3f, R8; \
	SHLQ $32, R10; \
	ORQ R10, R8; \
	SHLQ $32, R11; \
	ORQ R11, R12; \
	VMOVQ R8, X2; \
	VPINSRQ $1, R12, X2, X2; \
	VPMOVZXBW X2, Y2

// MINS adds dmin·y.d·Σ_j m_j·(bsums[2j]+bsums[2j+1]) to the four lanes of
// X10, from the mins in Y2's high lane and the block's dmin at 2(SI).
#define MINS \
	VMOVDQU 260(DI), Y3; \
	VEXTRACTI128 $1, Y3, X4; \
	VPHADDW X4, X3, X3; \
	VEXTRACTI128 $1, Y2, X4; \
	VPMADDWD X3, X4, X4; \
	VCVTDQ2PS X4, X4; \
	HALFTIMESD(2(SI), Y5, X5); \
	VFMADD231PS X4, X5, X10

// MINS5 is MINS as llama.cpp's Q5_K does it: Σ_j m_j·(bsums pairs) summed
// to one integer ((p0+p1)+(p2+p3)), as float32 times dmin·y.d added to the
// scalar in X10's low lane by one FMA (gcc contracts summs += dmin·Σ): no lanes.
#define MINS5 \
	VMOVDQU 260(DI), Y3; \
	VEXTRACTI128 $1, Y3, X4; \
	VPHADDW X4, X3, X3; \
	VEXTRACTI128 $1, Y2, X4; \
	VPMADDWD X3, X4, X4; \
	VPHADDD X4, X4, X4; \
	VPHADDD X4, X4, X4; \
	VCVTDQ2PS X4, X4; \
	HALFTIMESD(2(SI), Y5, X5); \
	VFMADD231SS X5, X4, X10

// SUB32 adds to the int32 lanes of Y8 the scaled products of 32 quants in
// Ylo (sub-block 2j) and Yhi (sub-block 2j+1) with the activations at
// 4+64j(DI) and 36+64j(DI); their scales are words 0 and 1 of each lane of
// Y3, which then moves on by two words. Pairs of products stay below 2¹⁵.
#define SUB32(j, Ylo, Yhi) \
	VPMADDUBSW (4+64*j)(DI), Ylo, Ylo; \
	VPMADDUBSW (36+64*j)(DI), Yhi, Yhi; \
	VPSHUFB Y13, Y3, Y6; \
	VPSHUFB Y14, Y3, Y7; \
	VPMADDWD Y6, Ylo, Ylo; \
	VPMADDWD Y7, Yhi, Yhi; \
	VPADDD Ylo, Y8, Y8; \
	VPADDD Yhi, Y8, Y8; \
	VPSRLDQ $4, Y3, Y3

// NIBBLES4 splits the 32 bytes at off(SI) into low nibbles (Y4) and high
// nibbles (Y5).
#define NIBBLES4(off) \
	VMOVDQU off(SI), Y4; \
	VPSRLW $4, Y4, Y5; \
	VPAND Y15, Y4, Y4; \
	VPAND Y15, Y5, Y5

// FIFTHBITS puts bit 0 of each byte of Y11 on bit 4 of Y4, then bit 1 on bit
// 4 of Y5, shifting Y11 down two bits for the next 64 quants.
#define FIFTHBITS \
	VPAND Y12, Y11, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Y4, Y4; \
	VPSRLW $1, Y11, Y11; \
	VPAND Y12, Y11, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Y5, Y5; \
	VPSRLW $1, Y11, Y11

// func dotQ4_KAsm(nb int, w, x *byte) float32
TEXT ·dotQ4_KAsm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                  // CX = super-blocks left
	MOVQ w+8(FP), SI                   // SI = &w block
	MOVQ x+16(FP), DI                  // DI = &y block
	VPBROADCASTQ kNibble<>(SB), Y15    // Y15 = 0x0F bytes
	VPBROADCASTQ kWord0<>(SB), Y13     // Y13 = shuffle: word 0 everywhere
	VPBROADCASTQ kWord1<>(SB), Y14     // Y14 = shuffle: word 1 everywhere
	VXORPS Y0, Y0, Y0                  // Y0 = Σ d·isum lanes
	VXORPS X10, X10, X10               // X10 = Σ dmin·summs lanes

q4kloop:
	TESTQ CX, CX
	JEQ   q4kdone
	SCALESMINS                         // Y2 = [scales | mins] as words
	MINS                               // X10 += dmin·y.d·Σ m·bsums
	VPERMQ $0x44, Y2, Y3               // Y3 = scales 0..7 in both lanes
	VPXOR Y8, Y8, Y8                   // Y8 = isum lanes
	NIBBLES4(16)                       // quants 0..63
	SUB32(0, Y4, Y5)
	NIBBLES4(48)                       // quants 64..127
	SUB32(1, Y4, Y5)
	NIBBLES4(80)                       // quants 128..191
	SUB32(2, Y4, Y5)
	NIBBLES4(112)                      // quants 192..255
	SUB32(3, Y4, Y5)
	VCVTDQ2PS Y8, Y8                   // isum lanes as float32
	HALFTIMESD((SI), Y9, X9)           // Y9 = d·y.d
	VFMADD231PS Y8, Y9, Y0             // Y0 += d·y.d·isum
	ADDQ $144, SI                      // next super-blocks
	ADDQ $292, DI
	DECQ CX
	JMP  q4kloop

q4kdone:
	HSUM8                              // X0 = Σ lanes of Y0
	VMOVHLPS X10, X10, X1              // X10 lanes summed into X10[0]
	VADDPS X1, X10, X10
	VMOVSHDUP X10, X1
	VADDSS X1, X10, X10
	VSUBSS X10, X0, X0                 // s = Σ d·isum − Σ dmin·summs
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ5_KAsm(nb int, w, x *byte) float32
TEXT ·dotQ5_KAsm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                  // CX = super-blocks left
	MOVQ w+8(FP), SI                   // SI = &w block
	MOVQ x+16(FP), DI                  // DI = &y block
	VPBROADCASTQ kNibble<>(SB), Y15    // Y15 = 0x0F bytes
	VPBROADCASTQ kOne<>(SB), Y12       // Y12 = 0x01 bytes
	VPBROADCASTQ kWord0<>(SB), Y13     // Y13 = shuffle: word 0 everywhere
	VPBROADCASTQ kWord1<>(SB), Y14     // Y14 = shuffle: word 1 everywhere
	VXORPS Y0, Y0, Y0                  // Y0 = Σ d·isum lanes
	VXORPS X10, X10, X10               // X10 = Σ dmin·summs (low lane)

q5kloop:
	TESTQ CX, CX
	JEQ   q5kdone
	SCALESMINS                         // Y2 = [scales | mins] as words
	MINS5                              // X10 += dmin·y.d·Σ m·bsums
	VPERMQ $0x44, Y2, Y3               // Y3 = scales 0..7 in both lanes
	VPXOR Y8, Y8, Y8                   // Y8 = isum lanes
	VMOVDQU 16(SI), Y11                // Y11 = qh: bit j of byte l is quant 32j+l
	NIBBLES4(48)                       // quants 0..63, low 4 bits
	FIFTHBITS                          // | fifth bits
	SUB32(0, Y4, Y5)
	NIBBLES4(80)                       // quants 64..127
	FIFTHBITS
	SUB32(1, Y4, Y5)
	NIBBLES4(112)                      // quants 128..191
	FIFTHBITS
	SUB32(2, Y4, Y5)
	NIBBLES4(144)                      // quants 192..255
	FIFTHBITS
	SUB32(3, Y4, Y5)
	VCVTDQ2PS Y8, Y8                   // isum lanes as float32
	HALFTIMESD((SI), Y9, X9)           // Y9 = d·y.d
	VFMADD231PS Y8, Y9, Y0             // Y0 += d·y.d·isum
	ADDQ $176, SI                      // next super-blocks
	ADDQ $292, DI
	DECQ CX
	JMP  q5kloop

q5kdone:
	HSUM8                              // X0 = Σ lanes of Y0
	VSUBSS X10, X0, X0                 // s = Σ d·isum − Σ dmin·summs
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// Q6ROW makes the 32 quants of row r of a 128-quant half in Y7 from the
// nibbles in Ynib (low or high already selected) and the two low bits of
// Y6 (then shifted down two bits), multiplies them (0..63, unsigned) by the
// activations at off(DI), takes 32 times the activations off each pair (as
// llama.cpp does, so that every int32 lane sums exactly its own four
// products), weights lane halves by words 0 and 1 of Y3 (then moved on two
// words) and adds to Y10. Pairs: 2·63·127 + 2·32·128 < 2¹⁵.
#define Q6ROW(Ynib, off) \
	VPAND Y11, Y6, Y9; \
	VPSLLW $4, Y9, Y9; \
	VPOR Y9, Ynib, Y7; \
	VPSRLW $2, Y6, Y6; \
	VMOVDQU off(DI), Y8; \
	VPMADDUBSW Y8, Y7, Y7; \
	VPMADDUBSW Y8, Y12, Y8; \
	VPSUBW Y8, Y7, Y7; \
	VPSHUFB Y13, Y3, Y9; \
	VPMADDWD Y9, Y7, Y7; \
	VPADDD Y7, Y10, Y10; \
	VPSRLDQ $4, Y3, Y3

// Q6HALF does the 128 quants of half c: ql at 64c(SI), qh at 128+32c(SI),
// activations from 4+128c(DI); the scales are in Y3 already.
#define Q6HALF(c) \
	VMOVDQU (64*c)(SI), Y4; \
	VMOVDQU (64*c+32)(SI), Y5; \
	VMOVDQU (128+32*c)(SI), Y6; \
	VPSRLW $4, Y4, Y1; \
	VPAND Y15, Y1, Y1; \
	VPAND Y15, Y4, Y4; \
	VPSRLW $4, Y5, Y2; \
	VPAND Y15, Y2, Y2; \
	VPAND Y15, Y5, Y5; \
	Q6ROW(Y4, (4+128*c)); \
	Q6ROW(Y5, (36+128*c)); \
	Q6ROW(Y1, (68+128*c)); \
	Q6ROW(Y2, (100+128*c))

DATA kThirtyTwo<>+0(SB)/8, $0x2020202020202020
GLOBL kThirtyTwo<>(SB), RODATA|NOPTR, $8

DATA kPair<>+0(SB)/8, $0x0100010001000100  // VPSHUFB: low lane gets word 0,
DATA kPair<>+8(SB)/8, $0x0100010001000100
DATA kPair<>+16(SB)/8, $0x0302030203020302 // high lane word 1
DATA kPair<>+24(SB)/8, $0x0302030203020302
GLOBL kPair<>(SB), RODATA|NOPTR, $32

// func dotQ6_KAsm(nb int, w, x *byte) float32
//
// In llama.cpp's lane order: lane m sums, over the eight runs of 32, the
// scaled (q−32)·y of the run's elements 4m…4m+3; one FMA per super-block.
TEXT ·dotQ6_KAsm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                  // CX = super-blocks left
	MOVQ w+8(FP), SI                   // SI = &w block
	MOVQ x+16(FP), DI                  // DI = &y block
	VPBROADCASTQ kNibble<>(SB), Y15    // Y15 = 0x0F bytes
	VPBROADCASTQ kThree<>(SB), Y11     // Y11 = 0x03 bytes
	VMOVDQU kPair<>(SB), Y13           // Y13 = shuffle: words 0 | 1 per lane
	VPBROADCASTQ kThirtyTwo<>(SB), Y12 // Y12 = 32 bytes
	VXORPS Y0, Y0, Y0                  // Y0 = Σ d·isum lanes

q6kloop:
	TESTQ CX, CX
	JEQ   q6kdone
	VPMOVSXBW 192(SI), Y14             // Y14 = the 16 scales as words
	VPXOR Y10, Y10, Y10                // Y10 = isum lanes
	VPERMQ $0x44, Y14, Y3              // Y3 = scales 0..7 in both lanes
	Q6HALF(0)
	VPERMQ $0xEE, Y14, Y3              // Y3 = scales 8..15 in both lanes
	Q6HALF(1)
	VCVTDQ2PS Y10, Y10                 // isum lanes as float32
	HALFTIMESD(208(SI), Y9, X9)        // Y9 = d·y.d
	VFMADD231PS Y10, Y9, Y0            // Y0 += d·y.d·isum
	ADDQ $210, SI                      // next super-blocks
	ADDQ $292, DI
	DECQ CX
	JMP  q6kloop

q6kdone:
	HSUM8                              // X0 = Σ lanes of Y0
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
