// Reference: gemm_amd64.s and gemm_arm64.s (the 6×16 micro-kernel, one fused multiply-add per product).

package kernel

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestGemmKernelFMAOrder: where the GEMM micro-kernel runs as assembly
// (AVX2 on amd64, NEON on arm64), each element of its 6×16 tile is the
// fused multiply-adds of the products in k order, fma32x's bits, so the
// two machines agree; stored, or added to C, with the guards between and
// after C's rows untouched. Cheap enough for -short (the arm64 CI under
// qemu-user), where the whole-matrix tests skip.
func TestGemmKernelFMAOrder(t *testing.T) {
	skipUnlessAsm(t, "gemm")
	r := rand.New(rand.NewPCG(41, 42))
	const ldc, guard = gemmNR + 3, float32(-12345.5)
	for _, kc := range []int{1, 2, 3, 7, 64, 301} {
		for _, add := range []bool{false, true} {
			a, b := make([]float32, kc*gemmMR), make([]float32, kc*gemmNR)
			for i := range a {
				a[i] = float32(r.NormFloat64() * math.Ldexp(1, r.IntN(12)-6))
			}
			for i := range b {
				b[i] = float32(r.NormFloat64() * math.Ldexp(1, r.IntN(12)-6))
			}
			c := make([]float32, gemmMR*ldc+5)
			for i := range c {
				c[i] = guard
				if i < gemmMR*ldc && i%ldc < gemmNR {
					c[i] = float32(r.NormFloat64())
				}
			}
			c0 := append([]float32(nil), c...)
			gemmKernel(kc, a, b, c, ldc, add)
			for i := range gemmMR {
				for j := range gemmNR {
					var s float32
					for p := range kc {
						s = fma32x(a[p*gemmMR+i], b[p*gemmNR+j], s)
					}
					if add {
						s += c0[i*ldc+j]
					}
					if got := c[i*ldc+j]; math.Float32bits(got) != math.Float32bits(s) {
						t.Fatalf("kc %d add %v: C[%d,%d] = %v, fused order %v", kc, add, i, j, got, s)
					}
				}
			}
			for i := range c {
				if (i >= gemmMR*ldc || i%ldc >= gemmNR) && c[i] != guard {
					t.Fatalf("kc %d add %v: guard at %d overwritten: %v", kc, add, i, c[i])
				}
			}
		}
	}
}
