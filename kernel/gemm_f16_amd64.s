//go:build !purego

// Reference: Intel SDM vol. 2 (VPUNPCKLWD/DQ/QDQ, VCVTPH2PS, VCVTPS2PH, VPMOVZXWD, VPBLENDVB);
// the 8×8 transpose of 16-bit values is the usual three rounds of unpacks (words, dwords, qwords).

#include "textflag.h"

// Panel packing registers: CX = groups of 8 k left, SI/R10 = rows 0 and 4,
// R11/R12 = rows 8 and 12 (each at the current k), R8 = stride,
// R9 = 3·stride, DI = dst (16 floats per k).

// LOAD8(p, q): X0..X7 = 8 halves of rows p, p+1, p+2, p+3, q, …, q+3.
#define LOAD8(p, q) \
	VMOVDQU (p), X0; VMOVDQU (p)(R8*1), X1; VMOVDQU (p)(R8*2), X2; VMOVDQU (p)(R9*1), X3; \
	VMOVDQU (q), X4; VMOVDQU (q)(R8*1), X5; VMOVDQU (q)(R8*2), X6; VMOVDQU (q)(R9*1), X7

// TRANSPOSE8: X0..X7 hold rows r (8 values k0..k7 each); afterwards
// X8..X15 hold k0..k7 (8 values r0..r7 each). X0..X7 are clobbered.
#define TRANSPOSE8 \
	VPUNPCKLWD X1, X0, X8; VPUNPCKHWD X1, X0, X9; VPUNPCKLWD X3, X2, X10; VPUNPCKHWD X3, X2, X11; \
	VPUNPCKLWD X5, X4, X12; VPUNPCKHWD X5, X4, X13; VPUNPCKLWD X7, X6, X14; VPUNPCKHWD X7, X6, X15; \
	VPUNPCKLDQ X10, X8, X0; VPUNPCKHDQ X10, X8, X1; VPUNPCKLDQ X14, X12, X2; VPUNPCKHDQ X14, X12, X3; \
	VPUNPCKLDQ X11, X9, X4; VPUNPCKHDQ X11, X9, X5; VPUNPCKLDQ X15, X13, X6; VPUNPCKHDQ X15, X13, X7; \
	VPUNPCKLQDQ X2, X0, X8; VPUNPCKHQDQ X2, X0, X9; VPUNPCKLQDQ X3, X1, X10; VPUNPCKHQDQ X3, X1, X11; \
	VPUNPCKLQDQ X6, X4, X12; VPUNPCKHQDQ X6, X4, X13; VPUNPCKLQDQ X7, X5, X14; VPUNPCKHQDQ X7, X5, X15

// F16W(x, y): y = the 8 halves in x widened to float32; BF16W likewise for bfloat16.
#define F16W(x, y) VCVTPH2PS x, y
#define BF16W(x, y) VPMOVZXWD x, y; VPSLLD $16, y, y

// STORE8(W, off): dst[k*16 + off/4 …] = W(k-th transposed vector), k < 8.
#define STORE8(W, off) \
	W(X8, Y0); VMOVUPS Y0, (off+0)(DI); W(X9, Y1); VMOVUPS Y1, (off+64)(DI); \
	W(X10, Y2); VMOVUPS Y2, (off+128)(DI); W(X11, Y3); VMOVUPS Y3, (off+192)(DI); \
	W(X12, Y4); VMOVUPS Y4, (off+256)(DI); W(X13, Y5); VMOVUPS Y5, (off+320)(DI); \
	W(X14, Y6); VMOVUPS Y6, (off+384)(DI); W(X15, Y7); VMOVUPS Y7, (off+448)(DI)

#define PANEL_SETUP \
	MOVQ n8+0(FP), CX; MOVQ src+8(FP), SI; MOVQ stride+16(FP), R8; MOVQ dst+24(FP), DI; \
	LEAQ (R8)(R8*2), R9; LEAQ (SI)(R8*4), R10; LEAQ (R10)(R8*4), R11; LEAQ (R11)(R8*4), R12

#define PANEL_STEP \
	ADDQ $16, SI; ADDQ $16, R10; ADDQ $16, R11; ADDQ $16, R12; \ // next 8 values of each row
	ADDQ $512, DI; DECQ CX                                          // 8 k of 16 floats

