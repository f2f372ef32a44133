//go:build !purego

// Reference: dot_half.go (the plain Go these give bit for bit); Arm ARM (DDI 0487) C7 (FCVTL, FMLA).

package kernel

import "encoding/binary"

func init() {
	dotHalvesLanes8 = dotHalvesLanes8NEON
	dotHalvesLanes8Rows = func(dst []float32, w []byte, stride int, x []float32) {
		for r := range dst {
			dst[r] = dotHalvesLanes8NEON(w[r*stride:], x)
		}
	}
	dotHalvesVec = dotHalvesVecNEON
	useAsm("f16-attention")
}

// dotHalvesLanes8NEON runs the whole groups of eight in assembly and adds
// the tail and the fold as dotHalvesLanes8Generic does.
func dotHalvesLanes8NEON(w []byte, x []float32) float32 {
	n := len(x)
	w = w[:2*n]
	var l [8]float32
	n8 := n &^ 7
	if n8 > 0 {
		halvesLanes8NEON(n8/8, &w[0], &x[0], &l)
	}
	if n8 < n { // a padded row's tail: zeros beyond
		t := halfTable()
		var p [8]float32
		for i := n8; i < n; i++ {
			p[i-n8] = t[binary.LittleEndian.Uint16(w[2*i:])] * x[i]
		}
		for m := range l {
			l[m] += p[m]
		}
	}
	a, b, c, d := l[0]+l[4], l[1]+l[5], l[2]+l[6], l[3]+l[7]
	return (a + c) + (b + d)
}

// dotHalvesVecNEON runs the whole steps of 32 in assembly and adds the
// last step and the fold as dotHalvesVecGeneric does.
func dotHalvesVecNEON(w []byte, x []float32) float32 {
	n := len(x)
	w = w[:2*n]
	var s [32]float32 // s[8g+m]: lane m of accumulator g
	full := n &^ 31
	if full > 0 {
		halvesVecNEON(full/32, &w[0], &x[0], &s)
	}
	t := halfTable()
	for i := full; i < n; i++ { // the zero-padded last step
		s[i-full] += t[binary.LittleEndian.Uint16(w[2*i:])] * x[i]
	}
	var v [8]float32
	for m := range 8 {
		v[m] = (s[m] + s[16+m]) + (s[8+m] + s[24+m])
	}
	a, b, c, d := v[0]+v[4], v[1]+v[5], v[2]+v[6], v[3]+v[7]
	return (a + b) + (c + d)
}

// halvesLanes8NEON stores in l the eight lanes of dotHalvesLanes8Generic
// over 8·n8 elements (n8 ≥ 1): l[m] = Σ_k FP16ToFP32(w[8k+m])·x[8k+m], the
// products exact and summed in order.
//
//go:noescape
func halvesLanes8NEON(n8 int, w *byte, x *float32, l *[8]float32)

// halvesVecNEON stores in s the four 8-lane accumulators of
// dotHalvesVecGeneric over 32·n32 elements (n32 ≥ 1): s[8g+m] = Σ_k
// FP16ToFP32(w[32k+8g+m])·x[32k+8g+m].
//
//go:noescape
func halvesVecNEON(n32 int, w *byte, x *float32, s *[32]float32)
