package kernel

import (
	"math"
	"math/rand"
	"slices"
	"testing"
)

// gemmRef is the float64 reference: the value and Σ|a·b| per element.
func gemmRef(transA, transB bool, M, N, K int, A []float32, lda int, B []float32, ldb int, i, j int) (s, abs float64) {
	for k := range K {
		var a, b float32
		if transA {
			a = A[k*lda+i]
		} else {
			a = A[i*lda+k]
		}
		if transB {
			b = B[j*ldb+k]
		} else {
			b = B[k*ldb+j]
		}
		p := float64(a) * float64(b)
		s += p
		abs += math.Abs(p)
	}
	return s, abs
}

// paddedDims gives a test product's padded leading dimensions (each past
// its row's length) and the rows A and B are stored in.
func paddedDims(transA, transB bool, M, N, K int) (lda, ldb, ldc, rowsA, rowsB int) {
	lda, ldb, ldc, rowsA, rowsB = K+3, N+1, N+2, M, K
	if transA {
		lda, rowsA = M+2, K
	}
	if transB {
		ldb, rowsB = K+5, N
	}
	return lda, ldb, ldc, rowsA, rowsB
}

// checkGemm runs GemmF32 on one shape with padded leading dimensions and
// guard values around and between the rows of C, and checks every element
// against the float64 reference within (K+16)·2⁻²⁴·(Σ|a·b| + |C₀|): K+16
// roundings of float32 sums bounded by those magnitudes.
func checkGemm(t *testing.T, r *rand.Rand, transA, transB bool, M, N, K int, accumulate bool) {
	t.Helper()
	const guard = float32(-12345.5)
	lda, ldb, ldc, rowsA, rowsB := paddedDims(transA, transB, M, N, K)
	A := make([]float32, rowsA*lda)
	B := make([]float32, rowsB*ldb)
	for i := range A {
		A[i] = r.Float32()*2 - 1
	}
	for i := range B {
		B[i] = r.Float32()*2 - 1
	}
	const pad = 7
	full := make([]float32, pad+M*ldc+pad)
	for i := range full {
		full[i] = guard
	}
	C := full[pad : pad+M*ldc]
	C0 := make([]float32, len(C))
	for i := range M {
		for j := range N {
			C[i*ldc+j] = r.Float32()*2 - 1
		}
	}
	copy(C0, C)
	Acopy, Bcopy := append([]float32(nil), A...), append([]float32(nil), B...)
	GemmF32(transA, transB, M, N, K, A, lda, B, ldb, C, ldc, accumulate)
	for i := range full {
		in := i >= pad && i < pad+M*ldc && (i-pad)%ldc < N
		if !in && full[i] != guard {
			t.Fatalf("%v %v %d×%d×%d: guard at %d overwritten: %v", transA, transB, M, N, K, i-pad, full[i])
		}
	}
	for i := range M {
		for j := range N {
			want, abs := gemmRef(transA, transB, M, N, K, A, lda, B, ldb, i, j)
			if accumulate {
				want += float64(C0[i*ldc+j])
				abs += math.Abs(float64(C0[i*ldc+j]))
			}
			got := float64(C[i*ldc+j])
			if tol := float64(K+16) * 0x1p-24 * abs; math.Abs(got-want) > tol {
				t.Fatalf("%v %v %d×%d×%d acc=%v: C[%d,%d] = %v, want %v ± %g", transA, transB, M, N, K, accumulate, i, j, got, want, tol)
			}
		}
	}
	for i := range A {
		if math.Float32bits(A[i]) != math.Float32bits(Acopy[i]) {
			t.Fatal("A modified")
		}
	}
	for i := range B {
		if math.Float32bits(B[i]) != math.Float32bits(Bcopy[i]) {
			t.Fatal("B modified")
		}
	}
}

