package kernel_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// Each DotXRows gives DotX of every row bit for bit, for 0…5 rows with gaps
// between them, lengths of 1…3 blocks and a long one, and writes nothing
// beyond out.
func TestDotRowsMatchDots(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		wt   tensor.DType
		rows kernel.DotRows
		dot  func(n int, w, x []byte) float32
	}{
		{tensor.F16, kernel.DotF16GGMLRows, kernel.DotF16GGML},
		{tensor.Q8_0, kernel.DotQ8_0Rows, kernel.DotQ8_0},
		{tensor.Q4_0, kernel.DotQ4_0Rows, kernel.DotQ4_0},
		{tensor.Q4_K, kernel.DotQ4_KRows, kernel.DotQ4_K},
		{tensor.Q5_K, kernel.DotQ5_KRows, kernel.DotQ5_K},
		{tensor.Q6_K, kernel.DotQ6_KRows, kernel.DotQ6_K},
	} {
		xt := tensor.FormatOf(c.wt).VecDotType
		for _, blocks := range []int{1, 2, 3, 33} {
			n := blocks * int(max(c.wt.BlockSize(), xt.BlockSize(), 32))
			x := encode(t, xt, randomValues(r, n))
			for rows := range 6 {
				rowBytes, _ := c.wt.RowSize(int64(n))
				rb := int(rowBytes) + 3*r.IntN(3)
				w := make([]byte, rows*rb)
				for j := range rows {
					copy(w[j*rb:], encode(t, c.wt, randomValues(r, n)))
				}
				out := make([]float32, rows+1)
				out[rows] = 42
				c.rows(n, w, rb, x, out[:rows])
				for j := range rows {
					want := c.dot(n, w[j*rb:], x)
					if math.Float32bits(out[j]) != math.Float32bits(want) {
						t.Fatalf("%v n %d rows %d: row %d = %v, dot %v", c.wt, n, rows, j, out[j], want)
					}
				}
				if out[rows] != 42 {
					t.Fatalf("%v: wrote past out", c.wt)
				}
			}
		}
	}
}
