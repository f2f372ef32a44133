// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_compute_forward_mul_mat: every product one vec_dot of a
// weight row and an activation row); llamafile/sgemm.cpp (tinyBLAS's batch order for Q5_0 and IQ4_NL).

package tensor

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
)

// MatMul of the tileKernels types that have a 4×4 tile (tiles4) against
// the row-by-row dot in batch order (batchDots where nb >= 2, else the
// type's dot) on the same converted activations, bit for bit: weight rows R
// and activation rows nb multiples of 4 and not, so that whole groups of
// four weight rows go through the 4×4 tile, the rows left over through the
// 1×4 tile, and the activation rows left over through the dot; 1 and 2
// workers. A counting wrapper around the 4×4 tile proves it ran where the
// CPU has it.
func TestMatMulTile4MatchesDots(t *testing.T) {
	pools := []*Pool{NewPool(1), NewPool(2)}
	defer func() {
		for _, p := range pools {
			p.Close()
		}
	}()
	for _, dt := range []DType{Q5_0, IQ4_NL, Q4_1, Q5_1} {
		calls := 0
		if t4 := tiles4[dt]; t4 != nil {
			tiles4[dt] = func(n int, w []byte, rb int, x []byte, xStride int, out []float32, outStride int) {
				calls++
				t4(n, w, rb, x, xStride, out, outStride)
			}
			defer func() { tiles4[dt] = t4 }()
		} else if kernel.TilesLegacyX4() && tileKernels[dt] != nil {
			t.Fatalf("%v: the CPU has the 4×4 tiles but MatMul does not use them", dt)
		}
		r := rand.New(rand.NewPCG(31, uint64(dt)))
		f := FormatOf(dt)
		for _, C := range []int{32, 96, 1024} {
			for _, R := range []int{4, 8, 13, 22} {
				w := randomMatrix(t, r, dt, C, R)
				for _, nb := range []int{2, 4, 5, 8, 11} {
					x := make([]float32, nb*C)
					for i := range x {
						x[i] = float32(r.NormFloat64())
					}
					rowSize, _ := f.VecDotType.RowSize(int64(C))
					quant := activationQuantizers[f.VecDotType]
					xq := make([]byte, nb*int(rowSize))
					for b := range nb {
						quant(x[b*C:(b+1)*C], xq[b*int(rowSize):(b+1)*int(rowSize)])
					}
					dot := f.VecDot
					if batchDots[dt] != nil {
						dot = batchDots[dt]
					}
					for _, p := range pools {
						out := make([]float32, nb*R+3)
						for i := range out {
							out[i] = -7
						}
						if err := p.MatMul(w, x, nb, out[:nb*R]); err != nil {
							t.Fatal(err)
						}
						for b := range nb {
							for i := range R {
								want := dot(C, w.Data[i*w.RowBytes():(i+1)*w.RowBytes()], xq[b*int(rowSize):(b+1)*int(rowSize)])
								if got := out[b*R+i]; math.Float32bits(got) != math.Float32bits(want) || math.IsNaN(float64(got)) {
									t.Fatalf("%v C %d R %d nb %d, %d workers: out[%d][%d] = %v, dot %v", dt, C, R, nb, p.Workers(), b, i, got, want)
								}
							}
						}
						for i := nb * R; i < len(out); i++ {
							if out[i] != -7 {
								t.Fatalf("%v C %d R %d nb %d: out[%d] written past nb×R", dt, C, R, nb, i)
							}
						}
					}
				}
			}
		}
		if tiles4[dt] != nil && calls == 0 {
			t.Fatalf("%v: the 4×4 tile never ran", dt)
		}
		t.Logf("%v: %d calls of the 4×4 tile", dt, calls)
	}
}
