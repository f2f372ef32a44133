//go:build !purego

// Reference: ggml/src/ggml-cpu/vec.h (ggml_v_expf, AVX2); Intel SDM vol. 2 (VFMADD213PS, VCVTPS2PD).

#include "textflag.h"

// The constants of ggml_v_expf, float32 bits. r is 0x1.8p23 + 127: rounding
// x·log2(e) against it leaves n+127 in z's low mantissa bits, so z << 23 is
// 2^n directly (ggml adds the bits of 1.0 instead: the same integer).
DATA expConst<>+0(SB)/4, $0x4b40007f  // r
DATA expConst<>+4(SB)/4, $0x3fb8aa3b  // log2(e)
DATA expConst<>+8(SB)/4, $0x3f317200  // ln2, high part (exact times n)
DATA expConst<>+12(SB)/4, $0x35bfbe8e // ln2, low part
DATA expConst<>+16(SB)/4, $0x3c072010 // c5
DATA expConst<>+20(SB)/4, $0x3d2b9f17 // c4
DATA expConst<>+24(SB)/4, $0x3e2aaf33 // c3
DATA expConst<>+28(SB)/4, $0x3efffedb // c2
DATA expConst<>+32(SB)/4, $0x3f7ffff6 // c1
DATA expConst<>+36(SB)/4, $0xc2ae999a // -87.3: lower clamp, keeps |n| <= 126
GLOBL expConst<>(SB), RODATA|NOPTR, $40

// func expShiftAsm(n int, dst, x *float32, m float32) float64
//
// Registers: CX = groups of 8 left, SI = x, DI = dst, Y15 = m, Y14..Y6 the
// constants r, log2e, ln2hi, ln2lo, c5, c4, c3, c2, c1; Y5 the float64 sum
// (4 lanes); Y0..Y4 temporaries.
TEXT ·expShiftAsm(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ x+16(FP), SI
	VBROADCASTSS m+24(FP), Y15
	VBROADCASTSS expConst<>+0(SB), Y14
	VBROADCASTSS expConst<>+4(SB), Y13
	VBROADCASTSS expConst<>+8(SB), Y12
	VBROADCASTSS expConst<>+12(SB), Y11
	VBROADCASTSS expConst<>+16(SB), Y10
	VBROADCASTSS expConst<>+20(SB), Y9
	VBROADCASTSS expConst<>+24(SB), Y8
	VBROADCASTSS expConst<>+28(SB), Y7
	VBROADCASTSS expConst<>+32(SB), Y6
	VXORPD Y5, Y5, Y5
	SHRQ $3, CX
	JEQ  done

loop:
	VMOVUPS (SI), Y0                     // v
	VSUBPS Y15, Y0, Y0                   // x = v - m
	VBROADCASTSS expConst<>+36(SB), Y4
	VMAXPS Y4, Y0, Y0                    // x = max(x, -87.3)
	VMOVAPS Y14, Y1
	VFMADD231PS Y13, Y0, Y1              // z = x*log2e + r (rounded to an integer + r)
	VSUBPS Y14, Y1, Y2                   // n = z - r
	VMOVAPS Y0, Y3
	VFNMADD231PS Y12, Y2, Y3             // b = x - n*ln2hi
	VFNMADD231PS Y11, Y2, Y3             // b -= n*ln2lo
	VPSLLD $23, Y1, Y1                   // k = 2^n
	VMULPS Y3, Y3, Y4                    // u = b*b
	VMOVAPS Y10, Y0
	VFMADD213PS Y9, Y3, Y0               // c5*b + c4
	VMOVAPS Y8, Y2
	VFMADD213PS Y7, Y3, Y2               // c3*b + c2
	VFMADD213PS Y2, Y4, Y0               // (c5*b + c4)*u + (c3*b + c2)
	VMULPS Y6, Y3, Y2                    // c1*b
	VFMADD213PS Y2, Y4, Y0               // j = …*u + c1*b
	VFMADD213PS Y1, Y1, Y0               // e = j*k + k
	VMOVUPS Y0, (DI)                     // dst = e
	VCVTPS2PD X0, Y1                     // sum += e[0:4] as float64
	VADDPD Y1, Y5, Y5
	VEXTRACTF128 $1, Y0, X2              // sum += e[4:8]
	VCVTPS2PD X2, Y2
	VADDPD Y2, Y5, Y5
	ADDQ $32, SI
	ADDQ $32, DI
	DECQ CX
	JNE  loop

done:
	VEXTRACTF128 $1, Y5, X1              // fold the 4 float64 lanes: (0+2) + (1+3)
	VADDPD X1, X5, X5
	VUNPCKHPD X5, X5, X1
	VADDSD X1, X5, X5
	VZEROUPPER
	MOVSD X5, ret+32(FP)
	RET
