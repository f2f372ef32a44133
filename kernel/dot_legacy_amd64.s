//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_0_q8_0, _q8_0_q8_0); ggml-common.h layouts.

#include "textflag.h"
#include "hsum_amd64.h"

// Constants: bytes of 0x0F (nibble mask), of 8 (Q4_0 offset), words of 1.
DATA nibbleMask<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL nibbleMask<>(SB), RODATA|NOPTR, $8
DATA eightBytes<>+0(SB)/8, $0x0808080808080808
GLOBL eightBytes<>(SB), RODATA|NOPTR, $8
DATA oneWords<>+0(SB)/8, $0x0001000100010001
GLOBL oneWords<>(SB), RODATA|NOPTR, $8

// BLOCKSUM turns the signed bytes of Y4 (weights) and Y5 (activations) into
// eight int32 sums of four products each, then float32, in Y4:
// |w| as unsigned × y·sign(w) as signed gives the same products, and
// VPMADDUBSW needs one unsigned operand. Pairs are at most 2·128·127 < 2¹⁵.
#define BLOCKSUM \
	VPSIGNB Y4, Y5, Y5; \
	VPABSB Y4, Y4; \
	VPMADDUBSW Y5, Y4, Y4; \
	VPMADDWD Y13, Y4, Y4; \
	VCVTDQ2PS Y4, Y4

// SCALET leaves FP16ToFP32(*wd)·FP16ToFP32(*xd) in all lanes of Y6: w.d
// by VCVTPH2PS of a word broadcast, x.d from fp16Table at R8 (every half's
// float32 value, the very values VCVTPH2PS gives). The weights' scales are
// spread over the 256 KiB table and a decode step streams the weights,
// which evict it, so their lookups miss; the activation row's few scales
// stay cached. Clobbers BX.
#define SCALET(wd, xd) \
	VPBROADCASTW wd, X6; \
	VCVTPH2PS X6, X6; \
	MOVWLZX xd, BX; \
	VMULSS (R8)(BX*4), X6, X6; \
	VBROADCASTSS X6, Y6

// Q40BLOCK adds the Q4_0 block at wo(SI) times the Q8_0 block at xo(DI) to
// X0's low lane as llama.cpp's repacked q4_0_8x8 kernels do: the exact
// integer sum of the block's 32 products, as float32, by one scalar FMA
// with w.d·x.d (w.d converted, x.d from fp16Table at R8, as SCALET).
// Clobbers BX, X4..X6.
#define Q40BLOCK(wo, xo) \
	VMOVDQU (wo+2)(SI), X4; \
	VPSRLW $4, X4, X5; \
	VINSERTI128 $1, X5, Y4, Y4; \
	VPAND Y15, Y4, Y4; \
	VPSUBB Y14, Y4, Y4; \
	VMOVDQU (xo+2)(DI), Y5; \
	VPSIGNB Y4, Y5, Y5; \
	VPABSB Y4, Y4; \
	VPMADDUBSW Y5, Y4, Y4; \
	VPMADDWD Y13, Y4, Y4; \
	VEXTRACTI128 $1, Y4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0x4E, X4, X5; \
	VPADDD X5, X4, X4; \
	VPSHUFD $0xB1, X4, X5; \
	VPADDD X5, X4, X4; \
	VCVTDQ2PS X4, X4; \
	VPBROADCASTW wo(SI), X6; \
	VCVTPH2PS X6, X6; \
	MOVWLZX xo(DI), BX; \
	VMULSS (R8)(BX*4), X6, X6; \
	VFMADD231SS X6, X4, X0

// Q40INT leaves in Y the eight int32 partial sums of the Q4_0 block at
// wo(SI) times the Q8_0 block at xo(DI); clobbers Y5.
#define Q40INT(wo, xo, Y, X) \
	VMOVDQU (wo+2)(SI), X; \
	VPSRLW $4, X, X5; \
	VINSERTI128 $1, X5, Y, Y; \
	VPAND Y15, Y, Y; \
	VPSUBB Y14, Y, Y; \
	VMOVDQU (xo+2)(DI), Y5; \
	VPSIGNB Y, Y5, Y5; \
	VPABSB Y, Y; \
	VPMADDUBSW Y5, Y, Y; \
	VPMADDWD Y13, Y, Y

