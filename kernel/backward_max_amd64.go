//go:build !purego

// Reference: backward.go (rowMax, the loop this must match); Intel SDM vol. 2 (VMAXPS).

package kernel

import (
	"math"

	"golang.org/x/sys/cpu"
)

func init() {
	if hasAVX2FMA && cpu.X86.HasAVX512F {
		rowMaxVec = rowMaxAVX512
		useAsm("row-max")
	}
}

// rowMaxAVX512 folds the whole groups of 16 with VMAXPS, then the lanes and
// the tail with the builtin max. The value of a maximum that is neither
// zero nor NaN does not depend on the order or on how zeros and NaNs are
// treated, so it is the loop's; a NaN anywhere, or a zero maximum (whose
// sign the builtin decides: +0 beats −0), is left to the loop.
func rowMaxAVX512(x []float32) (float32, bool) {
	n := len(x) &^ 15
	if n == 0 {
		return 0, false
	}
	var lanes [16]float32
	if maxF32Asm(n, &x[0], &lanes) != 0 {
		return 0, false
	}
	m := float32(math.Inf(-1))
	for _, v := range lanes {
		m = max(m, v)
	}
	for _, v := range x[n:] {
		m = max(m, v)
	}
	if m == 0 || m != m {
		return 0, false
	}
	return m, true
}

// maxF32Asm writes to lanes the maximum of each of 16 lanes over x[:n] (n a
// positive multiple of 16; lane j sees x[j], x[j+16], …), by VMAXPS from
// −Inf, and returns nonzero if any value was NaN.
//
//go:noescape
func maxF32Asm(n int, x *float32, lanes *[16]float32) int