// func packF16PanelAsm(n8 int, src *byte, stride int, dst *float32)
TEXT ·packF16PanelAsm(SB), NOSPLIT, $0-32
	PANEL_SETUP
loopf:
	LOAD8(SI, R10)             // rows 0-7
	TRANSPOSE8
	STORE8(F16W, 0)            // columns 0-7 of the panel
	LOAD8(R11, R12)            // rows 8-15
	TRANSPOSE8
	STORE8(F16W, 32)           // columns 8-15
	PANEL_STEP
	JNE loopf
	VZEROUPPER
	RET

// func packBF16PanelAsm(n8 int, src *byte, stride int, dst *float32)
TEXT ·packBF16PanelAsm(SB), NOSPLIT, $0-32
	PANEL_SETUP
loopb:
	LOAD8(SI, R10)
	TRANSPOSE8
	STORE8(BF16W, 0)
	LOAD8(R11, R12)
	TRANSPOSE8
	STORE8(BF16W, 32)
	PANEL_STEP
	JNE loopb
	VZEROUPPER
	RET

// func roundF16Asm(n8 int, src, dst *float32)
TEXT ·roundF16Asm(SB), NOSPLIT, $0-24
	MOVQ n8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
loopr:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1       // to half, round to nearest even
	VCVTPH2PS X1, Y0           // and back, exactly
	VMOVUPS   Y0, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNE       loopr
	VZEROUPPER
	RET

// func toFP16Asm(n8 int, src *float32, dst *byte)
TEXT ·toFP16Asm(SB), NOSPLIT, $0-24
	MOVQ n8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
looph:
	VMOVUPS   (SI), Y0
	VCVTPS2PH $0, Y0, X1       // to half, round to nearest even
	VMOVDQU   X1, (DI)
	ADDQ      $32, SI
	ADDQ      $16, DI
	DECQ      CX
	JNE       looph
	VZEROUPPER
	RET

#define BCAST(v, Y) MOVL v, AX; VMOVD AX, X0; VPBROADCASTD X0, Y

// func roundBF16Asm(n8 int, src, dst *float32)
TEXT ·roundBF16Asm(SB), NOSPLIT, $0-24
	MOVQ n8+0(FP), CX
	MOVQ src+8(FP), SI
	MOVQ dst+16(FP), DI
	BCAST($1, Y10)
	BCAST($0x7fff, Y11)
	BCAST($-65536, Y12)         // 0xffff0000
	BCAST($0x7fffffff, Y13)
	BCAST($0x7f800000, Y14)
	BCAST($0x00400000, Y15)
loopb16:
	VMOVDQU   (SI), Y0          // b
	VPSRLD    $16, Y0, Y1
	VPAND     Y10, Y1, Y1       // (b>>16)&1
	VPADDD    Y11, Y1, Y1
	VPADDD    Y0, Y1, Y1        // b + 0x7fff + (b>>16)&1
	VPAND     Y12, Y1, Y1       // rounded: low 16 bits cleared
	VPAND     Y13, Y0, Y2       // b & 0x7fffffff
	VPCMPGTD  Y14, Y2, Y2       // NaN: above +Inf's bits
	VPAND     Y12, Y0, Y3
	VPOR      Y15, Y3, Y3       // NaN: top half, quiet bit set
	VPBLENDVB Y2, Y3, Y1, Y1    // NaN ? Y3 : Y1
	VMOVDQU   Y1, (DI)
	ADDQ      $32, SI
	ADDQ      $32, DI
	DECQ      CX
	JNE       loopb16
	VZEROUPPER
	RET

// The lanes-of-8 tile (tinyBLAS<8, __m256, …>'s order): AX, BX, CX, DX =
// weight rows 0-3, SI, DI, R8 = activation rows 0-2, R10 = byte offset into
// the weight rows (twice that into the activations), R9 = groups of 8 left,
// R11 = out. Y(3r+c) holds the 8 lanes of out[r*3+c]; Y12-Y14 the
// activations, Y15 the widened weights.

