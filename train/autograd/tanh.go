// Reference: Li and Liang 2021, "Prefix-Tuning" §4.3 (the prefix reparameterized through an MLP while
// training); Hugging Face PEFT PrefixEncoder (prefix_projection: Linear → Tanh → Linear).

package autograd

import "math"

// Tanh returns tanh(x) elementwise, computed in float64 and rounded: the
// hidden layer of prefix tuning's reparameterization, on a few rows only,
// so it needs no vector kernel. Gradient: dL/dx = dL/dy · (1 − y²).
func (t *Tape) Tanh(x *Var) *Var {
	if t.err != nil {
		return t.dead
	}
	y := t.out("tanh", x.Shape, x)
	t.elems(len(y.Data), func(s, e int) {
		for i := s; i < e; i++ {
			y.Data[i] = float32(math.Tanh(float64(x.Data[i])))
		}
	})
	t.record(y, func() {
		if gx := t.grad(x); y.Grad != nil && gx != nil {
			t.elems(len(gx), func(s, e int) {
				for i := s; i < e; i++ {
					gx[i] += float32(y.Grad[i] * (1 - float32(y.Data[i]*y.Data[i])))
				}
			})
		}
	})
	return y
}
