//go:build !purego

// Reference: Intel SDM vol. 2 (VPDPBUSD; EVEX registers Y16–Y31); ggml/src/ggml-cpu/llamafile/sgemm.cpp
// (tinyBLAS_Q0_AVX: register tiles of several weight rows by several activation rows).

#include "textflag.h"
#include "hsum_amd64.h"

DATA q84Sign<>+0(SB)/8, $0x8080808080808080
GLOBL q84Sign<>(SB), RODATA|NOPTR, $8

// Q84XCORR leaves −128·Σ of each lane's four activations of the block in X
// in N: VPDPBUSD of bytes of 128 (unsigned) with x (signed), subtracted
// from zero (Y2).
#define Q84XCORR(X, N) \
	VPXOR N, N, N; \
	VPDPBUSD X, Y15, N; \
	VPSUBD N, Y2, N

// Q84PAIR adds to A the block of weight row i (its sign bits flipped, w+128
// unsigned, in F) times activation row j (its block in X, its correction
// in N), whose w.d·x.d the pre-pass left at k(DX): the lanes
// Σ(w+128)·x − 128·Σx = Σ w·x exactly, as float32, by one FMA with that
// product, broadcast from memory.
#define Q84PAIR(X, N, k, F, A) \
	VMOVDQA N, Y0; \
	VPDPBUSD X, F, Y0; \
	VCVTDQ2PS Y0, Y0; \
	VFMADD231PS.BCST k(DX), Y0, A

// Q84WROW does weight row i (F; its four products at k(DX)) against the
// four activation rows, into accumulators A0..A3.
#define Q84WROW(F, k, A0, A1, A2, A3) \
	Q84PAIR(Y1, Y4, k, F, A0); \
	Q84PAIR(Y3, Y5, k+4, F, A1); \
	Q84PAIR(Y12, Y6, k+8, F, A2); \
	Q84PAIR(Y13, Y7, k+12, F, A3)

// Q84OUT sums A's lanes as HSUM8 does (through Y0, which VEX reaches) and
// stores the result at o(DX).
#define Q84OUT(A, o) \
	VMOVAPS A, Y0; \
	HSUM8; \
	VMOVSS X0, o(DX)

// func tileQ8_0x4VNNIAsm(nb int, w *byte, rb int, x *byte, xStride int, xd *float32, out *[16]float32)
//
// The blocks go in chunks of up to 64: a pre-pass forms the chunk's
// products w.d·x.d on the stack (0…4095(SP)), then the main loop does the
// integer dots and one FMA per pair.
//
// Registers: SI, BX, R12, R13 = the four weight rows' blocks (rb apart);
// DI, R9, R11, R14 = the four activation rows' blocks; R10 = their x.d;
// CX = blocks left (of the chunk in the loops); AX = the chunk's blocks,
// then in the main loop the prefetch address; DX = the products of the
// block; Y1, Y3, Y12, Y13 = the activation rows' blocks (the w.d in the
// pre-pass); Y4..Y7 = their corrections; Y8..Y11 = the weight rows'
// flipped blocks; Y2 = zero; Y15 = bytes of 0x80; Y16 + 4i + j =
// accumulator of weight row i and activation row j.
TEXT ·tileQ8_0x4VNNIAsm(SB), $4104-56
	MOVQ nb+0(FP), CX
	MOVQ w+8(FP), SI
	MOVQ rb+16(FP), DX
	LEAQ (SI)(DX*1), BX
	LEAQ (BX)(DX*1), R12
	LEAQ (R12)(DX*1), R13
	MOVQ x+24(FP), DI
	MOVQ xStride+32(FP), DX
	LEAQ (DI)(DX*1), R9
	LEAQ (R9)(DX*1), R11
	LEAQ (R11)(DX*1), R14
	MOVQ xd+40(FP), R10
	VPBROADCASTQ q84Sign<>(SB), Y15
	VPXOR Y2, Y2, Y2                  // Y2 = zero
	VPXORD Y16, Y16, Y16
	VMOVDQA64 Y16, Y17
	VMOVDQA64 Y16, Y18
	VMOVDQA64 Y16, Y19
	VMOVDQA64 Y16, Y20
	VMOVDQA64 Y16, Y21
	VMOVDQA64 Y16, Y22
	VMOVDQA64 Y16, Y23
	VMOVDQA64 Y16, Y24
	VMOVDQA64 Y16, Y25
	VMOVDQA64 Y16, Y26
	VMOVDQA64 Y16, Y27
	VMOVDQA64 Y16, Y28
	VMOVDQA64 Y16, Y29
	VMOVDQA64 Y16, Y30
	VMOVDQA64 Y16, Y31

