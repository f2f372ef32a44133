//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 ggml_vec_dot_q4_0_q8_0, _q8_0_q8_0); ggml-common.h layouts.

#include "textflag.h"

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

// SCALE leaves FP16ToFP32(*wd)·FP16ToFP32(*xd) in all lanes of Y6; clobbers AX, BX, X7.
#define SCALE(wd, xd) \
	MOVWLZX wd, AX; \
	MOVWLZX xd, BX; \
	SHLL $16, BX; \
	ORL BX, AX; \
	VMOVD AX, X6; \
	VCVTPH2PS X6, X6; \
	VMOVSHDUP X6, X7; \
	VMULSS X7, X6, X6; \
	VBROADCASTSS X6, Y6

// HSUM8 leaves the sum of Y0's eight lanes in X0's low lane; clobbers X1.
#define HSUM8 \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0

// SCALE2 leaves w.d·x.d of block i in the low four lanes of Y6 and of block
// i+1 in the high four; wd0/xd0 and wd1/xd1 address the two blocks' fp16
// scales. Y12 holds the lane indices 0,0,0,0,2,2,2,2. Clobbers AX, BX, X7.
#define SCALE2(wd0, xd0, wd1, xd1) \
	MOVWLZX wd0, AX; \
	MOVWLZX xd0, BX; \
	SHLL $16, BX; \
	ORL BX, AX; \
	VMOVD AX, X6; \
	MOVWLZX wd1, AX; \
	MOVWLZX xd1, BX; \
	SHLL $16, BX; \
	ORL BX, AX; \
	VPINSRD $1, AX, X6, X6; \
	VCVTPH2PS X6, X6; \
	VMOVSHDUP X6, X7; \
	VMULPS X7, X6, X6; \
	VPERMPS Y6, Y12, Y6

DATA q40Lanes<>+0(SB)/8, $0
DATA q40Lanes<>+8(SB)/8, $0
DATA q40Lanes<>+16(SB)/8, $0x0000000200000002
DATA q40Lanes<>+24(SB)/8, $0x0000000200000002
GLOBL q40Lanes<>(SB), RODATA|NOPTR, $32

// func dotQ4_0Asm(nb int, w, x *byte) float32
//
// Two blocks per pass share the vector width: the low lane carries block i,
// the high lane block i+1, so one nibble split, one pair of multiplies and
// one scale conversion serve both.
TEXT ·dotQ4_0Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                  // CX = blocks left
	MOVQ w+8(FP), SI                   // SI = &w block (18 bytes)
	MOVQ x+16(FP), DI                  // DI = &x block (34 bytes)
	VPBROADCASTQ nibbleMask<>(SB), Y15 // Y15 = 0x0F bytes
	VPBROADCASTQ eightBytes<>(SB), Y14 // Y14 = 8 bytes
	VPBROADCASTQ oneWords<>(SB), Y13   // Y13 = 1 words
	VMOVDQU q40Lanes<>(SB), Y12        // Y12 = lane indices for SCALE2
	VXORPS Y0, Y0, Y0                  // Y0 = Σ d·sums lanes

q40loop2:
	CMPQ CX, $2
	JLT  q40tail
	VMOVDQU 2(SI), X4                  // X4 = qs of block i
	VINSERTI128 $1, 20(SI), Y4, Y4     // high lane: qs of block i+1
	VPSRLW $4, Y4, Y5                  // high nibbles down
	VPAND Y15, Y4, Y4                  // Y4 = quants 0..15 of i | of i+1
	VPAND Y15, Y5, Y5                  // Y5 = quants 16..31 of i | of i+1
	VPSUBB Y14, Y4, Y4                 // q - 8
	VPSUBB Y14, Y5, Y5
	VMOVDQU 2(DI), X8                  // X8 = x.qs[0:16] of block i
	VINSERTI128 $1, 36(DI), Y8, Y8     // high lane: x.qs[0:16] of block i+1
	VMOVDQU 18(DI), X9                 // X9 = x.qs[16:32] of block i
	VINSERTI128 $1, 52(DI), Y9, Y9     // high lane: x.qs[16:32] of block i+1
	VPSIGNB Y4, Y8, Y8                 // x·sign(q)
	VPABSB Y4, Y4                      // |q|
	VPMADDUBSW Y8, Y4, Y4              // pairs of products, |pair| <= 2·8·127
	VPSIGNB Y5, Y9, Y9
	VPABSB Y5, Y5
	VPMADDUBSW Y9, Y5, Y5
	VPADDW Y5, Y4, Y4                  // four products per word, |word| <= 4064
	VPMADDWD Y13, Y4, Y4               // eight per int32
	VCVTDQ2PS Y4, Y4                   // as float32
	SCALE2((SI), (DI), 18(SI), 34(DI)) // Y6 = [d_i ×4 | d_i+1 ×4]
	VFMADD231PS Y4, Y6, Y0             // acc += d·sums
	ADDQ $36, SI                       // two blocks on
	ADDQ $68, DI
	SUBQ $2, CX
	JMP  q40loop2

q40tail:
	TESTQ CX, CX
	JEQ   q40done
	VMOVDQU 2(SI), X4                  // last block: X4 = qs
	VPSRLW $4, X4, X5                  // X5 = qs >> 4
	VINSERTI128 $1, X5, Y4, Y4         // Y4 = [qs | qs>>4]
	VPAND Y15, Y4, Y4                  // quants 0..15 then 16..31
	VPSUBB Y14, Y4, Y4                 // q - 8
	VMOVDQU 2(DI), Y5                  // x.qs
	BLOCKSUM                           // Y4 = float32 partial sums
	SCALE((SI), (DI))                  // Y6 = w.d·x.d
	VFMADD231PS Y4, Y6, Y0

q40done:
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotQ8_0Asm(nb int, w, x *byte) float32
TEXT ·dotQ8_0Asm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ w+8(FP), SI                  // SI = &w block (34 bytes)
	MOVQ x+16(FP), DI                 // DI = &x block (34 bytes)
	VPBROADCASTQ oneWords<>(SB), Y13  // Y13 = 1 words
	VXORPS Y0, Y0, Y0                 // two accumulators, alternate blocks
	VXORPS Y2, Y2, Y2

q80loop2:
	CMPQ CX, $2
	JLT  q80tail
	VMOVDQU 2(SI), Y4                 // Y4 = w.qs
	VMOVDQU 2(DI), Y5                 // Y5 = x.qs
	BLOCKSUM                          // Y4 = float32 partial sums
	SCALE((SI), (DI))                 // Y6 = w.d·x.d
	VFMADD231PS Y4, Y6, Y0            // acc0 += d·sums
	VMOVDQU 36(SI), Y4                // block i+1
	VMOVDQU 36(DI), Y5
	BLOCKSUM
	SCALE(34(SI), 34(DI))
	VFMADD231PS Y4, Y6, Y2            // acc1 += d·sums
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
	SCALE((SI), (DI))
	VFMADD231PS Y4, Y6, Y0

q80done:
	VADDPS Y2, Y0, Y0                 // fold the accumulators
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
