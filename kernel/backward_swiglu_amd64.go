//go:build !purego

// Reference: backward.go (SwiGLUBackward, the loop this computes); Intel SDM vol. 2 (VSCALEFPD, VCVTPD2PS).

package kernel

import "golang.org/x/sys/cpu"

func init() {
	if hasAVX2FMA && cpu.X86.HasAVX512F {
		swigluBackwardVec = swigluBackwardAVX512
		useAsm("swiglu-backward")
	}
}

// swigluBackwardAVX512 bounds-checks in Go, then runs swigluBackwardAsm
// over the whole groups of eight.
func swigluBackwardAVX512(dgate, dup, dy, gate, up []float32) int {
	n := len(gate) &^ 7
	if n == 0 {
		return 0
	}
	_, _, _, _ = dgate[n-1], dup[n-1], dy[n-1], up[n-1]
	return swigluBackwardAsm(n, &dgate[0], &dup[0], &dy[0], &gate[0], &up[0])
}

// swigluBackwardAsm computes swigluBackwardGeneric's loop eight elements at
// a time (n a multiple of 8), with the same bits, and returns how many it
// did: it stops before the first group of eight that holds a gate g with
// −g outside [−87, 88] (or NaN), or one whose e^−g, computed in float64
// (range reduction by fdlibm's split ln2, a degree-12 Taylor polynomial:
// within a few units of the last place), lies within 64 units of the last
// place of a point halfway between two float32 values: only there could it
// round to another float32 than float32(math.Exp(−g)) does, both being
// that close to the true value. The rest of the loop is float32 arithmetic
// in the loop's order, without fused operations.
//
//	for i < n:
//		if !ok(gate[i:i+8]) { return i }
//		σ := 1 / (1 + float32(exp(−g)))
//		dup[i] += dy[i] * (g * σ)
//		dgate[i] += dy[i] * up[i] * (σ * (1 + g*(1−σ)))
//
//go:noescape
func swigluBackwardAsm(n int, dgate, dup, dy, gate, up *float32) int
