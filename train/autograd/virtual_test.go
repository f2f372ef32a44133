// Reference: ggml tests/test-grad0.c (gradients against central differences); Lester et al. 2021 §2.

package autograd

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// TestVirtualRowsGradients: the table's gradient (a row used twice, one
// unused) and x's (real rows only) against central differences, through a
// Linear after the op so that the rows mix.
func TestVirtualRowsGradients(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(7, 8))
	const N, C, P = 7, 5, 4
	x := param(t, rng, "x", N, C)
	table := param(t, rng, "prompt", P, C)
	w := param(t, rng, "w", 3, C)
	tokens := []int32{-1, -2, -4, 5, 0, -1, 9} // row 2 (-3) unused, row 0 twice
	checkTape(t, "virtual rows", pool, []*Var{x, table, w}, func(tp *Tape) *Var {
		return tp.Linear(tp.VirtualRows(x, table, tokens), w, nil)
	})
}

// TestVirtualRowsValues: virtual rows are the table's, real rows x's, bit
// for bit, and the unused table row and the virtual rows of x get no
// gradient.
func TestVirtualRowsValues(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	const C = 3
	x, table := param(t, rng, "x", 3, C), param(t, rng, "prompt", 2, C)
	tp := NewTape(pool)
	y := tp.VirtualRows(x, table, []int32{-2, 1, 4})
	for j := range C {
		if y.Data[j] != table.Data[C+j] || y.Data[C+j] != x.Data[C+j] || y.Data[2*C+j] != x.Data[2*C+j] {
			t.Fatalf("rows %v from x %v and table %v", y.Data, x.Data, table.Data)
		}
	}
	loss, _ := tp.weighted(y, []float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
	if err := tp.Backward(loss, 1); err != nil {
		t.Fatal(err)
	}
	for j := range C {
		if x.Grad[j] != 0 || table.Grad[j] != 0 || table.Grad[C+j] != 1 || x.Grad[C+j] != 1 {
			t.Fatalf("x grad %v, table grad %v", x.Grad, table.Grad)
		}
	}
}

func TestVirtualRowsErrors(t *testing.T) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	rng := rand.New(rand.NewPCG(3, 4))
	x, table := param(t, rng, "x", 2, 3), param(t, rng, "prompt", 2, 3)
	for _, c := range []struct {
		tokens []int32
		table  *Var
		want   string
	}{
		{[]int32{-3, 0}, table, "beyond the 2 virtual tokens"},
		{[]int32{0}, table, "shapes do not fit"},
		{[]int32{-1, 0}, param(t, rng, "wide", 2, 4), "shapes do not fit"},
	} {
		tp := NewTape(pool)
		tp.VirtualRows(x, c.table, c.tokens)
		if err := tp.Err(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("tokens %v: err %v, want %q", c.tokens, err, c.want)
		}
	}
}
