//go:build !purego

// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_v_expf, ggml_v_silu and the AVX2 loop of
// ggml_vec_soft_max_f32).

#include "textflag.h"

// ExpGGML (ops.go) eight lanes at a time, with the hardware's FMA, for
// Softmax and SiLU/SwiGLU. Constants are 32-byte vectors used as memory
// operands, which leaves Y0..Y7 for the computation.

#define VEC8(name, v) \
	DATA name<>+0(SB)/4, v; DATA name<>+4(SB)/4, v; DATA name<>+8(SB)/4, v; DATA name<>+12(SB)/4, v; \
	DATA name<>+16(SB)/4, v; DATA name<>+20(SB)/4, v; DATA name<>+24(SB)/4, v; DATA name<>+28(SB)/4, v; \
	GLOBL name<>(SB), RODATA|NOPTR, $32

VEC8(egR, $0x4b400000)    // 0x1.8p23
VEC8(egL2E, $0x3fb8aa3b)  // 0x1.715476p+0
VEC8(egC1, $0x3f317200)   // 0x1.62e4p-1
VEC8(egC2, $0x35bfbe8e)   // 0x1.7f7d1cp-20
VEC8(egP0, $0x3c072010)   // 0x1.0e4020p-7
VEC8(egP1, $0x3d2b9f17)   // 0x1.573e2ep-5
VEC8(egP2, $0x3e2aaf33)   // 0x1.555e66p-3
VEC8(egP3, $0x3efffedb)   // 0x1.fffdb6p-2
VEC8(egP4, $0x3f7ffff6)   // 0x1.ffffecp-1
VEC8(egOne, $0x3f800000)  // 1.0 (also its bits, added to e for k)
VEC8(egAbs, $0x7fffffff)
VEC8(eg126, $0x42fc0000)  // 126.0
VEC8(eg192, $0x43400000)  // 192.0
VEC8(egG, $0x82000000)
VEC8(eg7F, $0x7f000000)

// EXPFAST starts e^Y0: it leaves e in Y1, n in Y2, k in Y3, |n| in Y4,
// j in Y5, the |n| > 126 mask in Y6 and that mask's sign bits in AX, and
// the result of the common case, j·k + k, in Y0. In order: z = x·log2(e) + r,
// n = z − r, b = (x − n·C1) − n·C2, e = bits(z) << 23, k = e + bits(1),
// u = b·b, j = ((P0·b + P1)·u + (P2·b + P3))·u + P4·b, each FMA fused.
#define EXPFAST \
	VMOVUPS      egR<>(SB), Y1; \
	VFMADD231PS  egL2E<>(SB), Y0, Y1; \
	VSUBPS       egR<>(SB), Y1, Y2; \
	VFNMADD231PS egC1<>(SB), Y2, Y0; \
	VFNMADD231PS egC2<>(SB), Y2, Y0; \
	VPSLLD       $23, Y1, Y1; \
	VPADDD       egOne<>(SB), Y1, Y3; \
	VMULPS       Y0, Y0, Y4; \
	VMOVUPS      egP1<>(SB), Y5; \
	VFMADD231PS  egP0<>(SB), Y0, Y5; \
	VMOVUPS      egP3<>(SB), Y6; \
	VFMADD231PS  egP2<>(SB), Y0, Y6; \
	VFMADD231PS  Y4, Y5, Y6; \
	VMULPS       egP4<>(SB), Y0, Y5; \
	VFMADD231PS  Y4, Y6, Y5; \
	VANDPS       egAbs<>(SB), Y2, Y4; \
	VCMPPS       $0x1e, eg126<>(SB), Y4, Y6; \
	VMOVMSKPS    Y6, AX; \
	VMOVAPS      Y3, Y0; \
	VFMADD231PS  Y5, Y3, Y0

// EXPSLOW finishes e^x in Y0 where some lane has |n| > 126: lanes with
// |n| > 192 get s1·s1, the others with |n| > 126 (s2·j + s2)·s1, the rest
// keep k·j + k. Clobbers Y1..Y7.
#define EXPSLOW \
	VXORPS    Y7, Y7, Y7; \
	VCMPPS    $0x12, Y7, Y2, Y7; \
	VANDPS    egG<>(SB), Y7, Y7; \
	VPSUBD    Y7, Y1, Y1; \
	VPADDD    eg7F<>(SB), Y7, Y7; \
	VCMPPS    $0x1e, eg192<>(SB), Y4, Y4; \
	VFMADD231PS Y5, Y1, Y1; \
	VMULPS    Y7, Y1, Y1; \
	VMULPS    Y7, Y7, Y7; \
	VBLENDVPS Y6, Y1, Y0, Y0; \
	VBLENDVPS Y4, Y7, Y0, Y0

// func softmaxExpAsm(n8 int, x *float32, m float32) float64
//
// x[i] = ExpGGML(x[i] − m) for 8·n8 values; returns the sum of the groups
// of eight, each added in float32 as _mm256 halves then movehl/movehdup,
// the group sums in float64.
TEXT ·softmaxExpAsm(SB), NOSPLIT, $0-32
	MOVQ         n8+0(FP), CX
	MOVQ         x+8(FP), SI
	VBROADCASTSS m+16(FP), Y8
	VXORPD       X9, X9, X9            // the float64 sum

smloop:
	VMOVUPS     (SI), Y0
	VSUBPS      Y8, Y0, Y0             // x − m
	EXPFAST
	TESTL       AX, AX
	JEQ         smstore
	EXPSLOW

smstore:
	VMOVUPS      Y0, (SI)
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X1            // low half + high half
	VMOVHLPS     X1, X1, X2
	VADDPS       X2, X1, X1
	VMOVSHDUP    X1, X2
	VADDSS       X2, X1, X1
	VCVTSS2SD    X1, X1, X1
	VADDSD       X1, X9, X9
	ADDQ         $32, SI
	DECQ         CX
	JNE          smloop
	VMOVSD       X9, ret+24(FP)
	VZEROUPPER
	RET

// func siluAsm(n8 int, x, up, dst *float32)
//
// dst[i] = x[i] / (1 + ExpGGML(0 − x[i])), times up[i] when up is not nil,
// for 8·n8 values, as ggml_v_silu (then ggml's multiply) does. dst may be x
// or up.
TEXT ·siluAsm(SB), NOSPLIT, $0-32
	MOVQ   n8+0(FP), CX
	MOVQ   x+8(FP), SI
	MOVQ   up+16(FP), DX
	MOVQ   dst+24(FP), DI
	VXORPS Y9, Y9, Y9                  // zeros

siloop:
	VMOVUPS (SI), Y8
	VSUBPS  Y8, Y9, Y0                 // 0 − x
	EXPFAST
	TESTL   AX, AX
	JEQ     sidiv
	EXPSLOW

sidiv:
	VADDPS  egOne<>(SB), Y0, Y0        // 1 + e^−x
	VDIVPS  Y0, Y8, Y0                 // x / (1 + e^−x)
	TESTQ   DX, DX
	JEQ     sistore
	VMULPS  (DX), Y0, Y0
	ADDQ    $32, DX

sistore:
	VMOVUPS Y0, (DI)
	ADDQ    $32, SI
	ADDQ    $32, DI
	DECQ    CX
	JNE     siloop
	VZEROUPPER
	RET
