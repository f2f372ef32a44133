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

// Q8_K activation super-blocks with the operations of quantizeQ8_KGeneric
// (q8k.go, ggml's quantize_row_q8_K_ref): amax over the 256 |x| (a NaN
// never wins), the first x of that magnitude gives iscale = −127/x and
// d = 1/iscale, quants by nearest_int's add-1.5·2²³ trick, capped at 127
// and kept to their low byte, and bsums the sums of each run of 16 quants
// (by VPSADBW on the quants offset by 128).
//
// Registers: SI = 256 floats; DI = 292-byte block; CX = blocks left;
// AX = byte offset in the floats; BX = &qs run; R8 = &bsums pair;
// Y0..Y6 = temporaries; Y7 = 0; Y8 = iscale; Y9 = bytes of 0x80;
// Y10 = the packs' permute; Y11 = 127; Y12 = 0x00400000; Y13 = 0x007fffff;
// Y14 = 12582912.0; Y15 = −0.0 (the sign bit).

DATA q8kMagic<>+0(SB)/4, $0x4b400000
GLOBL q8kMagic<>(SB), RODATA|NOPTR, $4
DATA q8kMant<>+0(SB)/4, $0x007fffff
GLOBL q8kMant<>(SB), RODATA|NOPTR, $4
DATA q8kHalf<>+0(SB)/4, $0x00400000
GLOBL q8kHalf<>(SB), RODATA|NOPTR, $4
DATA q8k127<>+0(SB)/4, $127
GLOBL q8k127<>(SB), RODATA|NOPTR, $4
DATA q8kB80<>+0(SB)/4, $0x80808080
GLOBL q8kB80<>(SB), RODATA|NOPTR, $4
DATA q8kM127<>+0(SB)/4, $0xc2fe0000
GLOBL q8kM127<>(SB), RODATA|NOPTR, $4
DATA q8kOne<>+0(SB)/4, $0x3f800000
GLOBL q8kOne<>(SB), RODATA|NOPTR, $4

// Q8KQ turns the eight floats at off(SI)(AX*1) into eight int32 holding
// int8(min(nearest_int(iscale·x), 127)) in R.
#define Q8KQ(off, R) \
	VMULPS off(SI)(AX*1), Y8, R; \
	VADDPS Y14, R, R; \
	VPAND Y13, R, R; \
	VPSUBD Y12, R, R; \
	VPMINSD Y11, R, R; \
	VPSLLD $24, R, R; \
	VPSRAD $24, R, R

// func quantizeQ8_KAsm(nb int, x *float32, y *byte)
TEXT ·quantizeQ8_KAsm(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX                 // CX = blocks left
	MOVQ x+8(FP), SI                  // SI = &x block (256 float32)
	MOVQ y+16(FP), DI                 // DI = &y block (292 bytes)
	VBROADCASTSS q8aSign<>(SB), Y15
	VBROADCASTSS q8kMagic<>(SB), Y14
	VPBROADCASTD q8kMant<>(SB), Y13
	VPBROADCASTD q8kHalf<>(SB), Y12
	VPBROADCASTD q8k127<>(SB), Y11
	VMOVDQU q8aPerm<>(SB), Y10
	VPBROADCASTD q8kB80<>(SB), Y9
	VPXOR Y7, Y7, Y7

q8kblock:
	TESTQ CX, CX
	JEQ   q8kdone
	VXORPS Y0, Y0, Y0                 // four running maxima of |x|
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	XORQ AX, AX

q8kamax:
	VANDNPS 0(SI)(AX*1), Y15, Y4
	VMAXPS Y0, Y4, Y0                 // |x| > max ? |x| : max, so NaN never wins
	VANDNPS 32(SI)(AX*1), Y15, Y4
	VMAXPS Y1, Y4, Y1
	VANDNPS 64(SI)(AX*1), Y15, Y4
	VMAXPS Y2, Y4, Y2
	VANDNPS 96(SI)(AX*1), Y15, Y4
	VMAXPS Y3, Y4, Y3
	ADDQ $128, AX
	CMPQ AX, $1024
	JLT  q8kamax
	VMAXPS Y1, Y0, Y0                 // no NaN in the maxima: any order
	VMAXPS Y3, Y2, Y2
	VMAXPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VMAXPS X1, X0, X0
	VMOVHLPS X0, X0, X1
	VMAXPS X1, X0, X0
	VMOVSHDUP X0, X1
	VMAXSS X1, X0, X0                 // X0 = amax
	VXORPS X1, X1, X1
	VUCOMISS X1, X0
	JEQ  q8kzero
	VBROADCASTSS X0, Y2
	XORQ AX, AX

q8kfind:
	VANDNPS 0(SI)(AX*1), Y15, Y1
	VCMPPS $0, Y2, Y1, Y1             // |x| == amax
	VMOVMSKPS Y1, DX
	TESTL DX, DX
	JNE  q8kfound
	ADDQ $32, AX
	JMP  q8kfind

q8kfound:
	BSFL DX, DX                       // the first of them
	LEAQ (AX)(DX*4), AX
	VMOVSS 0(SI)(AX*1), X1            // max, with its sign
	VMOVSS q8kM127<>(SB), X3
	VDIVSS X1, X3, X3                 // iscale = −127 / max
	VMOVSS q8kOne<>(SB), X4
	VDIVSS X3, X4, X4                 // d = 1 / iscale
	VMOVSS X4, 0(DI)
	VBROADCASTSS X3, Y8
	XORQ AX, AX
	LEAQ 4(DI), BX                    // BX = &qs
	LEAQ 260(DI), R8                  // R8 = &bsums

q8kquant:
	Q8KQ(0, Y0)
	Q8KQ(32, Y1)
	Q8KQ(64, Y2)
	Q8KQ(96, Y3)
	VPACKSSDW Y1, Y0, Y0              // exact: the values are int8 already
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y10, Y0                // 32 quants in order
	VMOVDQU Y0, 0(BX)
	VPXOR Y9, Y0, Y1                  // q + 128, unsigned
	VPSADBW Y7, Y1, Y1                // sums of 8 (+1024) in four qwords
	VPSHUFD $0x4e, Y1, Y3
	VPADDQ Y3, Y1, Y1                 // sums of 16 (+2048), one per 128-bit lane
	VMOVD X1, DX
	SUBL $2048, DX
	MOVW DX, 0(R8)
	VEXTRACTI128 $1, Y1, X3
	VMOVD X3, DX
	SUBL $2048, DX
	MOVW DX, 2(R8)
	ADDQ $128, AX
	ADDQ $32, BX
	ADDQ $4, R8
	CMPQ AX, $1024
	JLT  q8kquant
	JMP  q8knext

q8kzero:
	VPXOR Y0, Y0, Y0                  // d, quants and bsums all 0
	MOVQ $0, AX

q8kclear:
	VMOVDQU Y0, 0(DI)(AX*1)
	ADDQ $32, AX
	CMPQ AX, $288
	JLT  q8kclear
	MOVL $0, 288(DI)

q8knext:
	ADDQ $1024, SI
	ADDQ $292, DI
	DECQ CX
	JMP  q8kblock

q8kdone:
	VZEROUPPER
	RET
