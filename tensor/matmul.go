// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_compute_forward_mul_mat: activations converted once to vec_dot_type).

package tensor

import "fmt"

// MatMul computes out[b*R + r] = dot(row r of w, x[b*C : (b+1)*C]) for the
// nb activation rows in x, where w has C = w.Cols() columns and R = w.Rows()
// rows. The activations are converted once to the weight type's VecDotType
// (e.g. Q8_0 for Q4_0 weights) and reused for every weight row; each weight
// row is read once per call and multiplied by all nb activation rows while it
// is in cache.
func (p *Pool) MatMul(w *Tensor, x []float32, nb int, out []float32) error {
	f := FormatOf(w.DType)
	if f.VecDot == nil {
		return fmt.Errorf("tensor: matmul: no dot product for %v weights (%s)", w.DType, w.Name)
	}
	C, R := w.Cols(), w.Rows()
	if len(x) < nb*C || len(out) < nb*R {
		return fmt.Errorf("tensor: matmul %s: x has %d values for %d×%d, out %d for %d×%d", w.Name, len(x), nb, C, len(out), nb, R)
	}
	xb, err := p.activations(f.VecDotType, x[:nb*C], nb, C)
	if err != nil {
		return fmt.Errorf("tensor: matmul %s: %w", w.Name, err)
	}
	xRow := len(xb) / max(nb, 1)
	rb := w.RowBytes()
	dot := f.VecDot
	p.For(R, 16, func(start, end int) {
		for r := start; r < end; r++ {
			wr := w.Data[r*rb : (r+1)*rb]
			for b := 0; b < nb; b++ {
				out[b*R+r] = dot(C, wr, xb[b*xRow:(b+1)*xRow])
			}
		}
	})
	return nil
}

// activations returns x (nb rows of n values) in type t, reusing the pool's
// scratch buffer; F32 needs no conversion.
func (p *Pool) activations(t DType, x []float32, nb, n int) ([]byte, error) {
	if t == F32 {
		return F32Bytes(x), nil
	}
	rowSize, err := t.RowSize(int64(n))
	if err != nil {
		return nil, err
	}
	need := int(rowSize) * nb
	if cap(p.scratch) < need {
		p.scratch = make([]byte, need)
	}
	buf := p.scratch[:need]
	quant := FormatOf(t).Quantize
	if quant == nil {
		return nil, fmt.Errorf("cannot convert activations to %v", t)
	}
	p.For(nb, 1, func(start, end int) {
		for b := start; b < end; b++ {
			quant(x[b*n:(b+1)*n], buf[b*int(rowSize):(b+1)*int(rowSize)])
		}
	})
	return buf, nil
}
