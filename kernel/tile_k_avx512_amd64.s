//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_K/q5_K/q6_K_q8_K), here for four
// activation rows; Intel SDM vol. 2 (VPDPWSSD, AVX512_VNNI with AVX512VL).

#include "textflag.h"

// The K-quant tiles of tile_k_amd64.s with VPDPWSSD (AVX512-VNNI, 256-bit
// EVEX form) in place of each VPMADDWD+VPADDD pair: I += the word pairs of
// a times the scale words, wrapping as the pair does, so every int32 lane
// holds the same integer and the float operations that follow are the
// same ones in the same order: the AVX2 tiles' results bit for bit, and
// so the dots'. Everything else is that file's code, kept apart so that
// neither build carries a branch per super-block.

// A 1×4 tile of Q4_K × Q8_K dots: one weight row against four activation
// rows, each product computed with exactly the operations of dotQ4_KAsm (in
// dot_k_amd64.s), so the results are bit for bit those of four dots. What the
// rows share is done once per super-block: unpacking the scales and mins,
// splitting the nibbles, broadcasting the sub-block scales, converting d and
// dmin.
//
// Registers: SI = w block; DI, R9, R11, R14 = the four activation blocks
// (292 bytes each, rows xStride apart); CX = super-blocks left.
// Y0..Y3 = Σ d·isum lanes per row; Y8..Y11 = isum lanes per row;
// Y4, Y5 = low and high nibbles; Y6, Y7 = scale words; Y12 = scale source;
// Y13, Y14 = temporaries; Y15 = nibble mask. The four rows' Σ dmin·summs
// (four lanes each) live in the frame at 0, 16, 32, 48(SP).

DATA tkWord0<>+0(SB)/8, $0x0100010001000100 // VPSHUFB: word 0 of the lane to all words
DATA tkWord0<>+8(SB)/8, $0x0100010001000100
DATA tkWord0<>+16(SB)/8, $0x0100010001000100
DATA tkWord0<>+24(SB)/8, $0x0100010001000100
GLOBL tkWord0<>(SB), RODATA|NOPTR, $32
DATA tkWord1<>+0(SB)/8, $0x0302030203020302 // VPSHUFB: word 1 of the lane to all words
DATA tkWord1<>+8(SB)/8, $0x0302030203020302
DATA tkWord1<>+16(SB)/8, $0x0302030203020302
DATA tkWord1<>+24(SB)/8, $0x0302030203020302
GLOBL tkWord1<>(SB), RODATA|NOPTR, $32
DATA tkNibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL tkNibble<>(SB), RODATA|NOPTR, $8

// TSCALESMINS is SCALESMINS of dot_k_amd64.s with other scratch registers
// (AX, BX, DX, R8, R10, R12), leaving the words in Y13.
#define TSCALESMINS \
	MOVL 4(SI), AX; \
	MOVL 8(SI), BX; \
	MOVL 12(SI), DX; \
	MOVL DX, R8; \
	SHRL $4, R8; \
	ANDL $0x0f0f0f0f, R8; \
	MOVL BX, R10; \
	SHRL $6, R10; \
	ANDL $0x03030303, R10; \
	SHLL $4, R10; \
	ORL R10, R8; \
	MOVL BX, R10; \
	ANDL $0x3f3f3f3f, R10; \
	ANDL $0x0f0f0f0f, DX; \
	MOVL AX, R12; \
	SHRL $6, R12; \
	ANDL $0x03030303, R12; \
	SHLL $4, R12; \
	ORL R12, DX; \
	ANDL $0x3f3f3f3f, AX; \
	SHLQ $32, DX; \
	ORQ DX, AX; \
	SHLQ $32, R8; \
	ORQ R8, R10; \
	VMOVQ AX, X13; \
	VPINSRQ $1, R10, X13, X13; \
	VPMOVZXBW X13, Y13

// TMINS adds dmin·y.d·Σ m·(bsum pairs) of the row at P to the four lanes at
// off(SP); X12 holds the mins as words, X8 float32(dmin). As MINS does.
#define TMINS(P, off) \
	VMOVDQU 260(P), Y14; \
	VEXTRACTI128 $1, Y14, X4; \
	VPHADDW X4, X14, X14; \
	VPMADDWD X14, X12, X4; \
	VCVTDQ2PS X4, X4; \
	VMULSS (P), X8, X5; \
	VBROADCASTSS X5, X5; \
	VMOVUPS off(SP), X6; \
	VFMADD231PS X4, X5, X6; \
	VMOVUPS X6, off(SP)

