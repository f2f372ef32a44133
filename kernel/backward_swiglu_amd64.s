//go:build !purego

// Reference: Intel SDM vol. 2 (VRNDSCALEPD, VSCALEFPD, VCVTPD2PS, VPCMPUQ); fdlibm e_exp.c (the ln2 split);
// IEEE 754-2019 §4.3 (round to nearest: where double rounding can go astray).

#include "textflag.h"

// Constants, float64 unless marked: log2(e), ln2 split in two (fdlibm's
// ln2_hi, whose low bits are zero, and ln2_lo), the Taylor coefficients
// 1/k! for k = 1…12, the int64 masks of the double-to-float rounding test,
// and the float32 constants.
DATA swb<>+0(SB)/8, $0x3ff71547652b82fe   // log2(e)
DATA swb<>+8(SB)/8, $0x3fe62e42fee00000   // ln2_hi
DATA swb<>+16(SB)/8, $0x3dea39ef35793c76  // ln2_lo
DATA swb<>+24(SB)/8, $0x3ff0000000000000  // 1/1!
DATA swb<>+32(SB)/8, $0x3fe0000000000000  // 1/2!
DATA swb<>+40(SB)/8, $0x3fc5555555555555  // 1/3!
DATA swb<>+48(SB)/8, $0x3fa5555555555555  // 1/4!
DATA swb<>+56(SB)/8, $0x3f81111111111111  // 1/5!
DATA swb<>+64(SB)/8, $0x3f56c16c16c16c17  // 1/6!
DATA swb<>+72(SB)/8, $0x3f2a01a01a01a01a  // 1/7!
DATA swb<>+80(SB)/8, $0x3efa01a01a01a01a  // 1/8!
DATA swb<>+88(SB)/8, $0x3ec71de3a556c734  // 1/9!
DATA swb<>+96(SB)/8, $0x3e927e4fb7789f5c  // 1/10!
DATA swb<>+104(SB)/8, $0x3e5ae64567f544e4 // 1/11!
DATA swb<>+112(SB)/8, $0x3e21eed8eff8d898 // 1/12!
DATA swb<>+120(SB)/8, $0xc055c00000000000 // -87: below, e^x is not a normal float32
DATA swb<>+128(SB)/8, $0x4056000000000000 // 88: above, it is near float32's overflow
DATA swb<>+136(SB)/8, $0x000000001fffffff // the 29 mantissa bits a float32 drops
DATA swb<>+144(SB)/8, $0x0000000010000000 // their value at a rounding midpoint
DATA swb<>+152(SB)/8, $64                 // how near to it (in units of the last place) is too near
DATA swb<>+160(SB)/4, $0x3f800000         // float32 1
DATA swb<>+164(SB)/4, $0x80000000         // float32 sign bit
GLOBL swb<>(SB), RODATA|NOPTR, $168

// func swigluBackwardAsm(n int, dgate, dup, dy, gate, up *float32) int
//
// Registers: AX = i, CX = n, DI = dgate, SI = dup, DX = dy, R8 = gate,
// R9 = up. Z16 = log2(e), Z17 = ln2_hi, Z18 = ln2_lo, Z19 = 1 (1/0! and
// 1/1!), Z20…Z30 = 1/2! … 1/12!, Z31 = the dropped-bits mask; Y14 =
// float32 1, Y15 = the float32 sign bit. Each group of eight: Y0 = g,
// Z2 = x = −g in float64, Z3 = n, Z4 = r, Z5 = e^x, Y7 = e^x in float32,
// Y8 = σ(g).
TEXT ·swigluBackwardAsm(SB), NOSPLIT, $0-56
	MOVQ n+0(FP), CX
	MOVQ dgate+8(FP), DI
	MOVQ dup+16(FP), SI
	MOVQ dy+24(FP), DX
	MOVQ gate+32(FP), R8
	MOVQ up+40(FP), R9
	XORQ AX, AX
	VBROADCASTSD swb<>+0(SB), Z16
	VBROADCASTSD swb<>+8(SB), Z17
	VBROADCASTSD swb<>+16(SB), Z18
	VBROADCASTSD swb<>+24(SB), Z19
	VBROADCASTSD swb<>+32(SB), Z20
	VBROADCASTSD swb<>+40(SB), Z21
	VBROADCASTSD swb<>+48(SB), Z22
	VBROADCASTSD swb<>+56(SB), Z23
	VBROADCASTSD swb<>+64(SB), Z24
	VBROADCASTSD swb<>+72(SB), Z25
	VBROADCASTSD swb<>+80(SB), Z26
	VBROADCASTSD swb<>+88(SB), Z27
	VBROADCASTSD swb<>+96(SB), Z28
	VBROADCASTSD swb<>+104(SB), Z29
	VBROADCASTSD swb<>+112(SB), Z30
	VPBROADCASTQ swb<>+136(SB), Z31
	VBROADCASTSS swb<>+160(SB), Y14
	VBROADCASTSS swb<>+164(SB), Y15

