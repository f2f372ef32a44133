//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q8_0_q8_0), here for four activation rows.

#include "textflag.h"

// A 1×4 tile of Q8_0 × Q8_0 dots with exactly the operations of
// dotQ8_0Asm (dot_legacy_amd64.s) for each product, so the results are bit
// for bit those of four dots: per row, one accumulator to which each block,
// in order, adds d·(eight int32 partial sums) by FMA.
// Shared by the rows: loading the weight block, |w|, converting w.d.
//
// Registers: SI = w block; DI, R9, R11, R14 = the rows' blocks (xStride
// apart); R10 = the rows' x.d as four float32 (Q8_0Scales4), 16 bytes per
// block; CX = blocks left; Y0..Y3 = accumulators of rows 0..3; Y8 = w;
// Y9 = |w|; Y10, Y11 = temporaries; Y12 = w.d; Y13 = words of 1. Each
// row's w.d·x.d is formed in Y11 from w.d and its x.d broadcast from
// memory (exact, so in any order): reading the scales from float32 and
// keeping them out of the stack took the tile from 451–475 to 326–333
// cpu-ns per 4096-element tile (BenchmarkKernelTile/q8_0).

DATA t8Ones<>+0(SB)/8, $0x0001000100010001
GLOBL t8Ones<>(SB), RODATA|NOPTR, $8

// T8SCALES leaves FP16ToFP32(w.d) of the block at byte offset off in
// every lane of Y12.
#define T8SCALES(off) \
	MOVWLZX off(SI), AX; \
	VMOVD AX, X11; \
	VCVTPH2PS X11, X11; \
	VBROADCASTSS X11, Y12

// T8ROW adds the block at off of the row at P into accumulator A, with the
// weights in Y8 and |w| in Y9; the row's x.d is at s(R10). As BLOCKSUM and
// the FMA of dotQ8_0Asm.
#define T8ROW(P, off, s, A) \
	VMOVDQU (off+2)(P), Y10; \
	VPSIGNB Y8, Y10, Y10; \
	VPMADDUBSW Y10, Y9, Y10; \
	VPMADDWD Y13, Y10, Y10; \
	VCVTDQ2PS Y10, Y10; \
	VBROADCASTSS s(R10), Y11; \
	VMULPS Y12, Y11, Y11; \
	VFMADD231PS Y10, Y11, A

// T8BLOCK does the block at byte offset off into accumulators A0..A3.
#define T8BLOCK(off, xo, A0, A1, A2, A3) \
	T8SCALES(off); \
	VMOVDQU (off+2)(SI), Y8; \
	VPABSB Y8, Y9; \
	T8ROW(DI, off, xo, A0); \
	T8ROW(R9, off, xo+4, A1); \
	T8ROW(R11, off, xo+8, A2); \
	T8ROW(R14, off, xo+12, A3)

// T8OUT sums A's lanes as HSUM8 does, storing the result at o(DX).
#define T8OUT(A, XA, o) \
	VEXTRACTF128 $1, A, X14; \
	VADDPS X14, XA, XA; \
	VMOVHLPS XA, XA, X14; \
	VADDPS X14, XA, XA; \
	VMOVSHDUP XA, X14; \
	VADDSS X14, XA, XA; \
	VMOVSS XA, o(DX)