// TROW adds the scaled products of the 64 quants in Y4/Y5 with the row at P
// (activations at 4+64g and 36+64g) to the isum lanes I.
#define TROW(P, g, I) \
	VPMADDUBSW (4+64*g)(P), Y4, Y13; \
	VPMADDUBSW (36+64*g)(P), Y5, Y14; \
	VPDPWSSD Y6, Y13, I; \
	VPDPWSSD Y7, Y14, I

// TGROUP does quants 64g..64g+63 for all four rows.
#define TGROUP(g) \
	VMOVDQU (16+32*g)(SI), Y4; \
	VPSRLW $4, Y4, Y5; \
	VPAND Y15, Y4, Y4; \
	VPAND Y15, Y5, Y5; \
	VPSHUFB tkWord0<>(SB), Y12, Y6; \
	VPSHUFB tkWord1<>(SB), Y12, Y7; \
	VPSRLDQ $4, Y12, Y12; \
	TROW(DI, g, Y8); \
	TROW(R9, g, Y9); \
	TROW(R11, g, Y10); \
	TROW(R14, g, Y11)

// TSCALE adds d·y.d·isum of the row at P to its accumulator A (X13 = float32(d)).
#define TSCALE(P, I, A) \
	VCVTDQ2PS I, I; \
	VMULSS (P), X13, X14; \
	VBROADCASTSS X14, Y14; \
	VFMADD231PS I, Y14, A

// TFINISH reduces accumulator A (X-view XA) and the mins lanes at off(SP)
// as dotQ4_KAsm's end does, storing Σ d·isum − Σ dmin·summs at o(DX).
#define TFINISH(A, XA, off, o) \
	VEXTRACTF128 $1, A, X13; \
	VADDPS X13, XA, XA; \
	VMOVHLPS XA, XA, X13; \
	VADDPS X13, XA, XA; \
	VMOVSHDUP XA, X13; \
	VADDSS X13, XA, XA; \
	VMOVUPS off(SP), X14; \
	VMOVHLPS X14, X14, X13; \
	VADDPS X13, X14, X14; \
	VMOVSHDUP X14, X13; \
	VADDSS X13, X14, X14; \
	VSUBSS X14, XA, XA; \
	VMOVSS XA, o(DX)

// func tileQ4_KVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ4_KVNNIAsm(SB), NOSPLIT, $64-40
	MOVQ nb+0(FP), CX                 // CX = super-blocks left
	MOVQ w+8(FP), SI                  // SI = &w block
	MOVQ x+16(FP), DI                 // DI = &row 0 block
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9               // R9 = &row 1 block
	LEAQ (R9)(DX*1), R11              // R11 = &row 2 block
	LEAQ (R11)(DX*1), R14             // R14 = &row 3 block
	VPBROADCASTQ tkNibble<>(SB), Y15  // Y15 = 0x0F bytes
	VXORPS Y0, Y0, Y0                 // Σ d·isum lanes, rows 0..3
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X6, X6, X6                 // Σ dmin·summs lanes, rows 0..3
	VMOVUPS X6, 0(SP)
	VMOVUPS X6, 16(SP)
	VMOVUPS X6, 32(SP)
	VMOVUPS X6, 48(SP)

vtq4kloop:
	TESTQ CX, CX
	JEQ   vtq4kdone
	TSCALESMINS                       // Y13 = [scales | mins] as words
	VEXTRACTI128 $1, Y13, X12         // X12 = mins
	VPERMQ $0x44, Y13, Y13            // scales 0..7 in both lanes
	MOVWLZX 2(SI), AX                 // X8 = float32(dmin)
	VMOVD AX, X8
	VCVTPH2PS X8, X8
	TMINS(DI, 0)                      // per row: mins · bsums
	TMINS(R9, 16)
	TMINS(R11, 32)
	TMINS(R14, 48)
	VMOVDQA Y13, Y12                  // Y12 = scale source
	VPXOR Y8, Y8, Y8                  // isum lanes, rows 0..3
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	TGROUP(0)                         // quants 0..63
	TGROUP(1)                         // 64..127
	TGROUP(2)                         // 128..191
	TGROUP(3)                         // 192..255
	MOVWLZX (SI), AX                  // X13 = float32(d)
	VMOVD AX, X13
	VCVTPH2PS X13, X13
	TSCALE(DI, Y8, Y0)                // acc += d·y.d·isum, per row
	TSCALE(R9, Y9, Y1)
	TSCALE(R11, Y10, Y2)
	TSCALE(R14, Y11, Y3)
	ADDQ $144, SI                     // next super-blocks
	ADDQ $292, DI
	ADDQ $292, R9
	ADDQ $292, R11
	ADDQ $292, R14
	DECQ CX
	JMP  vtq4kloop

