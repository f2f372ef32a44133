//go:build !purego

// Reference: golang.org/x/sys/cpu (ARM64 feature flags); Arm ARM (DDI 0487) C7 (Advanced SIMD), FEAT_DotProd.

package kernel

import "golang.org/x/sys/cpu"

// Every arm64 CPU Go runs on has Advanced SIMD (NEON) with float32 lanes,
// fused multiply-add and half→single conversion (FCVTL), so the float
// kernels need no check. The integer dots use SDOT (FEAT_DotProd: Cortex-A55
// and A76 on, Neoverse, Apple M1 on) where present; without it the same
// integer sums come from SMULL and pairwise adds, a slower route to the
// same bits. GODEBUG=cpu.asimddp=off (read by golang.org/x/sys/cpu), or
// qemu's QEMU_CPU=cortex-a53, forces that route, so tests can run both.
var dotprodOK = cpu.ARM64.HasASIMDDP

func init() {
	asmBuilt = true
	neonISA = "NEON"
	if dotprodOK {
		neonISA = "NEON+dotprod"
	}
}
