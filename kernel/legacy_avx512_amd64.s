//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD, AVX512_VNNI with AVX512VL: 256-bit EVEX forms);
// ggml/src/ggml-cpu/llamafile/sgemm.cpp (tinyBLAS_Q0_AVX::updot takes _mm256_dpbusd_epi32 where the
// CPU has AVX512VNNI+VL).

#include "textflag.h"
#include "hsum_amd64.h"

// The AVX512-VNNI forms of the Q8_0 and Q4_0 kernels. Each computes exactly
// the integer sums of its AVX2 twin (VPDPBUSD adds four u8×s8 products into
// an int32 lane without saturating, as VPMADDUBSW+VPMADDWD did for inputs
// below their saturation bound) and then the same float operations in the
// same order, so the results are the AVX2 kernels' (and plain Go's) bit for
// bit. Only 256-bit registers: on Zen 4 a ZMM operation takes a 256-bit
// pipe twice, so what pays is the one instruction in place of two.

DATA v8Ones<>+0(SB)/8, $0x0001000100010001
GLOBL v8Ones<>(SB), RODATA|NOPTR, $8
DATA v4Nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL v4Nibble<>(SB), RODATA|NOPTR, $8
DATA v4Eight<>+0(SB)/8, $0x0808080808080808
GLOBL v4Eight<>(SB), RODATA|NOPTR, $8

// V8ROW adds the Q8_0 block at off of the row at P into accumulator A:
// the weights' signs moved onto the activations (|x| ≤ 127, so x·sign(w)
// is exact), |w| as unsigned bytes (Y9) times those by VPDPBUSD into a
// zeroed T, as float32, times w.d (Y12) · the row's x.d (float32 at
// s(R10), broadcast by the multiply), added by one FMA.
#define V8ROW(P, off, s, A, T, U) \
	VMOVDQU (off+2)(P), U; \
	VPSIGNB Y8, U, U; \
	VPXOR T, T, T; \
	VPDPBUSD U, Y9, T; \
	VCVTDQ2PS T, T; \
	VMULPS.BCST s(R10), Y12, U; \
	VFMADD231PS T, U, A

// V8BLOCK does the block at byte offset off of the weights (SI) and the
// four rows into accumulators A0..A3, the rows' x.d at xo(R10). w.d is
// converted by VCVTPH2PS from a word broadcast (fp16Table's very value, but
// no load from the 256 KiB table, which streamed weights evict).
#define V8BLOCK(off, xo, A0, A1, A2, A3) \
	VPBROADCASTW off(SI), X12; \
	VCVTPH2PS X12, Y12; \
	VMOVDQU (off+2)(SI), Y8; \
	VPABSB Y8, Y9; \
	V8ROW(DI, off, xo, A0, Y4, Y5); \
	V8ROW(R9, off, xo+4, A1, Y6, Y7); \
	V8ROW(R11, off, xo+8, A2, Y10, Y11); \
	V8ROW(R14, off, xo+12, A3, Y13, Y14)

// V8OUT sums A's lanes as HSUM8 does, storing the result at o(DX).
#define V8OUT(A, XA, o) \
	VEXTRACTF128 $1, A, X14; \
	VADDPS X14, XA, XA; \
	VMOVHLPS XA, XA, X14; \
	VADDPS X14, XA, XA; \
	VMOVSHDUP XA, X14; \
	VADDSS X14, XA, XA; \
	VMOVSS XA, o(DX)

