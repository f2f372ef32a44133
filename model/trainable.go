// Reference: model/forward.go (State.layers, the inference forward) restated with train/autograd ops, as
// docs/training.md "One Transformer with gradients switched on" plans; llama.cpp's tensor names and shapes
// (TensorSpecs in random.go) for export.

package model

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// Trainable is a model with float32 master weights and gradients: the same
// Transformer as State's forward, built from tape ops. Its parameters are
// named and shaped as the GGUF tensors they are exported to; a Linear
// weight's [R, C] Var layout is the GGUF F32 layout with ne = [C, R], so
// export is a copy (or a rounding to F16) with no transpose.
type Trainable struct {
	Config
	Tied bool // no output.weight: the head is token_embd

	params []*autograd.Var // in TensorSpecs order, the checkpoint's and the file's order
	tok    *autograd.Var   // [V, C] "token_embd.weight"
	pos    *autograd.Var   // [T_train, C] "position_embd.weight" (LearnedPos)
	outN   *autograd.Var   // [C] "output_norm.weight"
	outNB  *autograd.Var   // [C] "output_norm.bias" (LayerNorm)
	output *autograd.Var   // [V, C] "output.weight"; tok when Tied
	blocks []trainLayer    // [L]

	lora *loraState // adapters over a frozen base (lora.go); nil when every weight trains
}

// trainLayer holds one block's parameters; nil marks one the architecture lacks.
type trainLayer struct {
	attnN, attnNB    *autograd.Var // [C]
	wq, wk, wv, wqkv *autograd.Var // [H·D, C], [K·D, C], [K·D, C], [H·D+2·K·D, C]
	bq, bk, bv, bqkv *autograd.Var // biases of the above (Qwen2 q/k/v, GPT-2 qkv)
	wo, bo           *autograd.Var // [C, H·D], [C]
	ffnN, ffnNB      *autograd.Var // [C]
	gate, up, upB    *autograd.Var // [F, C], [F, C], [F]
	down, downB      *autograd.Var // [C, F], [C]
}

// NewTrainable builds a trainable model of c whose weights come from src:
// every tensor c.TensorSpecs(tied) lists must be there, with that shape.
// F32 tensors are copied (the model owns writable weights; a mapped file is
// read-only); other types are dequantized.
func NewTrainable(c Config, tied bool, src Source) (*Trainable, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if c.IsEncoder() { // bert's blocks are not the decoder's (bert.go)
		return nil, fmt.Errorf("model: %s is an encoder: it cannot be trained as a decoder (language modelling, SFT, LoRA)", c.Arch)
	}
	if tied && c.Arch == "gpt2" {
		return nil, fmt.Errorf("model: gpt2 has its own output.weight; it cannot be tied")
	}
	m := &Trainable{Config: c, Tied: tied}
	byName := map[string]*autograd.Var{}
	var errs []string
	for _, s := range c.TensorSpecs(tied) {
		t, ok, err := src(s.Name)
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", s.Name, err))
			continue
		}
		if !ok {
			errs = append(errs, s.Name+": missing")
			continue
		}
		if len(t.Shape) != len(s.Shape) || !sameDims(t.Shape, s.Shape) {
			errs = append(errs, fmt.Sprintf("%s: shape %v, want %v", s.Name, t.Shape, s.Shape))
			continue
		}
		x, err := t.Float32s()
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		shape := []int{int(s.Shape[0])}
		if len(s.Shape) == 2 {
			shape = []int{int(s.Shape[1]), int(s.Shape[0])}
		}
		v, err := autograd.NewParam(s.Name, x, shape...)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		m.params = append(m.params, v)
		byName[s.Name] = v
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("model: trainable %s weights: %s", c.Arch, strings.Join(errs, "; "))
	}
	m.bind(byName)
	return m, nil
}

// bind points the model's fields at its tensors by GGUF name.
func (m *Trainable) bind(byName map[string]*autograd.Var) {
	c := m.Config
	m.tok, m.pos = byName["token_embd.weight"], byName["position_embd.weight"]
	m.outN, m.outNB = byName["output_norm.weight"], byName["output_norm.bias"]
	m.output = byName["output.weight"]
	if m.output == nil {
		m.output = m.tok
	}
	m.blocks = make([]trainLayer, c.Layers)
	for i := range m.blocks {
		n := func(s string) *autograd.Var { return byName[fmt.Sprintf("blk.%d.%s", i, s)] }
		m.blocks[i] = trainLayer{
			attnN: n("attn_norm.weight"), attnNB: n("attn_norm.bias"),
			wq: n("attn_q.weight"), wk: n("attn_k.weight"), wv: n("attn_v.weight"), wqkv: n("attn_qkv.weight"),
			bq: n("attn_q.bias"), bk: n("attn_k.bias"), bv: n("attn_v.bias"), bqkv: n("attn_qkv.bias"),
			wo: n("attn_output.weight"), bo: n("attn_output.bias"),
			ffnN: n("ffn_norm.weight"), ffnNB: n("ffn_norm.bias"),
			gate: n("ffn_gate.weight"), up: n("ffn_up.weight"), upB: n("ffn_up.bias"),
			down: n("ffn_down.weight"), downB: n("ffn_down.bias"),
		}
	}
}

