// Reference: gemm_tri.go (GemmF32Tri), checked against GemmF32 bit for bit and against gemmRef.

package kernel

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// triKernels runs f as gemmKernels does, and once more with the pair kernels
// removed where there are some, so both of triMacro's paths are taken on an
// AVX-512 machine.
func triKernels(t *testing.T, f func(t *testing.T)) {
	gemmKernels(t, func(t *testing.T) {
		stride := gemmKernelPairStride
		defer func() { gemmKernelPairStride = stride }()
		if gemmKernelPair == nil {
			gemmKernelPairStride = nil
		}
		f(t)
	})
}

// TestGemmF32TriSameBits: GemmF32Tri gives GemmF32's bits on causal operands
// (op(A) with its zero triangle, or C's lower triangle), over ragged sizes
// (T not a multiple of gemmMR, gemmMC or gemmKC, and more than one K block),
// both transposes, stored and accumulated; it writes nothing outside C's
// M×N, reads A and B only, and is within gemmRef's bound of the float64
// product. C starts with some −0 (a skipped K block adds +0 to it, as
// GemmF32 does).
func TestGemmF32TriSameBits(t *testing.T) {
	triKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(7))
		for _, T := range []int{1, 5, 6, 7, 31, 64, 97, 255, 257, 301} {
			for _, D := range []int{1, 16, 31, 32, 48, 64} {
				if T > 100 && D != 32 && D != 31 {
					continue
				}
				for _, tri := range []Tri{TriLowerA, TriUpperA, TriLowerC} {
					for _, trans := range []bool{false, true} {
						for _, acc := range []bool{false, true} {
							checkTri(t, r, tri, trans, T, D, acc)
						}
					}
				}
			}
		}
	})
}

// checkTri builds one causal product of attention's shapes: for TriLowerA and
// TriUpperA, op(A) is T×T with its zero triangle (+0, as the kernels clear
// it) times a T×D B (transB: B is given D×T); for TriLowerC, T×D times D×T.
// trans picks transA for the A kinds and transB for TriLowerC.
func checkTri(t *testing.T, r *rand.Rand, tri Tri, trans bool, T, D int, acc bool) {
	t.Helper()
	M, N, K := T, D, T
	transA, transB := trans, false
	if tri == TriLowerC {
		M, N, K = T, T, D
		transA, transB = false, trans
	}
	lda, ldb, ldc, rowsA, rowsB := paddedDims(transA, transB, M, N, K)
	A, B := make([]float32, rowsA*lda), make([]float32, rowsB*ldb)
	for i := range A {
		A[i] = float32(r.NormFloat64())
	}
	for i := range B {
		B[i] = float32(r.NormFloat64())
	}
	at := func(i, k int) *float32 {
		if transA {
			return &A[k*lda+i]
		}
		return &A[i*lda+k]
	}
	for i := range M {
		for k := range K {
			if tri == TriLowerA && k > i || tri == TriUpperA && k < i {
				*at(i, k) = 0
			}
		}
	}
	const pad, guard = 9, float32(-12345.5)
	fresh := func() ([]float32, []float32) {
		full := make([]float32, pad+M*ldc+pad)
		for i := range full {
			full[i] = guard
		}
		c := full[pad : pad+M*ldc]
		for i := range M {
			for j := range N {
				c[i*ldc+j] = float32(math.Copysign(0, -1)) // −0: a skipped block must still turn it +0
				if j%3 != 0 {
					c[i*ldc+j] = float32(r.NormFloat64())
				}
			}
		}
		return full, c
	}
	wantFull, want := fresh()
	gotFull, got := fresh()
	copy(gotFull, wantFull)
	C0 := append([]float32(nil), want...)
	A0, B0 := append([]float32(nil), A...), append([]float32(nil), B...)
	GemmF32(transA, transB, M, N, K, A, lda, B, ldb, want, ldc, acc)
	GemmF32Tri(tri, transA, transB, M, N, K, A, lda, B, ldb, got, ldc, acc)
	name := fmt.Sprintf("tri %d trans=%v T=%d D=%d acc=%v", tri, trans, T, D, acc)
	for i := range gotFull {
		in := i >= pad && i < pad+M*ldc && (i-pad)%ldc < N
		if !in && gotFull[i] != guard {
			t.Fatalf("%s: guard at %d overwritten: %v", name, i-pad, gotFull[i])
		}
	}
	for i := range M {
		for j := range N {
			if tri == TriLowerC && j > i {
				continue
			}
			g, w := got[i*ldc+j], want[i*ldc+j]
			if math.Float32bits(g) != math.Float32bits(w) {
				t.Fatalf("%s: C[%d,%d] = %v (%#x), GemmF32 gives %v (%#x)", name, i, j, g, math.Float32bits(g), w, math.Float32bits(w))
			}
			ref, abs := gemmRef(transA, transB, M, N, K, A, lda, B, ldb, i, j)
			if acc {
				ref += float64(C0[i*ldc+j])
				abs += math.Abs(float64(C0[i*ldc+j]))
			}
			if tol := float64(K+16) * 0x1p-24 * abs; math.Abs(float64(g)-ref) > tol {
				t.Fatalf("%s: C[%d,%d] = %v, want %v ± %g", name, i, j, g, ref, tol)
			}
		}
	}
	for i := range A {
		if math.Float32bits(A[i]) != math.Float32bits(A0[i]) {
			t.Fatalf("%s: A modified", name)
		}
	}
	for i := range B {
		if math.Float32bits(B[i]) != math.Float32bits(B0[i]) {
			t.Fatalf("%s: B modified", name)
		}
	}
}