loop:
	CMPQ AX, CX
	JGE  done
	VMOVUPS (R8)(AX*4), Y0       // g
	VXORPS  Y15, Y0, Y1          // −g
	VCVTPS2PD Y1, Z2             // x = float64(−g), exact
	VMULPD  Z16, Z2, Z3
	VRNDSCALEPD $0, Z3, Z3       // n = round(x·log2 e), ties to even
	VMOVAPD Z2, Z4
	VFNMADD231PD Z17, Z3, Z4     // r = x − n·ln2_hi
	VFNMADD231PD Z18, Z3, Z4     // r −= n·ln2_lo: |r| <= ln2/2
	VMOVAPD Z30, Z5              // p = Σ r^k/k!, k <= 12, by Horner
	VFMADD213PD Z29, Z4, Z5
	VFMADD213PD Z28, Z4, Z5
	VFMADD213PD Z27, Z4, Z5
	VFMADD213PD Z26, Z4, Z5
	VFMADD213PD Z25, Z4, Z5
	VFMADD213PD Z24, Z4, Z5
	VFMADD213PD Z23, Z4, Z5
	VFMADD213PD Z22, Z4, Z5
	VFMADD213PD Z21, Z4, Z5
	VFMADD213PD Z20, Z4, Z5
	VFMADD213PD Z19, Z4, Z5
	VFMADD213PD Z19, Z4, Z5      // p = p·r + 1
	VSCALEFPD Z3, Z5, Z5         // e^x = p·2^n

	// Every lane must have -87 <= x <= 88 (not NaN) and e^x not within 64
	// units of its last place of a float32 rounding midpoint; else stop.
	VBROADCASTSD swb<>+120(SB), Z6
	VCMPPD  $0x1d, Z6, Z2, K1    // x >= -87 (ordered)
	VBROADCASTSD swb<>+128(SB), Z6
	VCMPPD  $0x12, Z6, Z2, K2    // x <= 88 (ordered)
	VPANDQ  Z31, Z5, Z6          // the dropped bits
	VPBROADCASTQ swb<>+144(SB), Z7
	VPSUBQ  Z7, Z6, Z6
	VPABSQ  Z6, Z6               // their distance from the midpoint
	VPBROADCASTQ swb<>+152(SB), Z7
	VPCMPUQ $1, Z7, Z6, K3       // too near: distance < 64
	KANDW   K1, K2, K4
	KANDNW  K4, K3, K5           // lanes done here: in range and not too near
	KMOVW   K5, BX
	CMPQ    BX, $0xff
	JNE     done

	VCVTPD2PS Z5, Y7             // e = float32(e^x), rounded to nearest
	VADDPS  Y14, Y7, Y7          // 1 + e
	VDIVPS  Y7, Y14, Y8          // σ = 1 / (1 + e)
	VMOVUPS (DX)(AX*4), Y10      // dy
	VMULPS  Y8, Y0, Y9           // g·σ
	VMULPS  Y9, Y10, Y9          // dy·(g·σ)
	VADDPS  (SI)(AX*4), Y9, Y9
	VMOVUPS Y9, (SI)(AX*4)       // dup += dy·(g·σ)
	VSUBPS  Y8, Y14, Y11         // 1 − σ
	VMULPS  Y11, Y0, Y11         // g·(1 − σ)
	VADDPS  Y14, Y11, Y11        // 1 + g·(1 − σ)
	VMULPS  Y11, Y8, Y11         // σ·(1 + g·(1 − σ))
	VMULPS  (R9)(AX*4), Y10, Y12 // dy·up
	VMULPS  Y11, Y12, Y12        // dy·up·σ·(1 + g·(1 − σ))
	VADDPS  (DI)(AX*4), Y12, Y12
	VMOVUPS Y12, (DI)(AX*4)      // dgate += it
	ADDQ    $8, AX
	JMP     loop

done:
	VZEROUPPER
	MOVQ AX, ret+48(FP)
	RET
