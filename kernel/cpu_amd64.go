//go:build !purego

// Reference: golang.org/x/sys/cpu (X86 feature flags); Intel SDM vol. 2 (F16C: VCVTPH2PS).

package kernel

import "golang.org/x/sys/cpu"

func init() { asmBuilt = true }

// f16cOK: VCVTPH2PS (half → float32) is available. Every AVX2 CPU made so far
// has it, but it is a separate CPUID bit.
var f16cOK = cpu.X86.HasF16C
