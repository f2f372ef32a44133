//go:build !purego

// Reference: golang.org/x/sys/cpu (X86 feature flags); Intel SDM vol. 2 (F16C: VCVTPH2PS).

package kernel

import "golang.org/x/sys/cpu"

func init() { asmBuilt = true }

// f16cOK: VCVTPH2PS (half → float32) is available. Every AVX2 CPU made so far
// has it, but it is a separate CPUID bit.
var f16cOK = cpu.X86.HasF16C

// vnniOK: the AVX-512 kernels may run. They use VPDPBUSD on YMM registers
// (AVX512_VNNI with AVX512VL's EVEX encodings of 256-bit forms) and AVX512BW
// byte operations, besides everything the AVX2 kernels need. On Zen 4 a ZMM
// operation occupies a 256-bit pipe for two cycles, so most of the gain is
// VPDPBUSD doing in one instruction what VPMADDUBSW+VPMADDWD did in two.
// GODEBUG=cpu.avx512vnni=off (read by golang.org/x/sys/cpu) forces the AVX2
// kernels, for measuring one against the other.
var vnniOK = hasAVX2FMA && f16cOK && cpu.X86.HasAVX512F && cpu.X86.HasAVX512BW &&
	cpu.X86.HasAVX512VL && cpu.X86.HasAVX512VNNI