func sameDims(a []int, b []int64) bool {
	for i := range a {
		if int64(a[i]) != b[i] {
			return false
		}
	}
	return true
}

// NewRandomTrainable draws a new model with RandomSource's values, which
// are those `gptgo init` writes for the same options (before rounding).
func NewRandomTrainable(c Config, o InitOptions) (*Trainable, error) {
	src, err := RandomSource(c, o)
	if err != nil {
		return nil, err
	}
	return NewTrainable(c, o.Tied, src)
}

// TrainableFromGGUF starts training from the weights of f, dequantized to
// float32. The head is tied when the file has no output.weight. Tensors
// training does not know (llama-3's rope_freqs, biases llama.cpp treats as
// optional) are refused rather than silently dropped from the export.
func TrainableFromGGUF(f *gguf.File) (*Trainable, error) {
	c, tied, err := trainableConfig(f)
	if err != nil {
		return nil, err
	}
	return NewTrainable(c, tied, GGUFSource(f))
}

// trainableConfig reads the configuration of f for training, full or LoRA:
// the head is tied when the file has no output.weight, and a tensor the
// model does not know is an error (it would be dropped from the export).
func trainableConfig(f *gguf.File) (c Config, tied bool, err error) {
	if c, err = ConfigFromGGUF(f); err != nil {
		return Config{}, false, err
	}
	_, hasOut := f.Tensor("output.weight")
	tied = !hasOut
	known := map[string]bool{}
	for _, s := range c.TensorSpecs(tied) {
		known[s.Name] = true
	}
	var extra []string
	for _, ti := range f.Tensors {
		if !known[ti.Name] {
			extra = append(extra, ti.Name)
		}
	}
	if len(extra) > 0 {
		return Config{}, false, fmt.Errorf("model: training does not support tensors %s of this %s file", strings.Join(extra, ", "), c.Arch)
	}
	return c, tied, nil
}

// Params returns the parameters in the order of the exported file (a tied
// head is token_embd, listed once).
func (m *Trainable) Params() []*autograd.Var { return m.params }

// Logits records the forward of B = len(tokens)/T sequences of T tokens
// on tp and returns the logits [B·T, V]. It follows State.layers step for
// step; the one arithmetic difference is GELU, whose float32 form is
// differentiated here while inference rounds it through half precision as
// llama.cpp does (docs/training.md).
func (m *Trainable) Logits(tp *autograd.Tape, tokens []int32, T int) *autograd.Var {
	return m.LogitsSegments(tp, tokens, T, nil)
}

// LogitsSegments is Logits over packed sequences (SFT packing): seg
// [B·T] names the example of each row, and attention stays inside each
// run of equal ids (autograd.AttentionSegments). Positions run on through
// the row: RoPE's scores depend only on the distance between tokens, so
// an example scores as it would alone, to rounding (train/sft_test.go
// tests it); learned positions (GPT-2) would not, and SFT does not pack
// such models. nil seg is Logits.
func (m *Trainable) LogitsSegments(tp *autograd.Tape, tokens []int32, T int, seg []int32) *autograd.Var {
	return m.linear(tp, m.HiddenSegments(tp, tokens, T, seg), m.output, nil)
}