// func tileQ8_0VNNIAsm(nb int, w, x *byte, xStride int, xd *float32, out *[4]float32)
//
// Registers: SI = w block; DI, R9, R11, R14 = the rows' blocks; R10 = the
// rows' x.d (four float32 per block); CX = blocks left;
// Y0..Y3 = accumulators; Y8 = w; Y9 = |w|; Y12 = w.d.
TEXT ·tileQ8_0VNNIAsm(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9
	LEAQ (R9)(DX*1), R11
	LEAQ (R11)(DX*1), R14
	MOVQ xd+32(FP), R10
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3

v80loop2:
	CMPQ CX, $2
	JLT  v80tail
	V8BLOCK(0, 0, Y0, Y1, Y2, Y3)     // block i
	V8BLOCK(34, 16, Y0, Y1, Y2, Y3)   // block i+1, after block i
	ADDQ $68, SI
	ADDQ $68, DI
	ADDQ $68, R9
	ADDQ $68, R11
	ADDQ $68, R14
	ADDQ $32, R10
	SUBQ $2, CX
	JMP  v80loop2

v80tail:
	TESTQ CX, CX
	JEQ   v80done
	V8BLOCK(0, 0, Y0, Y1, Y2, Y3)

v80done:
	MOVQ out+40(FP), DX
	V8OUT(Y0, X0, 0)
	V8OUT(Y1, X1, 4)
	V8OUT(Y2, X2, 8)
	V8OUT(Y3, X3, 12)
	VZEROUPPER
	RET

// V8DOT leaves in Y4 the Q8_0 block at off(SI) times the one at off(DI)
// as eight float32 partial sums (as BLOCKSUM of dot_legacy_amd64.s), and
// w.d·x.d in all lanes of Y6. Clobbers AX, BX, Y5.
#define V8DOT(off) \
	VMOVDQU (off+2)(SI), Y4; \
	VMOVDQU (off+2)(DI), Y5; \
	VPSIGNB Y4, Y5, Y5; \
	VPABSB Y4, Y4; \
	VPXOR Y7, Y7, Y7; \
	VPDPBUSD Y5, Y4, Y7; \
	VCVTDQ2PS Y7, Y4; \
	MOVWLZX off(SI), AX; \
	MOVWLZX off(DI), BX; \
	VMOVSS (R8)(AX*4), X6; \
	VMULSS (R8)(BX*4), X6, X6; \
	VBROADCASTSS X6, Y6

// func dotQ8_0VNNIAsm(nb int, w, x *byte) float32
TEXT ·dotQ8_0VNNIAsm(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ ·fp16Table(SB), R8
	VXORPS Y0, Y0, Y0

vd80loop2:
	CMPQ CX, $2
	JLT  vd80tail
	V8DOT(0)
	VFMADD231PS Y4, Y6, Y0            // block i
	V8DOT(34)
	VFMADD231PS Y4, Y6, Y0            // block i+1, after block i
	ADDQ $68, SI
	ADDQ $68, DI
	SUBQ $2, CX
	JMP  vd80loop2

vd80tail:
	TESTQ CX, CX
	JEQ   vd80done
	V8DOT(0)
	VFMADD231PS Y4, Y6, Y0

vd80done:
	HSUM8
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// V48PAIR leaves in I the int32 partial sums of rows k and k+4 of a packed
// Q4_0 block (their quants at off(SI), [row k | row k+4]), four lanes each:
// starting from −8·Σx of the lane's eight activations (Y3), VPDPBUSD adds
// the unsigned low nibbles times x[0..15] (Y1) and the high ones times
// x[16..31] (Y2), so (q−8)·x exactly. Clobbers Y5, Y6.
#define V48PAIR(off, I) \
	VMOVDQU off(SI), Y6; \
	VPSRLW $4, Y6, Y5; \
	VPAND Y15, Y6, Y6; \
	VPAND Y15, Y5, Y5; \
	VMOVDQA Y3, I; \
	VPDPBUSD Y1, Y6, I; \
	VPDPBUSD Y2, Y5, I

// func dotQ4_0x8VNNIAsm(nb int, w, x *byte, out *[8]float32)
//
// dotQ4_0x8Asm with VPDPBUSD. Registers: SI = packed block (144 bytes);
// DI = x block; CX = blocks left; R8 = &fp16Table; Y0 = the eight rows'
// sums; Y1, Y2 = x quants 0..15 and 16..31 in both halves; Y3 = −8·Σx per
// lane; Y7 = zero; Y8..Y11 = the pairs' sums; Y14 = bytes of 8; Y15 =
// bytes of 0x0F.
TEXT ·dotQ4_0x8VNNIAsm(SB), NOSPLIT, $0-32
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ ·fp16Table(SB), R8
	VPBROADCASTQ v4Nibble<>(SB), Y15
	VPBROADCASTQ v4Eight<>(SB), Y14
	VXORPS Y0, Y0, Y0
	VPXOR Y7, Y7, Y7

v48loop:
	VBROADCASTI128 2(DI), Y1          // x quants 0..15 | 0..15
	VBROADCASTI128 18(DI), Y2         // x quants 16..31 | 16..31
	VPXOR Y4, Y4, Y4
	VPDPBUSD Y1, Y14, Y4              // 8·Σx per lane, both halves of x
	VPDPBUSD Y2, Y14, Y4
	VPSUBD Y4, Y7, Y3                 // Y3 = −8·Σx
	V48PAIR(16, Y8)                   // rows 0 | 4
	V48PAIR(48, Y9)                   // rows 1 | 5
	V48PAIR(80, Y10)                  // rows 2 | 6
	V48PAIR(112, Y11)                 // rows 3 | 7
	VPHADDD Y9, Y8, Y8                // [r0 r0 r1 r1 | r4 r4 r5 r5]
	VPHADDD Y11, Y10, Y10             // [r2 r2 r3 r3 | r6 r6 r7 r7]
	VPHADDD Y10, Y8, Y8               // [r0 r1 r2 r3 | r4 r5 r6 r7]
	VCVTDQ2PS Y8, Y8
	VCVTPH2PS (SI), Y4                // the rows' w.d
	MOVWLZX (DI), AX
	VBROADCASTSS (R8)(AX*4), Y5       // x.d
	VMULPS Y5, Y4, Y4                 // w.d·x.d per row
	VFMADD231PS Y4, Y8, Y0            // sums += block sums · d
	ADDQ $144, SI
	ADDQ $34, DI
	DECQ CX
	JNZ  v48loop

	MOVQ out+24(FP), DX
	VMOVUPS Y0, (DX)
	VZEROUPPER
	RET
