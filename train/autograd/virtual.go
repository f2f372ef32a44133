// Reference: Lester, Al-Rfou and Constant 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning"
// (arXiv:2104.08691) §2: a trainable prompt P_e [p, e] concatenated in front of the embedded input X_e,
// the model's own weights frozen; Hugging Face PEFT PromptEmbedding (its virtual tokens' rows of one table).

package autograd

import "github.com/gptgo/gptgo/kernel"

// VirtualRows returns x [N, C] with every row n whose token is negative
// replaced by row -tokens[n]-1 of table [P, C]: prompt tuning's virtual
// tokens, which a packed batch carries as ids -1 … -P in front of each
// example, so that the concatenation of the paper is a row replacement in
// place and the batch keeps its shape. Rows of real tokens (≥ 0) pass
// through. x's rows at virtual positions are ignored (the caller looks a
// placeholder token up there).
//
// Gradients, with g = dL/dy: dL/dx[n] = g[n] for real rows and 0 for
// virtual ones; dL/dtable[k] = Σ g[n] over the rows n with token -k-1.
func (t *Tape) VirtualRows(x, table *Var, tokens []int32) *Var {
	if t.err != nil {
		return t.dead
	}
	N, C := x.Rows(), x.Cols()
	P := table.Rows()
	if table.Cols() != C || len(tokens) != N {
		return t.fail("virtual rows %q %v into %q %v with %d tokens: shapes do not fit", table.Name, table.Shape, x.Name, x.Shape, len(tokens))
	}
	for i, tok := range tokens {
		if tok < 0 && int(-tok) > P {
			return t.fail("virtual rows %q: virtual token %d at index %d is beyond the %d virtual tokens", table.Name, tok, i, P)
		}
	}
	y := t.out("virtual_rows", x.Shape, x, table)
	for n, tok := range tokens {
		src := x.Data[n*C : (n+1)*C]
		if tok < 0 {
			k := int(-tok) - 1
			src = table.Data[k*C : (k+1)*C]
		}
		copy(y.Data[n*C:(n+1)*C], src)
	}
	t.record(y, func() {
		if y.Grad == nil {
			return
		}
		gx, gt := t.grad(x), t.grad(table)
		for n, tok := range tokens {
			g := y.Grad[n*C : (n+1)*C]
			switch {
			case tok < 0 && gt != nil:
				k := int(-tok) - 1
				kernel.AddTo(gt[k*C:(k+1)*C], g)
			case tok >= 0 && gx != nil:
				kernel.AddTo(gx[n*C:(n+1)*C], g)
			}
		}
	})
	return y
}