// gemmKernels runs f with the reference micro-kernel, with the selected one
// (assembly where the CPU allows) alone, and with the pair kernel too where
// there is one. Where the selected kernel is the reference itself (no GEMM
// assembly: purego) it runs once. With -short these whole-matrix tests
// skip: under qemu-user (the arm64 kernels' CI) they would take minutes,
// and TestGemmKernelFMAOrder checks the selected micro-kernel on its own.
func gemmKernels(t *testing.T, f func(t *testing.T)) {
	if testing.Short() {
		t.Skip("-short: whole GEMMs are tested by the full runs; TestGemmKernelFMAOrder checks the micro-kernel")
	}
	asm := slices.Contains(accelerated, "gemm")
	sel, pair := gemmKernel, gemmKernelPair
	defer func() { gemmKernel, gemmKernelPair = sel, pair }()
	gemmKernel, gemmKernelPair = gemmKernelGeneric, nil
	t.Run("generic", f)
	if !asm {
		return
	}
	gemmKernel = sel
	t.Run("selected", f)
	if pair != nil {
		gemmKernelPair = pair
		t.Run("pair", f)
	}
}

func TestGemmF32(t *testing.T) {
	gemmKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(1))
		sizes := []int{0, 1, 2, 5, 6, 7, 13, 16, 17, 31, 33, 70}
		for _, ta := range []bool{false, true} {
			for _, tb := range []bool{false, true} {
				for n := 0; n < 60; n++ {
					M, N, K := sizes[r.Intn(len(sizes))], sizes[r.Intn(len(sizes))], sizes[r.Intn(len(sizes))]
					checkGemm(t, r, ta, tb, M, N, K, n%2 == 0)
				}
				// Past every block size: several K blocks, A blocks and B blocks.
				checkGemm(t, r, ta, tb, gemmMC+7, gemmNC+5, 2*gemmKC+3, true)
				checkGemm(t, r, ta, tb, 1, gemmNC+17, gemmKC+1, false)
			}
		}
	})
}

// Any split of C into blocks gives the same bits as the whole product.
func TestGemmF32SplitInvariant(t *testing.T) {
	gemmKernels(t, func(t *testing.T) {
		r := rand.New(rand.NewSource(2))
		M, N, K := 113, 547, 600
		A := make([]float32, K*M)
		B := make([]float32, N*K)
		for i := range A {
			A[i] = r.Float32()*2 - 1
		}
		for i := range B {
			B[i] = r.Float32()*2 - 1
		}
		want := make([]float32, M*N)
		GemmF32(true, true, M, N, K, A, M, B, K, want, N, false)
		for _, bs := range [][2]int{{1, 1}, {7, 13}, {6, 16}, {50, 300}} {
			got := make([]float32, M*N)
			for m0 := 0; m0 < M; m0 += bs[0] {
				for n0 := 0; n0 < N; n0 += bs[1] {
					GemmF32Range(true, true, M, N, K, A, M, B, K, got, N, false, m0, min(m0+bs[0], M), n0, min(n0+bs[1], N))
				}
			}
			for i := range got {
				if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
					t.Fatalf("blocks %v: C[%d] = %v, whole product gives %v", bs, i, got[i], want[i])
				}
			}
		}
	})
}

