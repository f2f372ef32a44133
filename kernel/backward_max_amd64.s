//go:build !purego

// Reference: Intel SDM vol. 2 (VMAXPS: a NaN or two zeros give the second operand; VCMPPS predicate 3, UNORD_Q).

#include "textflag.h"

DATA maxneginf<>+0(SB)/4, $0xff800000 // float32 −Inf
GLOBL maxneginf<>(SB), RODATA|NOPTR, $4

// func maxF32Asm(n int, x *float32, lanes *[16]float32) int
//
// Z0 = the running maximum of each of 16 lanes, K2 = the lanes that met a
// NaN. VMAXPS can drop a NaN (it returns its second operand when either is
// one), so NaNs are looked for apart.
TEXT ·maxF32Asm(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ lanes+16(FP), DI
	VBROADCASTSS maxneginf<>(SB), Z0
	KXORW K2, K2, K2

loop:
	VMOVUPS (SI), Z1
	VMAXPS  Z1, Z0, Z0         // lane max
	VCMPPS  $3, Z1, Z1, K1     // NaN lanes
	KORW    K1, K2, K2
	ADDQ    $64, SI
	SUBQ    $16, CX
	JNE     loop

	VMOVUPS Z0, (DI)
	KMOVW   K2, AX
	MOVQ    AX, ret+24(FP)
	VZEROUPPER
	RET
