//go:build amd64 && !purego

// Reference: Intel SDM vol. 2 (PREFETCHh: a hint, it never faults and changes no register or
// memory; VFMADD231PS; VEXTRACTF128, VMOVHLPS, VMOVSHDUP for the horizontal sum).

#include "textflag.h"

// func prefetch4(p *float32, lines int)
TEXT ·prefetch4(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX     // AX = p
	MOVQ lines+8(FP), CX // CX = lines left
ploop:
	TESTQ CX, CX         // for lines > 0
	JLE pdone
	PREFETCHT0 (AX)      //   prefetch(AX)
	ADDQ $64, AX         //   AX += 64
	DECQ CX              //   lines--
	JMP ploop
pdone:
	RET

// func dotAVX2(n int, a, b *float32) float32
// SI = a, DI = b (advanced as elements are consumed), CX = elements left;
// Y0..Y3 the accumulators, Y4..Y7 the loaded a values.
TEXT ·dotAVX2(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
loop32:
	CMPQ CX, $32                // while 32 elements are left:
	JLT loop8
	VMOVUPS (SI), Y4            //   Y0 += a[0:8] * b[0:8]
	VMOVUPS 32(SI), Y5          //   Y1 += a[8:16] * b[8:16]
	VMOVUPS 64(SI), Y6          //   Y2 += a[16:24] * b[16:24]
	VMOVUPS 96(SI), Y7          //   Y3 += a[24:32] * b[24:32]
	VFMADD231PS (DI), Y4, Y0
	VFMADD231PS 32(DI), Y5, Y1
	VFMADD231PS 64(DI), Y6, Y2
	VFMADD231PS 96(DI), Y7, Y3
	ADDQ $128, SI               //   a, b = a[32:], b[32:]
	ADDQ $128, DI
	SUBQ $32, CX
	JMP loop32
loop8:
	CMPQ CX, $8                 // while 8 are left:
	JLT reduce
	VMOVUPS (SI), Y4            //   Y0 += a[0:8] * b[0:8]
	VFMADD231PS (DI), Y4, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP loop8
reduce:
	VADDPS Y1, Y0, Y0           // Y0 = (Y0 + Y1) + (Y2 + Y3)
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1     // X0 = lanes 0..3 + lanes 4..7
	VADDPS X1, X0, X0
	VMOVHLPS X0, X0, X1         // X0 = lanes 0,1 + lanes 2,3
	VADDPS X1, X0, X0
	VMOVSHDUP X0, X1            // X0 = lane 0 + lane 1
	VADDSS X1, X0, X0
tail:
	TESTQ CX, CX                // for each element left:
	JLE done
	VMOVSS (SI), X1             //   s += a[0] * b[0], fused
	VFMADD231SS (DI), X1, X0
	ADDQ $4, SI
	ADDQ $4, DI
	DECQ CX
	JMP tail
done:
	VZEROUPPER
	MOVSS X0, ret+24(FP)
	RET