// HiddenSegments is LogitsSegments without the LM head: the final normed
// hidden states [B·T, C], on which a value head scores (valuehead.go).
func (m *Trainable) HiddenSegments(tp *autograd.Tape, tokens []int32, T int, seg []int32) *autograd.Var {
	c := m.Config
	norm := func(x, w, b *autograd.Var) *autograd.Var {
		if c.Norm == LayerNorm {
			return tp.LayerNorm(x, w, b, c.NormEps)
		}
		return tp.RMSNorm(x, w, c.NormEps)
	}
	rope := autograd.Rope{D: c.HeadDim, Dims: c.RopeDims, Base: c.RopeBase, FreqScale: c.RopeScale, NEOX: c.Rope == RopeNeox}
	x := m.embed(tp, tokens) // tp.Embedding, or a frozen table with LoRA (lora.go)
	if c.LearnedPos {
		x = tp.AddPositions(x, m.pos, T)
	}
	// One Tape.Blocks block per layer: with the tape's Memory.Checkpoint
	// set, only each layer's input is kept and the layer reruns in the
	// backward; otherwise it is the plain loop.
	x = tp.Blocks(x, len(m.blocks), func(i int, x *autograd.Var) *autograd.Var {
		l := &m.blocks[i]
		h := norm(x, l.attnN, l.attnNB)
		var q, k, v *autograd.Var
		if c.FusedQKV {
			p := tp.Split(m.linear(tp, h, l.wqkv, l.bqkv), c.QDim(), c.KVDim(), c.KVDim())
			if len(p) == 3 { // fewer only after a tape error, which the next op passes on
				q, k, v = p[0], p[1], p[2]
			}
		} else {
			// m.linear is tp.Linear, plus the adapter path with LoRA (lora.go).
			q, k, v = m.linear(tp, h, l.wq, l.bq), m.linear(tp, h, l.wk, l.bk), m.linear(tp, h, l.wv, l.bv)
		}
		k, v = m.prefixKV(tp, i, k, v, tokens) // prefix tuning's keys and values at the virtual positions (prefix_tuning.go)
		if c.Rope != RopeNone {
			q, k = tp.RoPE(q, T, rope), tp.RoPE(k, T, rope)
		}
		a := tp.AttentionSegments(q, k, v, seg, T, c.Heads, c.KVHeads, c.HeadDim) // seg nil: tp.Attention
		x = tp.Add(x, m.linear(tp, a, l.wo, l.bo))
		h = norm(x, l.ffnN, l.ffnNB)
		f := m.linear(tp, h, l.up, l.upB)
		if c.FFN == FFNSwiGLU {
			f = tp.SwiGLU(m.linear(tp, h, l.gate, nil), f)
		} else {
			f = tp.GELU(f)
		}
		return tp.Add(x, m.linear(tp, f, l.down, l.downB))
	})
	return norm(x, m.outN, m.outNB)
}

// Loss records the mean next-token cross-entropy of the logits against
// targets (-1 ignores a position). It satisfies train.Model.
func (m *Trainable) Loss(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	// A bad T or target count is the tape's sticky error (Attention and
	// CrossEntropy check the shapes), which Backward and Err return.
	return tp.CrossEntropy(m.Logits(tp, tokens, T), targets, -1)
}

// WriteGGUF writes the weights to path (atomically) as a llama.cpp model
// file: the header RandomGGUF writes for the same shape (keys, names,
// shapes, order), with tok as the tokenizer.* metadata and the matrices
// in dt (F32, F16 or BF16; vectors stay F32, as llama.cpp's converter
// keeps them).
func (m *Trainable) WriteGGUF(path string, tok []gguf.KV, dt tensor.DType, name string) error {
	return m.writeGGUF(path, tok, dt, name, nil)
}

// writeGGUF is WriteGGUF with extra F32 tensors after the model's (a
// value head, valuehead.go).
func (m *Trainable) writeGGUF(path string, tok []gguf.KV, dt tensor.DType, name string, extra []*autograd.Var) error {
	if m.lora != nil {
		return fmt.Errorf("model: %s: this model trains LoRA adapters over a frozen base; write them with WriteAdapter", path)
	}
	h, _, err := RandomGGUF(m.Config, InitOptions{Type: dt, Tied: m.Tied, Tokenizer: tok, Name: name})
	if err != nil {
		return err
	}
	if len(h.Tensors) != len(m.params) {
		return fmt.Errorf("model: %d tensors in the header, %d parameters", len(h.Tensors), len(m.params))
	}
	params := append(slices.Clip(m.params), extra...)
	for _, p := range extra {
		shape := []int64{int64(p.Cols())}
		if len(p.Shape) == 2 {
			shape = append(shape, int64(p.Rows()))
		}
		h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: p.Name, Shape: shape, DType: tensor.F32})
	}
	if err := h.Layout(); err != nil {
		return err
	}
	src := func(i int, w io.Writer) error {
		p, ti := params[i], h.Tensors[i]
		if p.Name != ti.Name {
			return fmt.Errorf("model: tensor %d is %q in the header, %q in the model", i, ti.Name, p.Name)
		}
		size, err := ti.DType.RowSize(int64(len(p.Data)))
		if err != nil {
			return err
		}
		buf := make([]byte, size)
		if err := tensor.Quantize(ti.DType, p.Data, buf); err != nil {
			return fmt.Errorf("model: tensor %q: %w", p.Name, err)
		}
		_, err = w.Write(buf)
		return err
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