#define LANES_ZERO \
	XORQ R10, R10; \
	VXORPS Y0, Y0, Y0; VXORPS Y1, Y1, Y1; VXORPS Y2, Y2, Y2; VXORPS Y3, Y3, Y3; \
	VXORPS Y4, Y4, Y4; VXORPS Y5, Y5, Y5; VXORPS Y6, Y6, Y6; VXORPS Y7, Y7, Y7; \
	VXORPS Y8, Y8, Y8; VXORPS Y9, Y9, Y9; VXORPS Y10, Y10, Y10; VXORPS Y11, Y11, Y11

#define LANES_X \
	VMOVUPS (SI)(R10*2), Y12; VMOVUPS (DI)(R10*2), Y13; VMOVUPS (R8)(R10*2), Y14

// LANES_W(a, b, c): lanes a, b, c += the widened weights in Y15 times activations 0-2.
#define LANES_W(a, b, c) \
	VFMADD231PS Y12, Y15, a; VFMADD231PS Y13, Y15, b; VFMADD231PS Y14, Y15, c

// HSUM(Y, X, off): out[off/4] = tinyBLAS's hsum of Y (X its low half):
// v = hi + lo, then (v0+v2) + (v1+v3).
#define HSUM(Y, X, off) \
	VEXTRACTF128 $1, Y, X12; VADDPS X, X12, X12; VMOVHLPS X12, X12, X13; VADDPS X13, X12, X12; \
	VMOVSHDUP X12, X13; VADDSS X13, X12, X12; VMOVSS X12, off(R11)

#define LANES_OUT \
	HSUM(Y0, X0, 0); HSUM(Y1, X1, 4); HSUM(Y2, X2, 8); HSUM(Y3, X3, 12); \
	HSUM(Y4, X4, 16); HSUM(Y5, X5, 20); HSUM(Y6, X6, 24); HSUM(Y7, X7, 28); \
	HSUM(Y8, X8, 32); HSUM(Y9, X9, 36); HSUM(Y10, X10, 40); HSUM(Y11, X11, 44)

// func lanesF16TileAsm(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)
TEXT ·lanesF16TileAsm(SB), NOSPLIT, $0-72
	MOVQ k8+0(FP), R9
	MOVQ w0+8(FP), AX
	MOVQ w1+16(FP), BX
	MOVQ w2+24(FP), CX
	MOVQ w3+32(FP), DX
	MOVQ x0+40(FP), SI
	MOVQ x1+48(FP), DI
	MOVQ x2+56(FP), R8
	MOVQ out+64(FP), R11
	LANES_ZERO
loopl:
	LANES_X
	VCVTPH2PS (AX)(R10*1), Y15
	LANES_W(Y0, Y1, Y2)
	VCVTPH2PS (BX)(R10*1), Y15
	LANES_W(Y3, Y4, Y5)
	VCVTPH2PS (CX)(R10*1), Y15
	LANES_W(Y6, Y7, Y8)
	VCVTPH2PS (DX)(R10*1), Y15
	LANES_W(Y9, Y10, Y11)
	ADDQ $16, R10              // 8 halves; 8 float32 activations
	DECQ R9
	JNE  loopl
	LANES_OUT
	VZEROUPPER
	RET

#define BF16LOAD(p, Y) VPMOVZXWD (p)(R10*1), Y; VPSLLD $16, Y, Y

// func lanesBF16TileAsm(k8 int, w0, w1, w2, w3 *byte, x0, x1, x2 *float32, out *[12]float32)
TEXT ·lanesBF16TileAsm(SB), NOSPLIT, $0-72
	MOVQ k8+0(FP), R9
	MOVQ w0+8(FP), AX
	MOVQ w1+16(FP), BX
	MOVQ w2+24(FP), CX
	MOVQ w3+32(FP), DX
	MOVQ x0+40(FP), SI
	MOVQ x1+48(FP), DI
	MOVQ x2+56(FP), R8
	MOVQ out+64(FP), R11
	LANES_ZERO
loopbl:
	LANES_X
	BF16LOAD(AX, Y15)
	LANES_W(Y0, Y1, Y2)
	BF16LOAD(BX, Y15)
	LANES_W(Y3, Y4, Y5)
	BF16LOAD(CX, Y15)
	LANES_W(Y6, Y7, Y8)
	BF16LOAD(DX, Y15)
	LANES_W(Y9, Y10, Y11)
	ADDQ $16, R10
	DECQ R9
	JNE  loopbl
	LANES_OUT
	VZEROUPPER
	RET
