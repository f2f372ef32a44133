// Reference: gemm.go (gemmMacroRows) and gemm_tri.go (triMacro): A read in place gives the packed path's bits.

package kernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// TestGemmRowsSameBits: where the pair kernel reads an untransposed A in
// place (gemmKernelPairRows), GemmF32Range and GemmF32Tri give the bits of
// the packed pair kernel, on blocks of whole micro-tiles and ragged ones
// (which go the packed way), sub-blocks of C, several K blocks, padded
// leading dimensions; C's padding and the values past it must match too.
func TestGemmRowsSameBits(t *testing.T) {
	if gemmKernelPairRows == nil || gemmKernelPair == nil {
		t.Skip("no in-place pair kernel on this CPU or build")
	}
	rows := gemmKernelPairRows
	defer func() { gemmKernelPairRows = rows }()
	r := rand.New(rand.NewSource(11))
	for _, M := range []int{6, 12, 96, 102, 197} {
		for _, N := range []int{32, 64, 96, 544, 40} {
			for _, K := range []int{1, 7, 256, 300} {
				for _, transB := range []bool{false, true} {
					acc := (M+N+K)%2 == 0
					lda, ldb, ldc := K+3, N+5, N+2
					if transB {
						ldb = K + 1
					}
					rowsB := K
					if transB {
						rowsB = N
					}
					A, B := randF32old(r, M*lda), randF32old(r, rowsB*ldb)
					C0 := randF32old(r, M*ldc+8)
					name := fmt.Sprintf("M %d N %d K %d transB %v acc %v", M, N, K, transB, acc)
					m0, m1, n0, n1 := 0, M, 0, N
					if M > 96 {
						m0 = 6 // a block that starts past row 0
					}
					offOnSameBits(t, name, &gemmKernelPairRows, rows, C0, func(c []float32) {
						GemmF32Range(false, transB, M, N, K, A, lda, B, ldb, c, ldc, acc, m0, m1, n0, n1)
					})
				}
			}
		}
	}
	// The causal forms on attention's shapes: T×T by T×D with the zero triangle.
	for _, T := range []int{6, 96, 100, 257} {
		for _, D := range []int{32, 64, 48} {
			P := randF32old(r, T*T)
			for i := range T {
				clear(P[i*T+i+1 : (i+1)*T])
			}
			v := randF32old(r, T*D)
			offOnSameBits(t, fmt.Sprintf("tri T %d D %d", T, D), &gemmKernelPairRows, rows, make([]float32, T*D), func(c []float32) {
				GemmF32Tri(TriLowerA, false, false, T, D, T, P, T, v, D, c, D, false)
			})
		}
	}
}

// offOnSameBits runs run on a copy of c0 with the kernel variable *k nil
// (the packed path), then on another copy with *k = on, and fails at the
// first element of C whose bits differ.
func offOnSameBits[F any](t *testing.T, name string, k *F, on F, c0 []float32, run func(c []float32)) {
	t.Helper()
	var packed F
	*k = packed
	want := append([]float32(nil), c0...)
	run(want)
	*k = on
	got := append([]float32(nil), c0...)
	run(got)
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s: C[%d] = %v, packed gives %v", name, i, got[i], want[i])
		}
	}
}

func randF32old(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	return x
}

// TestGemmBInPlaceSameBits: a transposed A times an untransposed B, with the
// pair tiles reading B in place (gemmKernelPairB), and A too where no lone
// last panel needs it packed (gemmKernelPairGen), gives the packed pair
// kernel's bits: whole pairs, lone last panels, edge rows (which pack their
// pair), sub-blocks of C, several K blocks; C's padding must match too.
func TestGemmBInPlaceSameBits(t *testing.T) {
	if gemmKernelPairB == nil || gemmKernelPair == nil {
		t.Skip("no in-place-B pair kernel on this CPU or build")
	}
	kb, gen := gemmKernelPairB, gemmKernelPairGen
	defer func() { gemmKernelPairB, gemmKernelPairGen = kb, gen }()
	r := rand.New(rand.NewSource(12))
	for _, withGen := range []bool{true, false} { // A in place too, or packed
		gemmKernelPairGen = nil
		if withGen {
			gemmKernelPairGen = gen
		}
		checkBInPlace(t, r, kb)
	}
	// GemmF32Tri's Pᵀ·dout form reads the transposed P in place
	// (gemmKernelPairGen) where it is there.
	for _, T := range []int{6, 96, 100, 257} {
		for _, D := range []int{32, 64, 48} {
			P := randF32old(r, T*T)
			for i := range T {
				clear(P[i*T+i+1 : (i+1)*T])
			}
			dout := randF32old(r, T*D)
			offOnSameBits(t, fmt.Sprintf("tri upper T %d D %d", T, D), &gemmKernelPairGen, gen, randF32old(r, T*D), func(c []float32) {
				GemmF32Tri(TriUpperA, true, false, T, D, T, P, T, dout, D, c, D, true)
			})
		}
	}
}

func checkBInPlace(t *testing.T, r *rand.Rand, kb func(kc int, a, b []float32, ldb int, c []float32, ldc int, add bool)) {
	t.Helper()
	for _, M := range []int{1, 6, 7, 66, 62, 100, 197} {
		for _, N := range []int{5, 32, 40, 64, 70, 544, 560} {
			for _, K := range []int{1, 9, 256, 301} {
				acc := (M+N+K)%2 == 1
				lda, ldb, ldc := M+3, N+5, N+2
				A, B := randF32old(r, K*lda), randF32old(r, K*ldb)
				C0 := randF32old(r, M*ldc+8)
				m0, n0 := 0, 0
				if M > 96 {
					m0 = 7
				}
				if N > 512 {
					n0 = 3
				}
				offOnSameBits(t, fmt.Sprintf("M %d N %d K %d acc %v", M, N, K, acc), &gemmKernelPairB, kb, C0, func(c []float32) {
					GemmF32Range(true, false, M, N, K, A, lda, B, ldb, c, ldc, acc, m0, M, n0, N)
				})
			}
		}
	}
}
