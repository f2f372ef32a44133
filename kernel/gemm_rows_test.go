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
					gemmKernelPairRows = nil
					want := append([]float32(nil), C0...)
					GemmF32Range(false, transB, M, N, K, A, lda, B, ldb, want, ldc, acc, m0, m1, n0, n1)
					gemmKernelPairRows = rows
					got := append([]float32(nil), C0...)
					GemmF32Range(false, transB, M, N, K, A, lda, B, ldb, got, ldc, acc, m0, m1, n0, n1)
					for i := range got {
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%s: C[%d] = %v, packed gives %v", name, i, got[i], want[i])
						}
					}
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
			gemmKernelPairRows = nil
			want := make([]float32, T*D)
			GemmF32Tri(TriLowerA, false, false, T, D, T, P, T, v, D, want, D, false)
			gemmKernelPairRows = rows
			got := make([]float32, T*D)
			GemmF32Tri(TriLowerA, false, false, T, D, T, P, T, v, D, got, D, false)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("tri T %d D %d: C[%d] = %v, packed gives %v", T, D, i, got[i], want[i])
				}
			}
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
			gemmKernelPairGen = nil
			want := randF32old(r, T*D)
			got := append([]float32(nil), want...)
			GemmF32Tri(TriUpperA, true, false, T, D, T, P, T, dout, D, want, D, true)
			gemmKernelPairGen = gen
			GemmF32Tri(TriUpperA, true, false, T, D, T, P, T, dout, D, got, D, true)
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("tri upper T %d D %d: C[%d] = %v, packed gives %v", T, D, i, got[i], want[i])
				}
			}
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
				gemmKernelPairB = nil
				want := append([]float32(nil), C0...)
				GemmF32Range(true, false, M, N, K, A, lda, B, ldb, want, ldc, acc, m0, M, n0, N)
				gemmKernelPairB = kb
				got := append([]float32(nil), C0...)
				GemmF32Range(true, false, M, N, K, A, lda, B, ldb, got, ldc, acc, m0, M, n0, N)
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("M %d N %d K %d acc %v: C[%d] = %v, packed gives %v", M, N, K, acc, i, got[i], want[i])
					}
				}
			}
		}
	}
}