q84chunk:
	// A chunk of up to 64 blocks: AX of them, CX left after it (kept at
	// 4096(SP)).
	MOVQ CX, AX
	CMPQ AX, $64
	JLE  q84pre0
	MOVQ $64, AX
q84pre0:
	SUBQ AX, CX
	MOVQ CX, 4096(SP)

	// The pre-pass: the sixteen products w.d·x.d of each block of the
	// chunk at 64·b(SP), weight rows 0 and 1 by the four x.d, then rows 2
	// and 3, each rounded once as a scalar product would be. The w.d come
	// from VCVTPH2PS of the broadcast half: fp16Table's value without a
	// load from the 256 KiB table, which the streamed weights keep
	// evicting. Loading the four rows' scales also brings in the chunk's
	// weight lines, many misses in flight at once, before the main loop
	// needs them.
	MOVQ AX, CX
	XORQ R8, R8
	LEAQ 0(SP), DX
q84pre:
	VPBROADCASTW (SI)(R8*1), X12
	VCVTPH2PS X12, Y12
	VPBROADCASTW (BX)(R8*1), X13
	VCVTPH2PS X13, Y13
	VPBROADCASTW (R12)(R8*1), X14
	VCVTPH2PS X14, Y14
	VPBROADCASTW (R13)(R8*1), X3
	VCVTPH2PS X3, Y3
	VBROADCASTF128 (R10), Y1
	VBLENDPS $0xF0, Y13, Y12, Y0
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, (DX)
	VBLENDPS $0xF0, Y3, Y14, Y0
	VMULPS Y1, Y0, Y0
	VMOVUPS Y0, 32(DX)
	ADDQ $34, R8
	ADDQ $16, R10
	ADDQ $64, DX
	DECQ CX
	JNZ  q84pre

	MOVQ AX, CX
	LEAQ 0(SP), DX
	// The next tile's weight rows (4·rb on) are prefetched as this one
	// goes, three lines per 136 bytes of this tile: four short rows read
	// side by side defeat the hardware prefetcher (from DRAM the tile read
	// its weights at a third of the one-row dot's rate without this).
	MOVQ rb+16(FP), AX
	SHLQ $2, AX
	ADDQ SI, AX
q84loop:
	PREFETCHT0 (AX)
	PREFETCHT0 64(AX)
	PREFETCHT0 128(AX)
	ADDQ $136, AX
	VMOVDQU 2(DI), Y1
	VMOVDQU 2(R9), Y3
	VMOVDQU 2(R11), Y12
	VMOVDQU 2(R14), Y13
	Q84XCORR(Y1, Y4)
	Q84XCORR(Y3, Y5)
	Q84XCORR(Y12, Y6)
	Q84XCORR(Y13, Y7)
	VPXOR 2(SI), Y15, Y8
	VPXOR 2(BX), Y15, Y9
	VPXOR 2(R12), Y15, Y10
	VPXOR 2(R13), Y15, Y11
	Q84WROW(Y8, 0, Y16, Y17, Y18, Y19)
	Q84WROW(Y9, 16, Y20, Y21, Y22, Y23)
	Q84WROW(Y10, 32, Y24, Y25, Y26, Y27)
	Q84WROW(Y11, 48, Y28, Y29, Y30, Y31)
	ADDQ $34, SI
	ADDQ $34, BX
	ADDQ $34, R12
	ADDQ $34, R13
	ADDQ $34, DI
	ADDQ $34, R9
	ADDQ $34, R11
	ADDQ $34, R14
	ADDQ $64, DX
	DECQ CX
	JNZ  q84loop

	MOVQ 4096(SP), CX
	TESTQ CX, CX
	JNZ  q84chunk

	MOVQ out+48(FP), DX
	Q84OUT(Y16, 0)
	Q84OUT(Y17, 4)
	Q84OUT(Y18, 8)
	Q84OUT(Y19, 12)
	Q84OUT(Y20, 16)
	Q84OUT(Y21, 20)
	Q84OUT(Y22, 24)
	Q84OUT(Y23, 28)
	Q84OUT(Y24, 32)
	Q84OUT(Y25, 36)
	Q84OUT(Y26, 40)
	Q84OUT(Y27, 44)
	Q84OUT(Y28, 48)
	Q84OUT(Y29, 52)
	Q84OUT(Y30, 56)
	Q84OUT(Y31, 60)
	VZEROUPPER
	RET
