// Reference: ggml/src/ggml-cpu/ggml-cpu.c (ggml_compute_forward_mul_mat: src1 converted to the weights'
// vec_dot_type, F16 or BF16 for half-precision weights, once per matmul; ggml_vec_dot_bf16) and vec.cpp
// (ggml_vec_dot_f16).

package tensor

import "github.com/gptgo/gptgo/kernel"

// matmulHalfX multiplies F16 or BF16 weights by one activation row as
// llama.cpp does: the row is converted to the weight type once (round to
// nearest even, as gemmHalf rounds a batch's rows), then every weight row
// is dotted with it by kernel.DotF16HalfXRows or DotBF16HalfXRows, in
// ggml_vec_dot_f16's or ggml_vec_dot_bf16's order. For the model's
// activations, already rounded to the weight type (model.State.matmulBase),
// the results are DotF16GGMLRows's and DotBF16GGMLRows's bit for bit; the
// gain is in the cache: the x row that every weight row re-reads is half
// as large: 13% on the 1.1B F16 decode, 4% on BF16 (docs/performance.md,
// "Every type, both shapes, on a quiet host").
func (p *Pool) matmulHalfX(w *Tensor, x, out []float32) {
	C, R := w.Cols(), w.Rows()
	need := 2 * C
	if cap(p.scratch) < need {
		p.scratch = make([]byte, need)
	}
	xh := p.scratch[:need]
	rows := kernel.DotF16HalfXRows
	if w.DType == BF16 {
		kernel.FP32ToBF16Bytes(xh, x[:C])
		rows = kernel.DotBF16HalfXRows
	} else {
		kernel.FP32ToFP16Bytes(xh, x[:C])
	}
	m := &p.mm
	*m = matmulTask{rows: rows, w: w.Data, rb: w.RowBytes(), x: xh, xRow: need, C: C, R: R, nb: 1, out: out}
	p.forTask(R, max(matmulRows, (R+decodeSplit*p.n-1)/(decodeSplit*p.n)), m)
	*m = matmulTask{} // drop references to the caller's data
}

// halfXDecode reports whether one activation row by weights of type t goes
// through matmulHalfX: where its assembly runs (elsewhere the float32
// activations' dot is the faster form, with the same bits).
func halfXDecode(t DType) bool {
	return t == F16 && kernel.F16HalfXFast() || t == BF16 && kernel.BF16HalfXFast()
}