// func tileQ8_0Asm(nb int, w, x *byte, xStride int, xd *float32, out *[4]float32)
TEXT ·tileQ8_0Asm(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block
	MOVQ x+16(FP), DI                 // DI = &row 0 block
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9               // R9 = &row 1 block
	LEAQ (R9)(DX*1), R11              // R11 = &row 2 block
	LEAQ (R11)(DX*1), R14             // R14 = &row 3 block
	MOVQ xd+32(FP), R10               // R10 = &the rows' four x.d
	VPBROADCASTQ t8Ones<>(SB), Y13    // Y13 = words of 1
	VXORPS Y0, Y0, Y0                 // accumulators, rows 0..3
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

t80loop2:
	CMPQ CX, $2
	JLT  t80tail
	T8BLOCK(0, 0, Y0, Y1, Y2, Y3)     // block i
	T8BLOCK(34, 16, Y0, Y1, Y2, Y3)   // block i+1, after block i
	ADDQ $68, SI                      // two blocks on
	ADDQ $68, DI
	ADDQ $68, R9
	ADDQ $68, R11
	ADDQ $68, R14
	ADDQ $32, R10
	SUBQ $2, CX
	JMP  t80loop2

t80tail:
	TESTQ CX, CX
	JEQ   t80done
	T8BLOCK(0, 0, Y0, Y1, Y2, Y3)     // last block

t80done:
	MOVQ out+40(FP), DX
	T8OUT(Y0, X0, 0)
	T8OUT(Y1, X1, 4)
	T8OUT(Y2, X2, 8)
	T8OUT(Y3, X3, 12)
	VZEROUPPER
	RET

// The Q4_0 tile, giving dotQ4_0Asm's bits for each product: per block, the
// four rows' exact integer sums, as float32, are added by one FMA to a
// four-lane accumulator (lane j = row j) with the rows' w.d·x.d. Shared by
// the rows: the nibble split, q−8, |q−8|, w.d; the four integer sums come
// out of one VPHADDD tree.
//
// Registers: SI = w block (18 bytes); DI, R9, R11, R14 = the rows' blocks
// (34 bytes); R10 = the rows' x.d as float32; CX = blocks left; X0 = the four rows' sums; Y4 = q−8 (quants
// 0..15 | 16..31); Y6 = |q−8|; Y8..Y11 = the rows' int32 lanes; X12 = the
// rows' x.d then w.d·x.d; X7 = w.d; Y13 = words of 1; Y14 = bytes of 8;
// Y15 = bytes of 0x0F.

DATA t4Nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL t4Nibble<>(SB), RODATA|NOPTR, $8
DATA t4Eight<>+0(SB)/8, $0x0808080808080808
GLOBL t4Eight<>(SB), RODATA|NOPTR, $8

// T4ROW leaves the eight int32 partial sums of the block of the row at P
// in I (weights' q−8 in Y4, |q−8| in Y6).
#define T4ROW(P, I) \
	VMOVDQU 2(P), I; \
	VPSIGNB Y4, I, I; \
	VPMADDUBSW I, Y6, I; \
	VPMADDWD Y13, I, I

// func tileQ4_0Asm(nb int, w, x *byte, xStride int, xd *float32, out *[4]float32)
TEXT ·tileQ4_0Asm(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block
	MOVQ x+16(FP), DI                 // DI = &row 0 block
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9               // R9 = &row 1 block
	LEAQ (R9)(DX*1), R11              // R11 = &row 2 block
	LEAQ (R11)(DX*1), R14             // R14 = &row 3 block
	VPBROADCASTQ t4Nibble<>(SB), Y15  // Y15 = 0x0F bytes
	VPBROADCASTQ t4Eight<>(SB), Y14   // Y14 = 8 bytes
	VPBROADCASTQ t8Ones<>(SB), Y13    // Y13 = words of 1
	MOVQ xd+32(FP), R10               // R10 = &the rows' four x.d
	VXORPS Y0, Y0, Y0                 // X0 = sums, rows 0..3

t40loop:
	TESTQ CX, CX
	JEQ   t40done
	VMOVDQU 2(SI), X4                 // [qs | qs>>4]
	VPSRLW $4, X4, X5
	VINSERTI128 $1, X5, Y4, Y4
	VPAND Y15, Y4, Y4                 // quants 0..15 then 16..31
	VPSUBB Y14, Y4, Y4                // q − 8
	VPABSB Y4, Y6                     // |q − 8|
	T4ROW(DI, Y8)
	T4ROW(R9, Y9)
	T4ROW(R11, Y10)
	T4ROW(R14, Y11)
	VPHADDD Y9, Y8, Y8                // [r0 01,23 r1 01,23 | r0 45,67 r1 45,67]
	VPHADDD Y11, Y10, Y10             // the same for rows 2, 3
	VPHADDD Y10, Y8, Y8               // [r0..r3 lanes 0-3 | r0..r3 lanes 4-7]
	VEXTRACTI128 $1, Y8, X9
	VPADDD X9, X8, X8                 // X8 = the four rows' block sums
	VCVTDQ2PS X8, X8
	VMOVUPS (R10), X12                // X12 = the rows' x.d
	VPBROADCASTW (SI), X7             // X7 = w.d in every lane, by
	VCVTPH2PS X7, X7                  // F16C: fp16Table's value, no load
	VMULPS X12, X7, X12               // w.d·x.d per row
	VFMADD231PS X12, X8, X0           // sums += block sums · d
	ADDQ $18, SI                      // one block on
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $34, R11
	ADDQ $34, R14
	ADDQ $16, R10
	DECQ CX
	JMP  t40loop

t40done:
	MOVQ out+40(FP), DX
	VMOVUPS X0, (DX)
	VZEROUPPER
	RET
