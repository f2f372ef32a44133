//go:build !purego

// Reference: Intel SDM vol. 2 (VBROADCASTSD, VCVTPS2PD, VCVTPD2PS, VMULPD, VADDPD, VSUBPD, VDIVPD, VSQRTPD).

#include "textflag.h"

// func adamwAsm(n int, p, grad, m, v *float32, c *adamConsts)
// Registers: CX = elements left, DI = p, SI = grad, R8 = m, R9 = v, AX = byte offset;
// Y8…Y15 = β1, 1−β1, β2, 1−β2, bc1, bc2, decay, lr in every lane, and eps re-read from memory.
// No FMA anywhere: the Go loop rounds every product before it adds.
TEXT ·adamwAsm(SB), NOSPLIT, $0-48
	MOVQ n+0(FP), CX
	MOVQ p+8(FP), DI
	MOVQ grad+16(FP), SI
	MOVQ m+24(FP), R8
	MOVQ v+32(FP), R9
	MOVQ c+40(FP), DX
	VBROADCASTSD 0(DX), Y8            // β1
	VBROADCASTSD 8(DX), Y9            // 1−β1
	VBROADCASTSD 16(DX), Y10          // β2
	VBROADCASTSD 24(DX), Y11          // 1−β2
	VBROADCASTSD 32(DX), Y12          // bc1
	VBROADCASTSD 40(DX), Y13          // bc2
	VBROADCASTSD 48(DX), Y14          // decay
	VBROADCASTSD 56(DX), Y15          // lr
	VBROADCASTSD 64(DX), Y7           // eps
	XORQ AX, AX

loop4:
	VCVTPS2PD (SI)(AX*1), Y0          // gi = float64(g[i:i+4])
	VCVTPS2PD (R8)(AX*1), Y1          // float64(m)
	VCVTPS2PD (R9)(AX*1), Y2          // float64(v)
	VCVTPS2PD (DI)(AX*1), Y3          // float64(p)
	VMULPD Y8, Y1, Y1                 // β1·m
	VMULPD Y9, Y0, Y4                 // (1−β1)·gi
	VADDPD Y4, Y1, Y1                 // mi = β1·m + (1−β1)·gi
	VMULPD Y11, Y0, Y5                // (1−β2)·gi
	VMULPD Y0, Y5, Y5                 // ((1−β2)·gi)·gi
	VMULPD Y10, Y2, Y2                // β2·v
	VADDPD Y5, Y2, Y2                 // vi = β2·v + (1−β2)·gi·gi
	VCVTPD2PSY Y1, X6                 // m[i:i+4] = float32(mi)
	VMOVUPS X6, (R8)(AX*1)
	VCVTPD2PSY Y2, X6                 // v[i:i+4] = float32(vi)
	VMOVUPS X6, (R9)(AX*1)
	VDIVPD Y12, Y1, Y1                // mi/bc1
	VMULPD Y1, Y15, Y1                // lr·(mi/bc1)
	VDIVPD Y13, Y2, Y2                // vi/bc2
	VSQRTPD Y2, Y2                    // √(vi/bc2)
	VADDPD Y7, Y2, Y2                 // + eps
	VDIVPD Y2, Y1, Y1                 // lr·(mi/bc1) / (√(vi/bc2) + eps)
	VMULPD Y14, Y3, Y3                // p·decay
	VSUBPD Y1, Y3, Y3                 // p·decay − update
	VCVTPD2PSY Y3, X3                 // p[i:i+4] = float32(…)
	VMOVUPS X3, (DI)(AX*1)
	ADDQ $16, AX
	SUBQ $4, CX
	JNE  loop4

	VZEROUPPER
	RET
