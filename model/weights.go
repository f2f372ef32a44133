// Reference: llama.cpp src/llama-model.cpp (llama_model::load_tensors: tensor names and which are optional)
// and src/llama-arch.cpp (LLM_TENSOR_NAMES).

package model

import (
	"errors"
	"fmt"

	"github.com/gptgo/gptgo/tensor"
)

// Weights are the read-only parameters of a model. Matrices stay in their
// file type and memory (usually a mapped GGUF file); the small vectors
// (norms, biases) are expanded to float32 once at load.
type Weights struct {
	TokEmbd   *tensor.Tensor // [C, V] "token_embd.weight"; rows dequantized on lookup
	PosEmbd   *tensor.Tensor // [C, T_train] "position_embd.weight" (LearnedPos only)
	OutNorm   []float32      // [C] "output_norm.weight"
	OutNormB  []float32      // [C] "output_norm.bias" (LayerNorm only, optional)
	Output    *tensor.Tensor // [C, V] "output.weight"; TokEmbd when absent (tied embeddings)
	RopeFreqs []float32      // [RopeDims/2] "rope_freqs.weight": llama-3 frequency divisors (optional)
	Blocks    []Layer        // [L] one per "blk.%d.*"
}

// Layer holds one Transformer block's weights. A nil tensor or slice marks a
// weight this architecture does not have.
type Layer struct {
	AttnNorm  []float32      // [C] "blk.%d.attn_norm.weight"
	AttnNormB []float32      // [C] "blk.%d.attn_norm.bias" (LayerNorm)
	Wq        *tensor.Tensor // [C, H·D] "blk.%d.attn_q.weight"
	Wk        *tensor.Tensor // [C, K·D] "blk.%d.attn_k.weight"
	Wv        *tensor.Tensor // [C, K·D] "blk.%d.attn_v.weight"
	Bq        []float32      // [H·D] "blk.%d.attn_q.bias" (optional; Qwen2 has it)
	Bk        []float32      // [K·D] "blk.%d.attn_k.bias" (optional)
	Bv        []float32      // [K·D] "blk.%d.attn_v.bias" (optional)
	Wqkv      *tensor.Tensor // [C, H·D+2·K·D] "blk.%d.attn_qkv.weight" (FusedQKV): q, then k, then v
	Bqkv      []float32      // [H·D+2·K·D] "blk.%d.attn_qkv.bias" (optional)
	Wo        *tensor.Tensor // [H·D, C] "blk.%d.attn_output.weight"
	Bo        []float32      // [C] "blk.%d.attn_output.bias" (optional)
	FFNNorm   []float32      // [C] "blk.%d.ffn_norm.weight"
	FFNNormB  []float32      // [C] "blk.%d.ffn_norm.bias" (LayerNorm)
	Gate      *tensor.Tensor // [C, F] "blk.%d.ffn_gate.weight" (SwiGLU)
	Up        *tensor.Tensor // [C, F] "blk.%d.ffn_up.weight"
	UpB       []float32      // [F] "blk.%d.ffn_up.bias" (optional)
	Down      *tensor.Tensor // [F, C] "blk.%d.ffn_down.weight"
	DownB     []float32      // [C] "blk.%d.ffn_down.bias" (optional)
}

// Source finds a tensor by its GGUF name; ok is false when it is absent.
type Source func(name string) (t *tensor.Tensor, ok bool, err error)

// binder collects every missing or malformed tensor so that one error can
// list them all.
type binder struct {
	src  Source
	errs []error
}

// mat binds a matrix of shape [cols, rows]; required ones that are absent
// are recorded as errors.
func (b *binder) mat(name string, cols, rows int, required bool) *tensor.Tensor {
	t, ok, err := b.src(name)
	if err != nil {
		b.errs = append(b.errs, err)
		return nil
	}
	if !ok {
		if required {
			b.errs = append(b.errs, fmt.Errorf("missing tensor %q", name))
		}
		return nil
	}
	if len(t.Shape) != 2 || t.Shape[0] != cols || t.Shape[1] != rows {
		b.errs = append(b.errs, fmt.Errorf("tensor %q has shape %v, want [%d %d]", name, t.Shape, cols, rows))
		return nil
	}
	if !t.DType.CanDequantize() || tensor.FormatOf(t.DType).VecDot == nil {
		b.errs = append(b.errs, fmt.Errorf("tensor %q: type %v is not supported", name, t.DType))
		return nil
	}
	return t
}

