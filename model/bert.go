// Reference: llama.cpp src/llama-arch.cpp (LLM_ARCH_BERT's tensor names), src/llama-model.cpp
// (llama_model::load_tensors for LLM_ARCH_BERT) and convert_hf_to_gguf.py (BertModel's metadata).

package model

import (
	"errors"
	"fmt"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// The BERT family is an encoder: every token sees the whole text
// (bidirectional attention), LayerNorm comes after each residual add
// (post-norm), and there is no output head — the model's product is its
// final hidden states, pooled into one vector per text. It shares Config
// (the "bert" entry of archDefaults: LayerNorm, GELU, learned positions) and
// the pooling types with the decoder, but none of the decoder's KV cache or
// sampling, so it is a type of its own: Encoder, run by EncoderState
// (bert_forward.go).

// IsEncoder reports whether c is an encoder-only architecture (bert), which
// embeds text and cannot generate: Model refuses it, Encoder runs it.
func (c Config) IsEncoder() bool { return c.Arch == "bert" || c.Arch == "nomic-bert" }

// Encoder is a configured, read-only BERT model. It is safe to share
// between goroutines; each runs its own EncoderState.
type Encoder struct {
	Config
	Pooling Pooling // "bert.pooling_type"; PoolMean when the file has none

	TokEmbd   *tensor.Tensor // [C, V] "token_embd.weight"; rows dequantized on lookup
	TypeEmbd  []float32      // [C] row 0 of "token_types.weight" [C, n_types] (optional): every token is of type 0, as in llama.cpp
	PosEmbd   *tensor.Tensor // [C, T_train] "position_embd.weight" (bert; nomic-bert rotates q and k instead)
	EmbdNorm  []float32      // [C] "token_embd_norm.weight"
	EmbdNormB []float32      // [C] "token_embd_norm.bias"
	Blocks    []EncoderLayer // [L] one per "blk.%d.*"

	file *gguf.File // owner of the mapped weights when opened from a path
}

// EncoderLayer is one post-norm BERT block:
// x = LN₁(x + Wo·attn(Wq·x+bq, Wk·x+bk, Wv·x+bv) + bo); x = LN₂(x + Down·gelu(Up·x+bu) + bd).
type EncoderLayer struct {
	Wq, Wk, Wv *tensor.Tensor // [C, H·D] "blk.%d.attn_{q,k,v}.weight" (bert)
	Bq, Bk, Bv []float32      // [H·D] "blk.%d.attn_{q,k,v}.bias" (bert)
	Wqkv       *tensor.Tensor // [C, 3·H·D] "blk.%d.attn_qkv.weight" (nomic-bert): q, then k, then v
	Bqkv       []float32      // [3·H·D] "blk.%d.attn_qkv.bias" (optional)
	Gate       *tensor.Tensor // [C, F] "blk.%d.ffn_gate.weight" (nomic-bert: down(silu(gate·x) ⊙ up·x))
	Wo         *tensor.Tensor // [H·D, C] "blk.%d.attn_output.weight"
	Bo         []float32      // [C] "blk.%d.attn_output.bias"
	AttnNorm   []float32      // [C] "blk.%d.attn_output_norm.weight" (after the attention's residual add)
	AttnNormB  []float32      // [C] "blk.%d.attn_output_norm.bias"
	Up         *tensor.Tensor // [C, F] "blk.%d.ffn_up.weight"
	UpB        []float32      // [F] "blk.%d.ffn_up.bias"
	Down       *tensor.Tensor // [F, C] "blk.%d.ffn_down.weight"
	DownB      []float32      // [C] "blk.%d.ffn_down.bias"
	OutNorm    []float32      // [C] "blk.%d.layer_output_norm.weight" (after the feed-forward's residual add)
	OutNormB   []float32      // [C] "blk.%d.layer_output_norm.bias"
}

// NewEncoder binds the weights of a bert or nomic-bert config from src.
// Every tensor llama.cpp requires is required here too (all of bert's
// biases included; nomic-bert's are optional); the token type embedding is
// optional, as in llama.cpp.
func NewEncoder(c Config, src Source) (*Encoder, error) {
	if !c.IsEncoder() {
		return nil, fmt.Errorf("model: %s is not an encoder architecture (use model.New)", c.Arch)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	b := &binder{src: src}
	C, V, F, qd := c.Embd, c.Vocab, c.FF, c.QDim()
	e := &Encoder{Config: c, Pooling: PoolMean}
	e.TokEmbd = b.mat("token_embd.weight", C, V, true)
	if c.LearnedPos {
		e.PosEmbd = b.mat("position_embd.weight", C, c.CtxTrain, true)
	}
	bias := c.Arch == "bert" // bert's biases are required; nomic-bert has none
	if t, ok, err := src("token_types.weight"); err != nil {
		b.errs = append(b.errs, err)
	} else if ok {
		if len(t.Shape) != 2 || t.Shape[0] != C || t.Shape[1] < 1 {
			b.errs = append(b.errs, fmt.Errorf("tensor %q has shape %v, want [%d n_types]", t.Name, t.Shape, C))
		} else {
			e.TypeEmbd = make([]float32, C)
			if err := t.DequantizeRow(0, e.TypeEmbd); err != nil {
				b.errs = append(b.errs, fmt.Errorf("tensor %q: %w", t.Name, err))
			}
		}
	}
	e.EmbdNorm = b.vec("token_embd_norm.weight", C, true)
	e.EmbdNormB = b.vec("token_embd_norm.bias", C, true)
	e.Blocks = make([]EncoderLayer, c.Layers)
	for i := range e.Blocks {
		l := &e.Blocks[i]
		n := func(s string) string { return fmt.Sprintf("blk.%d.%s", i, s) }
		if c.FusedQKV {
			l.Wqkv = b.mat(n("attn_qkv.weight"), C, 3*qd, true)
			l.Bqkv = b.vec(n("attn_qkv.bias"), 3*qd, false)
		} else {
			l.Wq = b.mat(n("attn_q.weight"), C, qd, true)
			l.Wk = b.mat(n("attn_k.weight"), C, qd, true)
			l.Wv = b.mat(n("attn_v.weight"), C, qd, true)
			l.Bq = b.vec(n("attn_q.bias"), qd, bias)
			l.Bk = b.vec(n("attn_k.bias"), qd, bias)
			l.Bv = b.vec(n("attn_v.bias"), qd, bias)
		}
		l.Wo = b.mat(n("attn_output.weight"), qd, C, true)
		l.Bo = b.vec(n("attn_output.bias"), C, bias)
		l.AttnNorm = b.vec(n("attn_output_norm.weight"), C, true)
		l.AttnNormB = b.vec(n("attn_output_norm.bias"), C, true)
		if c.FFN == FFNSwiGLU {
			l.Gate = b.mat(n("ffn_gate.weight"), C, F, true)
		}
		l.Up = b.mat(n("ffn_up.weight"), C, F, true)
		l.UpB = b.vec(n("ffn_up.bias"), F, bias)
		l.Down = b.mat(n("ffn_down.weight"), F, C, true)
		l.DownB = b.vec(n("ffn_down.bias"), C, bias)
		l.OutNorm = b.vec(n("layer_output_norm.weight"), C, true)
		l.OutNormB = b.vec(n("layer_output_norm.bias"), C, true)
	}
	if len(b.errs) > 0 {
		return nil, fmt.Errorf("model: binding %s weights: %w", c.Arch, errors.Join(b.errs...))
	}
	for i := range e.Blocks {
		l := &e.Blocks[i]
		for _, t := range []*tensor.Tensor{l.Wq, l.Wk, l.Wv, l.Wqkv, l.Wo, l.Gate, l.Up, l.Down} {
			if t == nil {
				continue
			}
			if _, err := t.Pack(); err != nil { // Q4_0 is repacked for MatMul, as for decoders
				return nil, err
			}
		}
	}
	return e, nil
}

// encoderConfigFromGGUF is ConfigFromGGUF plus the encoder's own checks:
// the attention must be bidirectional and the heads must tile the width.
func encoderConfigFromGGUF(f *gguf.File) (Config, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return Config{}, err
	}
	if !c.IsEncoder() {
		return Config{}, fmt.Errorf("model: architecture %q is a decoder, not an encoder (embed it with model.Open and State.Embed)", c.Arch)
	}
	if causal, ok := f.Bool(c.Arch + ".attention.causal"); ok && causal {
		return Config{}, fmt.Errorf("model: %s.attention.causal = true is not supported: a bert encoder attends both ways", c.Arch)
	}
	if c.KVHeads != c.Heads || c.QDim() != c.Embd {
		return Config{}, fmt.Errorf("model: %s needs heads × head width = embedding and no grouped KV heads (%d heads, %d KV heads, width %d, embedding %d)", c.Arch, c.Heads, c.KVHeads, c.HeadDim, c.Embd)
	}
	return c, nil
}

// EncoderFromGGUF builds the encoder over the tensors of f, which must
// stay open while it is used; the pooling comes from "bert.pooling_type".
func EncoderFromGGUF(f *gguf.File) (*Encoder, error) {
	c, err := encoderConfigFromGGUF(f)
	if err != nil {
		return nil, err
	}
	e, err := NewEncoder(c, GGUFSource(f))
	if err != nil {
		return nil, err
	}
	if p, ok, err := PoolingFromGGUF(f); err != nil {
		return nil, err
	} else if ok {
		e.Pooling = p
	}
	return e, nil
}

// OpenEncoder maps the GGUF file at path and builds its encoder; Close
// unmaps it.
func OpenEncoder(path string) (*Encoder, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	e, err := EncoderFromGGUF(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	e.file = f
	return e, nil
}

// OpenEncoderFile builds the encoder of f and takes f over (Close closes it).
func OpenEncoderFile(f *gguf.File) (*Encoder, error) {
	e, err := EncoderFromGGUF(f)
	if err != nil {
		return nil, err
	}
	e.file = f
	return e, nil
}

// IsEncoderFile reports whether f's architecture is an encoder (bert), so
// that a caller can choose OpenEncoderFile over OpenFile before either fails.
func IsEncoderFile(f *gguf.File) bool { return Config{Arch: f.Arch()}.IsEncoder() }

// File returns the GGUF file the encoder was opened from (nil for NewEncoder).
func (e *Encoder) File() *gguf.File { return e.file }

// Close releases the file opened by OpenEncoder. The encoder must not be used after.
func (e *Encoder) Close() error {
	if e.file == nil {
		return nil
	}
	err := e.file.Close()
	e.file = nil
	return err
}

// WeightBytes is the size of all weight matrices as stored.
func (e *Encoder) WeightBytes() int64 {
	n := int64(len(e.TokEmbd.Data))
	if e.PosEmbd != nil {
		n += int64(len(e.PosEmbd.Data))
	}
	for i := range e.Blocks {
		l := &e.Blocks[i]
		for _, t := range []*tensor.Tensor{l.Wq, l.Wk, l.Wv, l.Wqkv, l.Wo, l.Gate, l.Up, l.Down} {
			if t != nil {
				n += int64(len(t.Data))
			}
		}
	}
	return n
}

// bertTensorSpecs lists a bert (or nomic-bert) model's tensors in
// llama.cpp's load order, with the converter's types: the token embedding
// and the blocks' matrices take the file type, the position and token type
// embeddings, norms and biases stay F32. nomic-bert has a fused QKV, a
// gate, no position embedding and no biases but the norms'.
func (c Config) bertTensorSpecs() []TensorSpec {
	C, V, F, qd := int64(c.Embd), int64(c.Vocab), int64(c.FF), int64(c.QDim())
	bias := c.Arch == "bert"
	specs := []TensorSpec{
		{Name: "token_embd.weight", Shape: []int64{C, V}},
		{Name: "token_types.weight", Shape: []int64{C, 2}, KeepF32: true},
	}
	if c.LearnedPos {
		specs = append(specs, TensorSpec{Name: "position_embd.weight", Shape: []int64{C, int64(c.CtxTrain)}, KeepF32: true})
	}
	specs = append(specs,
		TensorSpec{Name: "token_embd_norm.weight", Shape: []int64{C}, Init: InitOnes, KeepF32: true},
		TensorSpec{Name: "token_embd_norm.bias", Shape: []int64{C}, Init: InitZeros, KeepF32: true})
	for i := range c.Layers {
		add := func(name string, init InitKind, shape ...int64) {
			specs = append(specs, TensorSpec{Name: fmt.Sprintf("blk.%d.%s", i, name), Shape: shape, Init: init, KeepF32: len(shape) == 1})
		}
		addBias := func(name string, n int64) {
			if bias {
				add(name, InitZeros, n)
			}
		}
		if c.FusedQKV {
			add("attn_qkv.weight", InitNormal, C, 3*qd)
		} else {
			add("attn_q.weight", InitNormal, C, qd)
			addBias("attn_q.bias", qd)
			add("attn_k.weight", InitNormal, C, qd)
			addBias("attn_k.bias", qd)
			add("attn_v.weight", InitNormal, C, qd)
			addBias("attn_v.bias", qd)
		}
		add("attn_output.weight", InitResidual, qd, C)
		addBias("attn_output.bias", C)
		add("attn_output_norm.weight", InitOnes, C)
		add("attn_output_norm.bias", InitZeros, C)
		add("ffn_up.weight", InitNormal, C, F)
		addBias("ffn_up.bias", F)
		if c.FFN == FFNSwiGLU {
			add("ffn_gate.weight", InitNormal, C, F)
		}
		add("ffn_down.weight", InitResidual, F, C)
		addBias("ffn_down.bias", C)
		add("layer_output_norm.weight", InitOnes, C)
		add("layer_output_norm.bias", InitZeros, C)
	}
	return specs
}
