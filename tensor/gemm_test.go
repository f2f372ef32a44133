package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

// randUnit returns n values uniform in [−1, 1).
func randUnit(r *rand.Rand, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	return x
}

// Pool.Gemm gives the single-call kernel.GemmF32 bit for bit, whatever the
// number of workers.
func TestPoolGemmMatchesKernel(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	M, N, K := 301, 1100, 290
	A, B := randUnit(r, M*K), randUnit(r, N*K)
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

// MatMul of F16 and BF16 weights by a batch at or past gemmMinRows is the
// single-call kernel product on the rounded activations, bit for bit,
// whatever the number of workers and however C is blocked over them: the
// lanes-of-8 (tinyBLAS) order where the rows are a multiple of 8 long, the
// packed GEMM otherwise. Just below the threshold it is the dot path,
// within rounding of it.
func TestMatMulHalfGemm(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	R := 1100
	for _, C := range []int{296, 300} {
		for _, dt := range []DType{F16, BF16} {
			w := randomMatrix(t, r, dt, C, R)
			for _, nb := range []int{gemmMinRows - 1, gemmMinRows, 200} {
				x := make([]float32, nb*C)
				for i := range x {
					x[i] = float32(r.NormFloat64())
				}
				xr := make([]float32, len(x))
				want := make([]float32, nb*R)
				if dt == F16 {
					kernel.RoundF16Into(xr, x)
				} else {
					kernel.RoundBF16Into(xr, x)
				}
				switch {
				case C%8 == 0:
					kernel.GemmHalfLanes8Range(dt == BF16, C, xr, C, w.Data, C, want, R, 0, nb, 0, R)
				case dt == F16:
					kernel.GemmF16Range(nb, R, C, xr, C, w.Data, C, want, R, 0, nb, 0, R)
				default:
					kernel.GemmBF16Range(nb, R, C, xr, C, w.Data, C, want, R, 0, nb, 0, R)
				}
				for _, workers := range []int{1, 2, 5} {
					p := NewPool(workers)
					got := make([]float32, nb*R)
					if err := p.MatMul(w, x, nb, got); err != nil {
						t.Fatal(err)
					}
					p.Close()
					for i := range got {
						if nb < gemmMinRows {
							// The dot sums x unrounded in another order: within
							// the activations' rounding (2⁻⁸ relative for BF16,
							// 2⁻¹¹ for F16) of a sum of 300 terms of order 1.
							if math.Abs(float64(got[i]-want[i])) > 0.5 {
								t.Fatalf("%v C %d nb %d: dot gives out[%d] = %v, GEMM %v", dt, C, nb, i, got[i], want[i])
							}
							continue
						}
						if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
							t.Fatalf("%v C %d nb %d, %d workers: out[%d] = %v, want %v", dt, C, nb, workers, i, got[i], want[i])
						}
					}
				}
			}
		}
	}
}

// Few row blocks are cut even (evenRows): 128 rows on two workers as 66 + 62
// rather than 96 + 32, 288 as four of 72; the products keep the single-call
// kernel's bits.
func TestPoolGemmEvenRows(t *testing.T) {
	for _, c := range []struct{ M, rows, want int }{{128, 96, 66}, {288, 96, 72}, {352, 96, 90}, {4096, 512, 512}} {
		if got := evenRows(2, c.M, c.rows, 1); got != c.want {
			t.Errorf("evenRows(2 workers, M %d, rows %d) = %d, want %d", c.M, c.rows, got, c.want)
		}
	}
	r := rand.New(rand.NewPCG(4, 4))
	for _, M := range []int{128, 288, 7} {
		N, K := 40, 70
		A, B := randUnit(r, K*M), randUnit(r, K*N)
		want := make([]float32, M*N)
		kernel.GemmF32(true, false, M, N, K, A, M, B, N, want, N, false)
		p := NewPool(2)
		got := make([]float32, M*N)
		p.Gemm(true, false, M, N, K, A, M, B, N, got, N, false)
		p.Close()
		for i := range got {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
				t.Fatalf("M %d: C[%d] = %v, want %v", M, i, got[i], want[i])
			}
		}
	}
}