vtq4kdone:
	MOVQ out+32(FP), DX
	TFINISH(Y0, X0, 0, 0)
	TFINISH(Y1, X1, 16, 4)
	TFINISH(Y2, X2, 32, 8)
	TFINISH(Y3, X3, 48, 12)
	VZEROUPPER
	RET

// The Q6_K tile, giving dotQ6_KAsm's bits for each product. The int32 lanes
// are exact integers, so any exact way to the same per-lane sums will do:
// here the quants are made signed (q−32) once for the four rows and the
// activations unsigned (y+128, a flipped sign bit), so that
// Σ sc·(q−32)·y = Σ sc·(q−32)·(y+128) − Σ sc·128·(q−32), the last sum being
// the same for every row (pairs: 2·255·32 and 2·128·32 < 2¹⁵).
// Registers: SI = w block; DI, R9, R11, R14 = the four activation blocks;
// CX = super-blocks left; Y0..Y3 = Σ d·isum lanes per row; Y8..Y11 = isum
// lanes per row; Y4 = the 32 quants (q−32) of the current run; Y5 = high
// bits, shifting; Y6 = scale words of the run; Y7 = scale source;
// Y12 = Σ sc·128·(q−32) lanes; Y13 = temporary; Y14 = 0x80 bytes;
// Y15 = 0x0F bytes.

DATA tkPair<>+0(SB)/8, $0x0100010001000100  // VPSHUFB: low lane gets word 0,
DATA tkPair<>+8(SB)/8, $0x0100010001000100
DATA tkPair<>+16(SB)/8, $0x0302030203020302 // high lane word 1
DATA tkPair<>+24(SB)/8, $0x0302030203020302
GLOBL tkPair<>(SB), RODATA|NOPTR, $32
DATA tkThree<>+0(SB)/8, $0x0303030303030303
DATA tkThree<>+8(SB)/8, $0x0303030303030303
DATA tkThree<>+16(SB)/8, $0x0303030303030303
DATA tkThree<>+24(SB)/8, $0x0303030303030303
GLOBL tkThree<>(SB), RODATA|NOPTR, $32
DATA tkThirtyTwo<>+0(SB)/8, $0x2020202020202020
DATA tkThirtyTwo<>+8(SB)/8, $0x2020202020202020
DATA tkThirtyTwo<>+16(SB)/8, $0x2020202020202020
DATA tkThirtyTwo<>+24(SB)/8, $0x2020202020202020
GLOBL tkThirtyTwo<>(SB), RODATA|NOPTR, $32
DATA tkSign<>+0(SB)/8, $0x8080808080808080
GLOBL tkSign<>(SB), RODATA|NOPTR, $8

// T6PROD adds to isum lanes I the scaled (q−32)·(y+128) pairs of the row at P.
#define T6PROD(P, aoff, I) \
	VPXOR aoff(P), Y14, Y13; \
	VPMADDUBSW Y4, Y13, Y13; \
	VPDPWSSD Y6, Y13, I

// T6RUN makes the 32 quants q−32 of run r of half c (low nibbles of ql at
// qloff when high is 0, else high nibbles) with the next two bits of Y5,
// adds the run's scaled 128·(q−32) pairs to Y12 and the products with each
// row's activations at aoff to the row's isum lanes.
#define T6RUN(qloff, high, aoff) \
	VMOVDQU qloff(SI), Y4; \
	VPSRLW $(4*high), Y4, Y4; \
	VPAND Y15, Y4, Y4; \
	VPAND tkThree<>(SB), Y5, Y6; \
	VPSLLW $4, Y6, Y6; \
	VPOR Y6, Y4, Y4; \
	VPSUBB tkThirtyTwo<>(SB), Y4, Y4; \
	VPSRLW $2, Y5, Y5; \
	VPSHUFB tkPair<>(SB), Y7, Y6; \
	VPSRLDQ $4, Y7, Y7; \
	VPMADDUBSW Y4, Y14, Y13; \
	VPDPWSSD Y6, Y13, Y12; \
	T6PROD(DI, aoff, Y8); \
	T6PROD(R9, aoff, Y9); \
	T6PROD(R11, aoff, Y10); \
	T6PROD(R14, aoff, Y11)

