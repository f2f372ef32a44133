package tensor

import (
	"math"
	"math/rand"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

// Pool.Gemm gives the single-call kernel.GemmF32 bit for bit, whatever the
// number of workers.
func TestPoolGemmMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewSource(3))
	M, N, K := 301, 1100, 290
	A := make([]float32, M*K)
	B := make([]float32, N*K)
	for i := range A {
		A[i] = r.Float32()*2 - 1
	}
	for i := range B {
		B[i] = r.Float32()*2 - 1
	}
	want := make([]float32, M*N)
	kernel.GemmF32(false, true, M, N, K, A, K, B, K, want, N, false)
	for _, workers := range []int{1, 2, 5} {
		p := NewPool(workers)
		got := make([]float32, M*N)
		p.Gemm(false, true, M, N, K, A, K, B, K, got, N, false)
		p.Close()
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("%d workers: C[%d] = %v, want %v", workers, i, got[i], want[i])
			}
		}
	}
}
