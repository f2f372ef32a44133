//go:build !purego

#include "textflag.h"

// REDUCE8 leaves the sum of the eight float32 lanes of Y0 in X0's low lane,
// after folding the accumulators Y1..Y3 into Y0: Y0 = (Y0+Y1) + (Y2+Y3), then
// lanes 0..3 + lanes 4..7, then pairs, then the last two. Clobbers X1.
#define REDUCE8 \
	VADDPS Y1, Y0, Y0; \
	VADDPS Y3, Y2, Y2; \
	VADDPS Y2, Y0, Y0; \
	VEXTRACTF128 $1, Y0, X1; \
	VADDPS X1, X0, X0; \
	VMOVHLPS X0, X0, X1; \
	VADDPS X1, X0, X0; \
	VMOVSHDUP X0, X1; \
	VADDSS X1, X0, X0

// func dotF32Asm(n int, w, x *byte) float32
TEXT ·dotF32Asm(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX         // CX = elements left
	MOVQ w+8(FP), SI         // SI = &w[i]
	MOVQ x+16(FP), DI        // DI = &x[i]
	VXORPS Y0, Y0, Y0        // four independent accumulators of 8 lanes
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT  f32tail8

f32loop32:
	VMOVUPS (SI), Y4          // w[i:i+8]
	VMOVUPS 32(SI), Y5        // w[i+8:i+16]
	VMOVUPS 64(SI), Y6        // w[i+16:i+24]
	VMOVUPS 96(SI), Y7        // w[i+24:i+32]
	VFMADD231PS (DI), Y4, Y0  // acc0 += w·x
	VFMADD231PS 32(DI), Y5, Y1 // acc1 += w·x
	VFMADD231PS 64(DI), Y6, Y2 // acc2 += w·x
	VFMADD231PS 96(DI), Y7, Y3 // acc3 += w·x
	ADDQ $128, SI             // i += 32
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  f32loop32

f32tail8:
	CMPQ CX, $8
	JLT  f32reduce
	VMOVUPS (SI), Y4          // w[i:i+8]
	VFMADD231PS (DI), Y4, Y0  // acc0 += w·x
	ADDQ $32, SI              // i += 8
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f32tail8

f32reduce:
	REDUCE8

f32tail1:
	TESTQ CX, CX
	JEQ   f32done
	VMOVSS (SI), X1           // w[i]
	VFMADD231SS (DI), X1, X0  // s += w[i]·x[i]
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP  f32tail1

f32done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotF16Asm(n int, w, x *byte) float32
TEXT ·dotF16Asm(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX          // CX = elements left
	MOVQ w+8(FP), SI          // SI = &w[i] (2 bytes each)
	MOVQ x+16(FP), DI         // DI = &x[i] (4 bytes each)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT  f16tail8

f16loop32:
	VCVTPH2PS (SI), Y4        // float32(w[i:i+8])
	VCVTPH2PS 16(SI), Y5      // float32(w[i+8:i+16])
	VCVTPH2PS 32(SI), Y6      // float32(w[i+16:i+24])
	VCVTPH2PS 48(SI), Y7      // float32(w[i+24:i+32])
	VFMADD231PS (DI), Y4, Y0  // acc0 += w·x
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI              // i += 32
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  f16loop32

f16tail8:
	CMPQ CX, $8
	JLT  f16reduce
	VCVTPH2PS (SI), Y4        // float32(w[i:i+8])
	VFMADD231PS (DI), Y4, Y0  // acc0 += w·x
	ADDQ $16, SI              // i += 8
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  f16tail8

f16reduce:
	REDUCE8

f16tail1:
	TESTQ CX, CX
	JEQ   f16done
	MOVWLZX (SI), AX          // AX = bits of w[i]
	VMOVD AX, X1
	VCVTPH2PS X1, X1          // X1[0] = float32(w[i])
	VFMADD231SS (DI), X1, X0  // s += w[i]·x[i]
	ADDQ $2, SI
	ADDQ $4, DI
	DECQ CX
	JMP  f16tail1

f16done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET

// func dotBF16Asm(n int, w, x *byte) float32
TEXT ·dotBF16Asm(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX          // CX = elements left
	MOVQ w+8(FP), SI          // SI = &w[i] (2 bytes each)
	MOVQ x+16(FP), DI         // DI = &x[i] (4 bytes each)
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	CMPQ CX, $32
	JLT  bf16tail8

bf16loop32:
	VPMOVZXWD (SI), Y4        // uint32(w[i:i+8])
	VPMOVZXWD 16(SI), Y5
	VPMOVZXWD 32(SI), Y6
	VPMOVZXWD 48(SI), Y7
	VPSLLD $16, Y4, Y4        // bfloat16 bits are the top half of a float32
	VPSLLD $16, Y5, Y5
	VPSLLD $16, Y6, Y6
	VPSLLD $16, Y7, Y7
	VFMADD231PS (DI), Y4, Y0  // acc0 += w·x
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $64, SI              // i += 32
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  bf16loop32

bf16tail8:
	CMPQ CX, $8
	JLT  bf16reduce
	VPMOVZXWD (SI), Y4        // uint32(w[i:i+8])
	VPSLLD $16, Y4, Y4        // as float32
	VFMADD231PS (DI), Y4, Y0  // acc0 += w·x
	ADDQ $16, SI              // i += 8
	ADDQ $32, DI
	SUBQ $8, CX
	JMP  bf16tail8

bf16reduce:
	REDUCE8

bf16tail1:
	TESTQ CX, CX
	JEQ   bf16done
	MOVWLZX (SI), AX          // AX = bits of w[i]
	SHLL $16, AX              // as float32 bits
	VMOVD AX, X1
	VFMADD231SS (DI), X1, X0  // s += w[i]·x[i]
	ADDQ $2, SI
	ADDQ $4, DI
	DECQ CX
	JMP  bf16tail1

bf16done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
