//go:build !purego

// Reference: ggml/src/ggml-cpu/simd-mappings.h (AVX2 F32/F16 vectors); Intel SDM vol. 2.

#include "textflag.h"

// The float dots and their 1×4 tiles share one order of operations, so that
// a tile gives bit for bit what four dots give (a prompt then yields exactly
// the logits that token-by-token decoding does): per product, two 8-lane
// accumulators take alternate groups of 8 elements by fused multiply-add, a
// last group of 8 goes to the first, the two are added and folded to one
// lane as REDUCE does, and the last n%8 elements are added one by one, fused.
//
// The dots prefetch the weights 64 elements ahead: in interleaved runs on
// this machine F16 and BF16 weights then streamed from DRAM at 16–31 GB/s
// instead of 12–24, though the host's noise is as large (see
// docs/performance.md). Prefetching has no effect on the results.
//
// Registers: SI = w, AX = byte offset into the activations, BX = into the
// weights, CX = elements left. Dots: DI = x, Y0/Y1 the accumulators.
// Tiles: DI, R9, R10, R11 = the four activation rows, Y0..Y3 their first
// accumulators and Y4..Y7 their second.

// Weight loaders: 8 elements at off(SI)(BX*1) into a YMM register as
// float32, or one element at (SI)(BX*1) into the low lane of an XMM one.
#define W8F32(off, Y) VMOVUPS off(SI)(BX*1), Y
#define W1F32(X) VMOVSS (SI)(BX*1), X
#define W8F16(off, Y) VCVTPH2PS off(SI)(BX*1), Y
#define W1F16(X) MOVWLZX (SI)(BX*1), DX; VMOVD DX, X; VCVTPH2PS X, X
#define W8BF16(off, Y) VPMOVZXWD off(SI)(BX*1), Y; VPSLLD $16, Y, Y
#define W1BF16(X) MOVWLZX (SI)(BX*1), DX; SHLL $16, DX; VMOVD DX, X

// REDUCE leaves in X's low lane the sum of the accumulators Ya and Yb:
// Ya+Yb, then lanes 0..3 + 4..7, then pairs, then the last two. Clobbers X12.
#define REDUCE(Ya, Yb, X) \
	VADDPS Yb, Ya, Ya; \
	VEXTRACTF128 $1, Ya, X12; \
	VADDPS X12, X, X; \
	VMOVHLPS X, X, X12; \
	VADDPS X12, X, X; \
	VMOVSHDUP X, X12; \
	VADDSS X12, X, X

// DOT is the body of a dot of es-byte weights read by W8 and W1.
#define DOT(es, W8, W1) \
	MOVQ n+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	XORQ AX, AX; \
	XORQ BX, BX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
loop16: \
	CMPQ CX, $16; \
	JLT tail8; \
	PREFETCHT0 (64*es)(SI)(BX*1); \
	W8(0, Y4); \
	W8(8*es, Y5); \
	VFMADD231PS (DI)(AX*1), Y4, Y0; \
	VFMADD231PS 32(DI)(AX*1), Y5, Y1; \
	ADDQ $64, AX; \
	ADDQ $(16*es), BX; \
	SUBQ $16, CX; \
	JMP loop16; \
tail8: \
	CMPQ CX, $8; \
	JLT reduce; \
	W8(0, Y4); \
	VFMADD231PS (DI)(AX*1), Y4, Y0; \
	ADDQ $32, AX; \
	ADDQ $(8*es), BX; \
	SUBQ $8, CX; \
reduce: \
	REDUCE(Y0, Y1, X0); \
tail1: \
	TESTQ CX, CX; \
	JEQ done; \
	W1(X4); \
	VFMADD231SS (DI)(AX*1), X4, X0; \
	ADDQ $4, AX; \
	ADDQ $es, BX; \
	DECQ CX; \
	JMP tail1; \
done: \
	VZEROUPPER; \
	MOVSS X0, ret+24(FP); \
	RET

