//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu-quants.c (AVX2 quantize_row_q8_0).

#include "textflag.h"

// Q8_0 activation blocks with the operations of llama.cpp's AVX2
// quantize_row_q8_0, which quantizeQ8_0ActGeneric (q8.go) spells out in Go:
// amax folded in the SIMD lane order, d = amax/127 stored as half
// precision, id = 127/amax (0 for amax 0), quants rounded half to even and
// saturated by the packs, then put back in order by one permute.
//
// Registers: SI = 32 floats; DI = 34-byte block; CX = blocks left;
// Y0..Y3 = the floats, then their quants; Y4..Y6 = amax folding; X7 = d
// as half; X9 = id; Y13 = 127.0; Y14 = the permute undoing the packs'
// lane interleave; Y15 = −0.0 (the sign bit).

DATA q8aSign<>+0(SB)/4, $0x80000000
GLOBL q8aSign<>(SB), RODATA|NOPTR, $4
DATA q8a127<>+0(SB)/4, $0x42fe0000
GLOBL q8a127<>(SB), RODATA|NOPTR, $4
DATA q8aPerm<>+0(SB)/4, $0
DATA q8aPerm<>+4(SB)/4, $4
DATA q8aPerm<>+8(SB)/4, $1
DATA q8aPerm<>+12(SB)/4, $5
DATA q8aPerm<>+16(SB)/4, $2
DATA q8aPerm<>+20(SB)/4, $6
DATA q8aPerm<>+24(SB)/4, $3
DATA q8aPerm<>+28(SB)/4, $7
GLOBL q8aPerm<>(SB), RODATA|NOPTR, $32

// func quantizeQ8_0Asm(nb int, x *float32, y *byte)
TEXT ·quantizeQ8_0Asm(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ x+8(FP), SI                  // SI = &x block (32 float32)
	MOVQ y+16(FP), DI                 // DI = &y block (34 bytes)
	VBROADCASTSS q8aSign<>(SB), Y15   // Y15 = sign bits
	VBROADCASTSS q8a127<>(SB), Y13    // X13 = 127.0
	VMOVDQU q8aPerm<>(SB), Y14        // Y14 = 0,4,1,5,2,6,3,7
	VXORPS X12, X12, X12              // X12 = 0.0

q8aloop:
	TESTQ CX, CX
	JEQ   q8adone
	VMOVUPS 0(SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDNPS Y0, Y15, Y4               // |x[l]|
	VANDNPS Y1, Y15, Y5
	VMAXPS Y5, Y4, Y4                 // lane l: max(|x[l]|, |x[l+8]|), then +16, +24
	VANDNPS Y2, Y15, Y5
	VMAXPS Y5, Y4, Y4
	VANDNPS Y3, Y15, Y5
	VMAXPS Y5, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X4, X5, X5                 // max(upper four, lower four)
	VMOVHLPS X5, X5, X6
	VMAXPS X6, X5, X5                 // lanes 0,1: max(lane, lane+2)
	VMOVSHDUP X5, X6
	VMAXSS X6, X5, X5                 // X5 = amax = max(lane 0, lane 1)
	VDIVSS X13, X5, X6                // d = amax / 127
	VCVTPS2PH $0, X6, X7              // as half, nearest even
	VPEXTRW $0, X7, AX
	MOVW AX, 0(DI)
	VDIVSS X5, X13, X9                // id = 127 / amax
	VCMPSS $4, X12, X5, X10           // amax != 0 (true for NaN, as C's !=)
	VANDPS X10, X9, X9                // id, or 0 where amax is 0
	VBROADCASTSS X9, Y9
	VMULPS Y9, Y0, Y0                 // x·id
	VMULPS Y9, Y1, Y1
	VMULPS Y9, Y2, Y2
	VMULPS Y9, Y3, Y3
	VROUNDPS $0, Y0, Y0               // half to even
	VROUNDPS $0, Y1, Y1
	VROUNDPS $0, Y2, Y2
	VROUNDPS $0, Y3, Y3
	VCVTPS2DQ Y0, Y0                  // int32 (NaN, out of range: 0x80000000)
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	VPACKSSDW Y1, Y0, Y0              // int16, saturating, lanes interleaved
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0              // int8, saturating
	VPERMD Y0, Y14, Y0                // back in order
	VMOVDQU Y0, 2(DI)
	ADDQ $128, SI
	ADDQ $34, DI
	DECQ CX
	JMP  q8aloop

q8adone:
	VZEROUPPER
	RET
