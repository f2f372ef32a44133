//go:build amd64 && !purego

// Reference: Intel SDM vol. 2 (PREFETCHh: a hint, it never faults and changes no register or memory).

#include "textflag.h"

// func prefetch4(p *float32, lines int)
TEXT ·prefetch4(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX     // AX = p
	MOVQ lines+8(FP), CX // CX = lines left
loop:
	TESTQ CX, CX         // for lines > 0
	JLE done
	PREFETCHT0 (AX)      //   prefetch(AX)
	ADDQ $64, AX         //   AX += 64
	DECQ CX              //   lines--
	JMP loop
done:
	RET