// T6HALF does the 128 quants of half c for the four rows.
#define T6HALF(c, perm) \
	VMOVDQU (128+32*c)(SI), Y5; \
	VPMOVSXBW 192(SI), Y7; \
	VPERMQ $perm, Y7, Y7; \
	T6RUN((64*c), 0, (4+128*c)); \
	T6RUN((64*c+32), 0, (36+128*c)); \
	T6RUN((64*c), 1, (68+128*c)); \
	T6RUN((64*c+32), 1, (100+128*c))

// T6END takes the shared 128-term off the isum lanes I of the row at P and
// adds d·y.d·isum to its accumulator A (X6 = float32(d)).
#define T6END(P, I, A) \
	VPSUBD Y12, I, I; \
	VCVTDQ2PS I, I; \
	VMULSS (P), X6, X13; \
	VBROADCASTSS X13, Y13; \
	VFMADD231PS I, Y13, A

// T6OUT reduces accumulator A (X-view XA) as HSUM8 does and stores it at o(DX).
#define T6OUT(A, XA, o) \
	VEXTRACTF128 $1, A, X13; \
	VADDPS X13, XA, XA; \
	VMOVHLPS XA, XA, X13; \
	VADDPS X13, XA, XA; \
	VMOVSHDUP XA, X13; \
	VADDSS X13, XA, XA; \
	VMOVSS XA, o(DX)

// func tileQ6_KVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ6_KVNNIAsm(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX                 // CX = super-blocks left
	MOVQ w+8(FP), SI                  // SI = &w block
	MOVQ x+16(FP), DI                 // DI = &row 0 block
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9               // R9 = &row 1 block
	LEAQ (R9)(DX*1), R11              // R11 = &row 2 block
	LEAQ (R11)(DX*1), R14             // R14 = &row 3 block
	VPBROADCASTQ tkNibble<>(SB), Y15  // Y15 = 0x0F bytes
	VPBROADCASTQ tkSign<>(SB), Y14    // Y14 = 0x80 bytes
	VXORPS Y0, Y0, Y0                 // Σ d·isum lanes, rows 0..3
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

vtq6kloop:
	TESTQ CX, CX
	JEQ   vtq6kdone
	VPXOR Y12, Y12, Y12               // Σ sc·128·(q−32) lanes
	VPXOR Y8, Y8, Y8                  // isum lanes, rows 0..3
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	T6HALF(0, 0x44)                   // quants 0..127, scales 0..7
	T6HALF(1, 0xEE)                   // quants 128..255, scales 8..15
	MOVWLZX 208(SI), AX               // X6 = float32(d)
	VMOVD AX, X6
	VCVTPH2PS X6, X6
	T6END(DI, Y8, Y0)
	T6END(R9, Y9, Y1)
	T6END(R11, Y10, Y2)
	T6END(R14, Y11, Y3)
	ADDQ $210, SI                     // next super-blocks
	ADDQ $292, DI
	ADDQ $292, R9
	ADDQ $292, R11
	ADDQ $292, R14
	DECQ CX
	JMP  vtq6kloop

vtq6kdone:
	MOVQ out+32(FP), DX
	T6OUT(Y0, X0, 0)
	T6OUT(Y1, X1, 4)
	T6OUT(Y2, X2, 8)
	T6OUT(Y3, X3, 12)
	VZEROUPPER
	RET

// The Q5_K tile: the Q4_K tile with each quant's fifth bit from qh (at 16,
// 32 bytes) put on bit 4, as FIFTHBITS does in dotQ5_KAsm; the bits of group
// g are bits 2g and 2g+1 of each qh byte, read afresh from memory per group.

DATA t5One<>+0(SB)/8, $0x0101010101010101
DATA t5One<>+8(SB)/8, $0x0101010101010101
DATA t5One<>+16(SB)/8, $0x0101010101010101
DATA t5One<>+24(SB)/8, $0x0101010101010101
GLOBL t5One<>(SB), RODATA|NOPTR, $32

// T5GROUP does quants 64g..64g+63 for all four rows.
#define T5GROUP(g) \
	VMOVDQU (48+32*g)(SI), Y4; \
	VPSRLW $4, Y4, Y5; \
	VPAND Y15, Y4, Y4; \
	VPAND Y15, Y5, Y5; \
	VMOVDQU 16(SI), Y13; \
	VPSRLW $(2*g), Y13, Y13; \
	VPAND t5One<>(SB), Y13, Y14; \
	VPSLLW $4, Y14, Y14; \
	VPOR Y14, Y4, Y4; \
	VPSRLW $1, Y13, Y13; \
	VPAND t5One<>(SB), Y13, Y14; \
	VPSLLW $4, Y14, Y14; \
	VPOR Y14, Y5, Y5; \
	VPSHUFB tkWord0<>(SB), Y12, Y6; \
	VPSHUFB tkWord1<>(SB), Y12, Y7; \
	VPSRLDQ $4, Y12, Y12; \
	TROW(DI, g, Y8); \
	TROW(R9, g, Y9); \
	TROW(R11, g, Y10); \
	TROW(R14, g, Y11)

