// Reference: Ouyang et al. 2022 (InstructGPT) §3.5: the reward model is the SFT model with the unembedding
// layer replaced by a projection to a scalar; DeepSpeed-Chat's RewardModel (v_head = Linear(C, 1), the score at
// the end of the answer); llama.cpp's LLM_TENSOR_CLS_OUT ("cls.output.weight", the rerankers' classification
// head) for the tensor names.

package model

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// The value head's tensors in a GGUF file, after the model's: a reward
// model is a language model file plus these two (llama.cpp names a
// reranker's scoring head the same way; it does not load them for a
// decoder, so a reward model is read by gptgo alone).
const (
	ValueHeadWeight = "cls.output.weight" // ne = [C, 1]: one row of n_embd
	ValueHeadBias   = "cls.output.bias"   // [1]
)

// ValueHead maps a final hidden state [C] to a scalar: a reward model's
// score, PPO's value.
type ValueHead struct {
	W *autograd.Var // [1, C] ValueHeadWeight
	B *autograd.Var // [1] ValueHeadBias
}

// NewValueHead draws W from N(0, 1/(C+1)) (the scale DeepSpeed-Chat's
// RewardModel gets from its Linear's default, near enough) with B = 0.
func NewValueHead(C int, seed uint64) (*ValueHead, error) {
	rng := rand.New(rand.NewPCG(seed, 0x7a1e_4ead))
	w := make([]float32, C)
	std := 1 / math.Sqrt(float64(C+1))
	for i := range w {
		w[i] = float32(rng.NormFloat64() * std)
	}
	return headFrom(w, []float32{0})
}

func headFrom(w, b []float32) (*ValueHead, error) {
	wv, err := autograd.NewParam(ValueHeadWeight, w, 1, len(w))
	if err != nil {
		return nil, err
	}
	bv, err := autograd.NewParam(ValueHeadBias, b, 1)
	if err != nil {
		return nil, err
	}
	wv.NoDecay = true // a single row: decaying it would only shrink the scores' scale
	return &ValueHead{W: wv, B: bv}, nil
}

// Params are the head's parameters, W then B (the file's order).
func (h *ValueHead) Params() []*autograd.Var { return []*autograd.Var{h.W, h.B} }

// Values records the head over hidden states [N, C]: [N, 1].
func (h *ValueHead) Values(tp *autograd.Tape, hidden *autograd.Var) *autograd.Var {
	return tp.Linear(hidden, h.W, h.B)
}

// Clone returns a head with copies of h's values (PPO's critic starts as
// the reward model's head and then trains apart from it).
func (h *ValueHead) Clone() (*ValueHead, error) {
	return headFrom(append([]float32(nil), h.W.Data...), append([]float32(nil), h.B.Data...))
}

// WriteRewardGGUF writes m with the head after its tensors: a reward model
// file (see ValueHeadWeight).
func (m *Trainable) WriteRewardGGUF(path string, tok []gguf.KV, dt tensor.DType, name string, h *ValueHead) error {
	if len(h.W.Data) != m.Embd {
		return fmt.Errorf("model: %s: value head of width %d for a model of %d", path, len(h.W.Data), m.Embd)
	}
	return m.writeGGUF(path, tok, dt, name, h.Params())
}

// RewardModelFromGGUF reads a reward model written by WriteRewardGGUF:
// the trainable model (as TrainableFromGGUF) and its head. A file
// without the head is an error that says so.
func RewardModelFromGGUF(f *gguf.File) (*Trainable, *ValueHead, error) {
	c, err := ConfigFromGGUF(f)
	if err != nil {
		return nil, nil, err
	}
	wt, okW := f.Tensor(ValueHeadWeight)
	bt, okB := f.Tensor(ValueHeadBias)
	if !okW || !okB {
		return nil, nil, fmt.Errorf("model: not a reward model: no %s and %s tensors (train one with gptgo train rm)", ValueHeadWeight, ValueHeadBias)
	}
	src := GGUFSource(f)
	w, err := headTensor(src, wt.Name, c.Embd)
	if err != nil {
		return nil, nil, err
	}
	b, err := headTensor(src, bt.Name, 1)
	if err != nil {
		return nil, nil, err
	}
	h, err := headFrom(w, b)
	if err != nil {
		return nil, nil, err
	}
	_, hasOut := f.Tensor("output.weight")
	m, err := NewTrainable(c, !hasOut, src)
	if err != nil {
		return nil, nil, err
	}
	if n := len(c.TensorSpecs(!hasOut)) + 2; len(f.Tensors) != n {
		return nil, nil, fmt.Errorf("model: reward model has %d tensors, want the %s model's and the head's (%d)", len(f.Tensors), c.Arch, n)
	}
	return m, h, nil
}

func headTensor(src Source, name string, n int) ([]float32, error) {
	t, _, err := src(name)
	if err != nil {
		return nil, err
	}
	x, err := t.Float32s()
	if err != nil {
		return nil, err
	}
	if len(x) != n {
		return nil, fmt.Errorf("model: %s has %d values, want %d", name, len(x), n)
	}
	return append([]float32(nil), x...), nil
}