// vec binds a vector of n elements and expands it to float32.
func (b *binder) vec(name string, n int, required bool) []float32 {
	t, ok, err := b.src(name)
	if err != nil {
		b.errs = append(b.errs, err)
		return nil
	}
	if !ok {
		if required {
			b.errs = append(b.errs, fmt.Errorf("missing tensor %q", name))
		}
		return nil
	}
	if t.Elements() != n || t.Rows() != 1 {
		b.errs = append(b.errs, fmt.Errorf("tensor %q has shape %v, want [%d]", name, t.Shape, n))
		return nil
	}
	v, err := t.Float32s()
	if err != nil {
		b.errs = append(b.errs, err)
		return nil
	}
	return v
}

// bindWeights binds every weight c needs from src; all problems are
// reported together.
func bindWeights(c Config, src Source) (*Weights, error) {
	if c.IsEncoder() { // bert has no decoder weights: it embeds and cannot generate (bert.go)
		return nil, fmt.Errorf("model: %s is an encoder (embeddings only): it cannot generate text; open it with model.OpenEncoder or embed it with `gptgo embed`", c.Arch)
	}
	b := &binder{src: src}
	C, V, F := c.Embd, c.Vocab, c.FF
	w := &Weights{}
	w.TokEmbd = b.mat("token_embd.weight", C, V, true)
	if c.LearnedPos {
		w.PosEmbd = b.mat("position_embd.weight", C, c.CtxTrain, true)
	}
	w.OutNorm = b.vec("output_norm.weight", C, true)
	if c.Norm == LayerNorm {
		w.OutNormB = b.vec("output_norm.bias", C, false)
	}
	w.Output = b.mat("output.weight", C, V, false)
	if w.Output == nil {
		w.Output = w.TokEmbd
	}
	if c.Rope != RopeNone {
		w.RopeFreqs = b.vec("rope_freqs.weight", c.RopeDims/2, false)
	}
	qd, kvd := c.QDim(), c.KVDim()
	w.Blocks = make([]Layer, c.Layers)
	for i := range w.Blocks {
		l := &w.Blocks[i]
		n := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		l.AttnNorm = b.vec(n("attn_norm.weight"), C, true)
		l.FFNNorm = b.vec(n("ffn_norm.weight"), C, true)
		if c.Norm == LayerNorm {
			l.AttnNormB = b.vec(n("attn_norm.bias"), C, false)
			l.FFNNormB = b.vec(n("ffn_norm.bias"), C, false)
		}
		if c.FusedQKV {
			l.Wqkv = b.mat(n("attn_qkv.weight"), C, qd+2*kvd, true)
			l.Bqkv = b.vec(n("attn_qkv.bias"), qd+2*kvd, false)
		} else {
			l.Wq = b.mat(n("attn_q.weight"), C, qd, true)
			l.Wk = b.mat(n("attn_k.weight"), C, kvd, true)
			l.Wv = b.mat(n("attn_v.weight"), C, kvd, true)
			l.Bq = b.vec(n("attn_q.bias"), qd, false)
			l.Bk = b.vec(n("attn_k.bias"), kvd, false)
			l.Bv = b.vec(n("attn_v.bias"), kvd, false)
		}
		l.Wo = b.mat(n("attn_output.weight"), qd, C, true)
		l.Bo = b.vec(n("attn_output.bias"), C, false)
		if c.FFN == FFNSwiGLU {
			l.Gate = b.mat(n("ffn_gate.weight"), C, F, true)
		}
		l.Up = b.mat(n("ffn_up.weight"), C, F, true)
		l.UpB = b.vec(n("ffn_up.bias"), F, false)
		l.Down = b.mat(n("ffn_down.weight"), F, C, true)
		l.DownB = b.vec(n("ffn_down.bias"), C, false)
	}
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("model: binding %s weights: %w", c.Arch, errors.Join(b.errs...))
	}
	return w, nil
}