// TILE is the body of a 1×4 tile: the same steps as DOT for four
// activation rows xStride bytes apart, each weight vector loaded once.
#define TILE(es, W8, W1) \
	MOVQ n+0(FP), CX; \
	MOVQ w+8(FP), SI; \
	MOVQ x+16(FP), DI; \
	MOVQ xStride+24(FP), DX; \
	LEAQ (DI)(DX*1), R9; \
	LEAQ (R9)(DX*1), R10; \
	LEAQ (R10)(DX*1), R11; \
	XORQ AX, AX; \
	XORQ BX, BX; \
	VXORPS Y0, Y0, Y0; \
	VXORPS Y1, Y1, Y1; \
	VXORPS Y2, Y2, Y2; \
	VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; \
	VXORPS Y5, Y5, Y5; \
	VXORPS Y6, Y6, Y6; \
	VXORPS Y7, Y7, Y7; \
loop16: \
	CMPQ CX, $16; \
	JLT tail8; \
	W8(0, Y8); \
	W8(8*es, Y9); \
	VFMADD231PS (DI)(AX*1), Y8, Y0; \
	VFMADD231PS 32(DI)(AX*1), Y9, Y4; \
	VFMADD231PS (R9)(AX*1), Y8, Y1; \
	VFMADD231PS 32(R9)(AX*1), Y9, Y5; \
	VFMADD231PS (R10)(AX*1), Y8, Y2; \
	VFMADD231PS 32(R10)(AX*1), Y9, Y6; \
	VFMADD231PS (R11)(AX*1), Y8, Y3; \
	VFMADD231PS 32(R11)(AX*1), Y9, Y7; \
	ADDQ $64, AX; \
	ADDQ $(16*es), BX; \
	SUBQ $16, CX; \
	JMP loop16; \
tail8: \
	CMPQ CX, $8; \
	JLT reduce; \
	W8(0, Y8); \
	VFMADD231PS (DI)(AX*1), Y8, Y0; \
	VFMADD231PS (R9)(AX*1), Y8, Y1; \
	VFMADD231PS (R10)(AX*1), Y8, Y2; \
	VFMADD231PS (R11)(AX*1), Y8, Y3; \
	ADDQ $32, AX; \
	ADDQ $(8*es), BX; \
	SUBQ $8, CX; \
reduce: \
	REDUCE(Y0, Y4, X0); \
	REDUCE(Y1, Y5, X1); \
	REDUCE(Y2, Y6, X2); \
	REDUCE(Y3, Y7, X3); \
tail1: \
	TESTQ CX, CX; \
	JEQ done; \
	W1(X8); \
	VFMADD231SS (DI)(AX*1), X8, X0; \
	VFMADD231SS (R9)(AX*1), X8, X1; \
	VFMADD231SS (R10)(AX*1), X8, X2; \
	VFMADD231SS (R11)(AX*1), X8, X3; \
	ADDQ $4, AX; \
	ADDQ $es, BX; \
	DECQ CX; \
	JMP tail1; \
done: \
	MOVQ out+32(FP), DX; \
	VMOVSS X0, (DX); \
	VMOVSS X1, 4(DX); \
	VMOVSS X2, 8(DX); \
	VMOVSS X3, 12(DX); \
	VZEROUPPER; \
	RET

// func dotF32Asm(n int, w, x *byte) float32
TEXT ·dotF32Asm(SB), NOSPLIT, $0-28
	DOT(4, W8F32, W1F32)

// func dotF16Asm(n int, w, x *byte) float32
TEXT ·dotF16Asm(SB), NOSPLIT, $0-28
	DOT(2, W8F16, W1F16)

// func dotBF16Asm(n int, w, x *byte) float32
TEXT ·dotBF16Asm(SB), NOSPLIT, $0-28
	DOT(2, W8BF16, W1BF16)

// func tileF32Asm(n int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileF32Asm(SB), NOSPLIT, $0-40
	TILE(4, W8F32, W1F32)

// func tileF16Asm(n int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileF16Asm(SB), NOSPLIT, $0-40
	TILE(2, W8F16, W1F16)

// func tileBF16Asm(n int, w, x *byte, xStride int, out *[4]float32)
TEXT ·tileBF16Asm(SB), NOSPLIT, $0-40
	TILE(2, W8BF16, W1BF16)
