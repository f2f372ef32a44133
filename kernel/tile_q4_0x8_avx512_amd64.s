//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD, EVEX encodings of VPSRLW, VPANDD, VMOVDQU64 on Y16–Y31);
// ggml/src/ggml-cpu/repack.cpp (ggml_gemm_q4_0_8x8_q8_0: four activation rows per packed block).

#include "textflag.h"

DATA q48Nibble<>+0(SB)/8, $0x0f0f0f0f0f0f0f0f
GLOBL q48Nibble<>(SB), RODATA|NOPTR, $8
DATA q48Eight<>+0(SB)/8, $0x0808080808080808
GLOBL q48Eight<>(SB), RODATA|NOPTR, $8

// Q48UNPACK splits the packed pair at off(SI) ([row k | row k+4], 32
// bytes) into its low nibbles (L) and high nibbles (H), unsigned.
#define Q48UNPACK(off, L, H) \
	VMOVDQU off(SI), Y6; \
	VPSRLW $4, Y6, Y5; \
	VPANDD Y15, Y6, L; \
	VPANDD Y15, Y5, H

// Q48ROW adds the block of the activation row at P to accumulator A (its
// eight lanes the eight weight rows), as one block of dotQ4_0x8VNNIAsm:
// −8·Σx per lane, VPDPBUSD of the nibbles (Y16–Y23) with x, three VPHADDDs
// to the eight rows' sums, as float32, one FMA with w.d (Y12) · x.d.
#define Q48ROW(P, A) \
	VBROADCASTI128 2(P), Y1; \
	VBROADCASTI128 18(P), Y2; \
	VPXOR Y4, Y4, Y4; \
	VPDPBUSD Y1, Y14, Y4; \
	VPDPBUSD Y2, Y14, Y4; \
	VPSUBD Y4, Y7, Y3; \
	VMOVDQA Y3, Y8; \
	VPDPBUSD Y1, Y16, Y8; \
	VPDPBUSD Y2, Y17, Y8; \
	VMOVDQA Y3, Y9; \
	VPDPBUSD Y1, Y18, Y9; \
	VPDPBUSD Y2, Y19, Y9; \
	VMOVDQA Y3, Y10; \
	VPDPBUSD Y1, Y20, Y10; \
	VPDPBUSD Y2, Y21, Y10; \
	VMOVDQA Y3, Y11; \
	VPDPBUSD Y1, Y22, Y11; \
	VPDPBUSD Y2, Y23, Y11; \
	VPHADDD Y9, Y8, Y8; \
	VPHADDD Y11, Y10, Y10; \
	VPHADDD Y10, Y8, Y8; \
	VCVTDQ2PS Y8, Y8; \
	MOVWLZX (P), AX; \
	VBROADCASTSS (R8)(AX*4), Y5; \
	VMULPS Y5, Y12, Y4; \
	VFMADD231PS Y4, Y8, A

// func tileQ4_0x8VNNIAsm(nb int, w, x *byte, xStride int, out *float32, outStride int)
//
// Registers: SI = packed block (144 bytes); DI, R9, R11, R14 = the
// activation rows' blocks; CX = blocks left; R8 = &fp16Table; Y24..Y27 =
// the rows' accumulators; Y12 = the eight weight rows' w.d; Y16..Y23 = the
// block's nibbles (pairs 0..3, low then high); Y7 = zero; Y14 = bytes of
// 8; Y15 = bytes of 0x0F.
TEXT ·tileQ4_0x8VNNIAsm(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ x+16(FP), DI
	MOVQ xStride+24(FP), DX
	LEAQ (DI)(DX*1), R9
	LEAQ (R9)(DX*1), R11
	LEAQ (R11)(DX*1), R14
	MOVQ ·fp16Table(SB), R8
	VPBROADCASTQ q48Nibble<>(SB), Y15
	VPBROADCASTQ q48Eight<>(SB), Y14
	VPXOR Y7, Y7, Y7
	VPXORD Y24, Y24, Y24
	VPXORD Y25, Y25, Y25
	VPXORD Y26, Y26, Y26
	VPXORD Y27, Y27, Y27

q48loop:
	Q48UNPACK(16, Y16, Y17)           // rows 0 | 4
	Q48UNPACK(48, Y18, Y19)           // rows 1 | 5
	Q48UNPACK(80, Y20, Y21)           // rows 2 | 6
	Q48UNPACK(112, Y22, Y23)          // rows 3 | 7
	VCVTPH2PS (SI), Y12               // the rows' w.d
	Q48ROW(DI, Y24)
	Q48ROW(R9, Y25)
	Q48ROW(R11, Y26)
	Q48ROW(R14, Y27)
	ADDQ $144, SI
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $34, R11
	ADDQ $34, R14
	DECQ CX
	JNZ  q48loop

	MOVQ out+32(FP), DX
	MOVQ outStride+40(FP), BX
	SHLQ $2, BX                       // bytes between output rows
	VMOVUPS Y24, (DX)
	ADDQ BX, DX
	VMOVUPS Y25, (DX)
	ADDQ BX, DX
	VMOVUPS Y26, (DX)
	ADDQ BX, DX
	VMOVUPS Y27, (DX)
	VZEROUPPER
	RET