// packA's whole-panel copies give packANaive's panels, for both layouts,
// edge panels and offsets into A, and write nothing past the block.
func TestPackAMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, trans := range []bool{false, true} {
		for _, mc := range []int{1, 5, 6, 7, 12, 13, 23} {
			for _, kc := range []int{1, 2, 7, 16, 33} {
				ic, pc := 3, 2
				rows, cols := ic+mc+1, pc+kc+1 // opA's extent, with a spare row and column
				lda := cols
				if trans {
					lda = rows
				}
				A := make([]float32, rows*cols)
				for i := range A {
					A[i] = r.Float32()
				}
				panels := (mc + gemmMR - 1) / gemmMR * gemmMR * kc
				got, want := make([]float32, panels+8), make([]float32, panels+8)
				for i := range got {
					got[i], want[i] = -7, -7 // garbage the packing must overwrite or leave
				}
				packA(trans, A, lda, ic, mc, pc, kc, got)
				for ir := 0; ir < mc; ir += gemmMR {
					packANaive(trans, A, lda, ic+ir, min(gemmMR, mc-ir), pc, kc, want[ir*kc:ir*kc+gemmMR*kc])
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("trans %v mc %d kc %d: packed[%d] = %v, want %v", trans, mc, kc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// packB's whole-panel copies give packBNaive's panels, for both layouts,
// edge panels and offsets into B, and write nothing past the block.
func TestPackBMatchesNaive(t *testing.T) {
	r := rand.New(rand.NewSource(8))
	for _, trans := range []bool{false, true} {
		for _, nc := range []int{1, 8, 15, 16, 17, 32, 45} {
			for _, kc := range []int{1, 2, 7, 33} {
				jc, pc := 3, 2
				rows, cols := pc+kc+1, jc+nc+1 // opB's extent (K×N), with a spare row and column
				ldb := cols
				if trans {
					ldb = rows
				}
				B := make([]float32, rows*cols)
				for i := range B {
					B[i] = r.Float32()
				}
				panels := (nc + gemmNR - 1) / gemmNR * gemmNR * kc
				got, want := make([]float32, panels+8), make([]float32, panels+8)
				for i := range got {
					got[i], want[i] = -7, -7 // garbage the packing must overwrite or leave
				}
				packB(trans, B, ldb, pc, kc, jc, nc, got)
				for jr := 0; jr < nc; jr += gemmNR {
					packBNaive(trans, B, ldb, pc, kc, jc+jr, min(gemmNR, nc-jr), want[jr*kc:jr*kc+gemmNR*kc])
				}
				for i := range got {
					if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
						t.Fatalf("trans %v nc %d kc %d: packed[%d] = %v, want %v", trans, nc, kc, i, got[i], want[i])
					}
				}
			}
		}
	}
}

func BenchmarkGemmF32(b *testing.B) {
	for _, s := range []struct {
		name    string
		ta, tb  bool
		M, N, K int
	}{
		{"512x512x512", false, false, 512, 512, 512},
		{"logits_2048x32000x288_tB", false, true, 2048, 32000, 288},
		{"gradW_32000x288x2048_tA", true, false, 32000, 288, 2048},
		// Attention's P·v and dS·k, and Pᵀ·dout and dSᵀ·q, on the 0.9M
		// training shape (T 256, D 32): packing A is as much work as the
		// products.
		{"attn_256x32x256", false, false, 256, 32, 256},
		{"attn_256x32x256_tA", true, false, 256, 32, 256},
	} {
		b.Run(s.name, func(b *testing.B) {
			A := make([]float32, s.M*s.K)
			B := make([]float32, s.K*s.N)
			C := make([]float32, s.M*s.N)
			for i := range A {
				A[i] = float32(i%7) - 3
			}
			for i := range B {
				B[i] = float32(i%5) - 2
			}
			lda, ldb := s.K, s.N
			if s.ta {
				lda = s.M
			}
			if s.tb {
				ldb = s.K
			}
			b.ResetTimer()
			for range b.N {
				GemmF32(s.ta, s.tb, s.M, s.N, s.K, A, lda, B, ldb, C, s.N, false)
			}
			b.ReportMetric(2*float64(s.M)*float64(s.N)*float64(s.K)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// The pair kernel gives gemmKernel's bits, so which one computes a tile
// (it depends on where the block edges fall) never shows in the result.
func TestGemmF32PairMatchesSingle(t *testing.T) {
	if gemmKernelPair == nil {
		t.Skip("no pair kernel on this CPU or build")
	}
	r := rand.New(rand.NewSource(4))
	M, N, K := 40, 100, 300
	A, B := make([]float32, M*K), make([]float32, K*N)
	for i := range A {
		A[i] = r.Float32()*2 - 1
	}
	for i := range B {
		B[i] = r.Float32()*2 - 1
	}
	want, got := make([]float32, M*N), make([]float32, M*N)
	GemmF32(false, false, M, N, K, A, K, B, N, got, N, false)
	pair := gemmKernelPair
	gemmKernelPair = nil
	GemmF32(false, false, M, N, K, A, K, B, N, want, N, false)
	gemmKernelPair = pair
	for i := range got {
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("C[%d] = %v with the pair kernel, %v without", i, got[i], want[i])
		}
	}
}
