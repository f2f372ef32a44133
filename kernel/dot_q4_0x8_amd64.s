//go:build !purego

// Reference: ggml/src/ggml-cpu/repack.cpp (ggml_gemv_q4_0_8x8_q8_0: eight Q4_0 rows per pass); the
// layout and the instruction sequence here are our own (dot_q4_0x8.go).

#include "textflag.h"

DATA p8Nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL p8Nibble<>(SB), RODATA|NOPTR, $8
DATA p8Eight<>+0(SB)/8, $0x0808080808080808
GLOBL p8Eight<>(SB), RODATA|NOPTR, $8
DATA p8Ones<>+0(SB)/8, $0x0001000100010001
GLOBL p8Ones<>(SB), RODATA|NOPTR, $8

// P8PAIR leaves in I the int32 partial sums of rows k and k+4 of the block
// (their quants at off(SI), 32 bytes: [row k | row k+4]), four lanes each:
// the nibbles q (unsigned) times x by VPMADDUBSW, low nibbles with
// x[0..15] (Y1), high with x[16..31] (Y2), less 8·x (Y3), so (q−8)·x.
// Word sums stay below 2¹⁵: |q·x pair| ≤ 2·15·128, two of them, and
// 8·(four x) ≤ 4096. Clobbers Y6.
#define P8PAIR(off, I) \
	VMOVDQU off(SI), I; \
	VPSRLW $4, I, Y6; \
	VPAND Y15, I, I; \
	VPAND Y15, Y6, Y6; \
	VPMADDUBSW Y1, I, I; \
	VPMADDUBSW Y2, Y6, Y6; \
	VPADDW Y6, I, I; \
	VPSUBW Y3, I, I; \
	VPMADDWD Y13, I, I

// func dotQ4_0x8Asm(nb int, w, x *byte, out *[8]float32)
//
// Registers: SI = packed block (144 bytes); DI = x block (34 bytes); CX =
// blocks left; R8 = &fp16Table; Y0 = the eight rows' sums; Y1, Y2 = x's
// quants 0..15 and 16..31, each in both halves; Y3 = 8·x summed as the
// pairs are; Y8..Y11 = the pairs' int32 sums; Y13 = words of 1; Y14 =
// bytes of 8; Y15 = bytes of 0x0F.
TEXT ·dotQ4_0x8Asm(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ ·fp16Table(SB), R8
	VPBROADCASTQ p8Nibble<>(SB), Y15
	VPBROADCASTQ p8Eight<>(SB), Y14
	VPBROADCASTQ p8Ones<>(SB), Y13
	VXORPS Y0, Y0, Y0

p8loop:
	VBROADCASTI128 2(DI), Y1          // x quants 0..15 | 0..15
	VBROADCASTI128 18(DI), Y2         // x quants 16..31 | 16..31
	VPMADDUBSW Y1, Y14, Y3            // 8·x, paired as P8PAIR pairs q·x
	VPMADDUBSW Y2, Y14, Y4
	VPADDW Y4, Y3, Y3
	P8PAIR(16, Y8)                    // rows 0 | 4
	P8PAIR(48, Y9)                    // rows 1 | 5
	P8PAIR(80, Y10)                   // rows 2 | 6
	P8PAIR(112, Y11)                  // rows 3 | 7
	VPHADDD Y9, Y8, Y8                // [r0 r0 r1 r1 | r4 r4 r5 r5]
	VPHADDD Y11, Y10, Y10             // [r2 r2 r3 r3 | r6 r6 r7 r7]
	VPHADDD Y10, Y8, Y8               // [r0 r1 r2 r3 | r4 r5 r6 r7]
	VCVTDQ2PS Y8, Y8
	VCVTPH2PS (SI), Y4                // the rows' w.d (exact, as fp16Table)
	MOVWLZX (DI), AX
	VBROADCASTSS (R8)(AX*4), Y5       // x.d
	VMULPS Y5, Y4, Y4                 // w.d·x.d per row
	VFMADD231PS Y4, Y8, Y0            // sums += block sums · d
	ADDQ $144, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  p8loop

	MOVQ out+24(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