// func dotQ4_0Asm(nb int, w, x *byte) float32
//
// Blocks in order, each block's integer sum added by one scalar FMA (the
// order of llama.cpp's repacked Q4_0 kernels); no lanes to fold.
TEXT ·dotQ4_0Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                  // CX = blocks left
	MOVQ w+8(FP), SI                   // SI = &w block (18 bytes)
	MOVQ x+16(FP), DI                  // DI = &x block (34 bytes)
	VPBROADCASTQ nibbleMask<>(SB), Y15 // Y15 = 0x0F bytes
	VPBROADCASTQ eightBytes<>(SB), Y14 // Y14 = 8 bytes
	VPBROADCASTQ oneWords<>(SB), Y13   // Y13 = 1 words
	MOVQ ·fp16Table(SB), R8            // R8 = &fp16Table
	VXORPS Y0, Y0, Y0                  // X0 = Σ d·sums

q40loop2:
	CMPQ CX, $2
	JLT  q40tail
	Q40INT(0, 0, Y4, X4)               // block i's int32 lanes
	Q40INT(18, 34, Y7, X7)             // block i+1's
	VPHADDD Y7, Y4, Y4                 // [i 01,23 i+1 01,23 | i 45,67 i+1 45,67]
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4
	VPHADDD X4, X4, X4                 // X4 = [sum i, sum i+1, …]
	VCVTDQ2PS X4, X4
	VPBROADCASTW (SI), X6              // X6 = w.d·x.d of block i (w.d
	VCVTPH2PS X6, X6                   // converted, x.d by table)
	MOVWLZX (DI), BX
	VMULSS (R8)(BX*4), X6, X6
	VPBROADCASTW 18(SI), X8            // X8 = that of block i+1
	VCVTPH2PS X8, X8
	MOVWLZX 34(DI), BX
	VMULSS (R8)(BX*4), X8, X8
	VFMADD231SS X6, X4, X0             // block i, then
	VMOVSHDUP X4, X4
	VFMADD231SS X8, X4, X0             // block i+1
	ADDQ $36, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JMP  q40loop2

q40tail:
	TESTQ CX, CX
	JEQ   q40done
	Q40BLOCK(0, 0)

q40done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ8_0Asm(nb int, w, x *byte) float32
TEXT ·dotQ8_0Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (34 bytes)
	MOVQ x+16(FP), DI                 // DI = &x block (34 bytes)
	VPBROADCASTQ oneWords<>(SB), Y13  // Y13 = 1 words
	MOVQ ·fp16Table(SB), R8           // R8 = &fp16Table
	VXORPS Y0, Y0, Y0                 // one 8-lane accumulator, blocks in order

q80loop2:
	CMPQ CX, $2
	JLT  q80tail
	VMOVDQU 2(SI), Y4                 // Y4 = w.qs
	VMOVDQU 2(DI), Y5                 // Y5 = x.qs
	BLOCKSUM                          // Y4 = float32 partial sums
	SCALET((SI), (DI))                 // Y6 = w.d·x.d
	VFMADD231PS Y4, Y6, Y0            // acc0 += d·sums
	VMOVDQU 36(SI), Y4                // block i+1
	VMOVDQU 36(DI), Y5
	BLOCKSUM
	SCALET(34(SI), 34(DI))
	VFMADD231PS Y4, Y6, Y0            // acc += d·sums, after block i
	ADDQ $68, SI                      // two blocks on
	ADDQ $68, DI
	SUBQ $2, CX
	JMP  q80loop2

q80tail:
	TESTQ CX, CX
	JEQ   q80done
	VMOVDQU 2(SI), Y4                 // last block, as above
	VMOVDQU 2(DI), Y5
	BLOCKSUM
	SCALET((SI), (DI))
	VFMADD231PS Y4, Y6, Y0

q80done:
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
