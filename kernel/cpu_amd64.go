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

// asmDot adapts an assembly dot over whole units (blocks, or single elements
// for the float types) to the DotX signature. It slices w and x to exactly nb
// units first, so a short input panics here in Go with a bounds error instead
// of being over-read by the assembly, and it never passes a pointer into an
// empty slice.
func asmDot(asm func(nb int, w, x *byte) float32, unit, wBytes, xBytes int) func(n int, w, x []byte) float32 {
	return func(n int, w, x []byte) float32 {
		nb := n / unit
		w, x = w[:nb*wBytes], x[:nb*xBytes]
		if nb == 0 {
			return 0
		}
		return asm(nb, &w[0], &x[0])
	}
}

// asmRows adapts the same assembly dot to the DotRows signature: the dots of
// len(out) weight rows rb bytes apart with one activation row, bounds
// checked once for all of them, so that a decode step's matmul pays no Go
// call and slicing per row.
func asmRows(asm func(nb int, w, x *byte) float32, unit, wBytes, xBytes int) func(n int, w []byte, rb int, x []byte, out []float32) {
	return func(n int, w []byte, rb int, x []byte, out []float32) {
		nb := n / unit
		if len(out) == 0 {
			return
		}
		if nb == 0 {
			clear(out)
			return
		}
		if rb < nb*wBytes {
			panic("kernel: dot rows overlap")
		}
		_, _ = x[:nb*xBytes], w[:(len(out)-1)*rb+nb*wBytes]
		xp := &x[0]
		for r := range out {
			out[r] = asm(nb, &w[r*rb], xp)
		}
	}
}