// T5MINS is TMINS as MINS5 does it: the row's Σ m·(bsum pairs) as one
// integer, times dmin·y.d and added to the scalar at off(SP) by one FMA.
#define T5MINS(P, off) \
	VMOVDQU 260(P), Y14; \
	VEXTRACTI128 $1, Y14, X4; \
	VPHADDW X4, X14, X14; \
	VPMADDWD X14, X12, X4; \
	VPHADDD X4, X4, X4; \
	VPHADDD X4, X4, X4; \
	VCVTDQ2PS X4, X4; \
	VMULSS (P), X8, X5; \
	VMOVSS off(SP), X14; \
	VFMADD231SS X5, X4, X14; \
	VMOVSS X14, off(SP)

// T5FINISH is TFINISH with the scalar mins sum of MINS5 at off(SP).
#define T5FINISH(A, XA, off, o) \
	VEXTRACTF128 $1, A, X13; \
	VADDPS X13, XA, XA; \
	VMOVHLPS XA, XA, X13; \
	VADDPS X13, XA, XA; \
	VMOVSHDUP XA, X13; \
	VADDSS X13, XA, XA; \
	VMOVSS off(SP), X14; \
	VSUBSS X14, XA, XA; \
	VMOVSS XA, o(DX)

// func tileQ5_KVNNIAsm(nb int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileQ5_KVNNIAsm(SB), NOSPLIT, $64-40
	MOVQ nb+0(FP), CX                 // CX = super-blocks left
	MOVQ w+8(FP), SI                  // SI = &w block
	MOVQ x+16(FP), DI                 // DI = &row 0 block
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9               // R9 = &row 1 block
	LEAQ (R9)(DX*1), R11              // R11 = &row 2 block
	LEAQ (R11)(DX*1), R14             // R14 = &row 3 block
	VPBROADCASTQ tkNibble<>(SB), Y15  // Y15 = 0x0F bytes
	VXORPS Y0, Y0, Y0                 // Σ d·isum lanes, rows 0..3
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	VXORPS X6, X6, X6                 // Σ dmin·summs, rows 0..3 (scalars)
	VMOVUPS X6, 0(SP)
	VMOVUPS X6, 16(SP)
	VMOVUPS X6, 32(SP)
	VMOVUPS X6, 48(SP)

vtq5kloop:
	TESTQ CX, CX
	JEQ   vtq5kdone
	TSCALESMINS                       // Y13 = [scales | mins] as words
	VEXTRACTI128 $1, Y13, X12         // X12 = mins
	VPERMQ $0x44, Y13, Y13            // scales 0..7 in both lanes
	MOVWLZX 2(SI), AX                 // X8 = float32(dmin)
	VMOVD AX, X8
	VCVTPH2PS X8, X8
	T5MINS(DI, 0)                     // per row: mins · bsums
	T5MINS(R9, 16)
	T5MINS(R11, 32)
	T5MINS(R14, 48)
	VMOVDQA Y13, Y12                  // Y12 = scale source
	VPXOR Y8, Y8, Y8                  // isum lanes, rows 0..3
	VPXOR Y9, Y9, Y9
	VPXOR Y10, Y10, Y10
	VPXOR Y11, Y11, Y11
	T5GROUP(0)                        // quants 0..63
	T5GROUP(1)                        // 64..127
	T5GROUP(2)                        // 128..191
	T5GROUP(3)                        // 192..255
	MOVWLZX (SI), AX                  // X13 = float32(d)
	VMOVD AX, X13
	VCVTPH2PS X13, X13
	TSCALE(DI, Y8, Y0)                // acc += d·y.d·isum, per row
	TSCALE(R9, Y9, Y1)
	TSCALE(R11, Y10, Y2)
	TSCALE(R14, Y11, Y3)
	ADDQ $176, SI                     // next super-blocks
	ADDQ $292, DI
	ADDQ $292, R9
	ADDQ $292, R11
	ADDQ $292, R14
	DECQ CX
	JMP  vtq5kloop

vtq5kdone:
	MOVQ out+32(FP), DX
	T5FINISH(Y0, X0, 0, 0)
	T5FINISH(Y1, X1, 16, 4)
	T5FINISH(Y2, X2, 32, 8)
	T5FINISH(Y3, X3, 48, 12)
	VZEROUPPER
	RET
