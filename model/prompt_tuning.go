// Reference: Lester, Al-Rfou and Constant 2021, "The Power of Scale for Parameter-Efficient Prompt Tuning"
// (arXiv:2104.08691) §2 (a prompt of p trainable embeddings prepended to the embedded input, the model
// frozen) and §3.2 (initialisation from sampled vocabulary or from the embeddings of words); Hugging Face
// PEFT PromptTuningConfig (num_virtual_tokens; prompt_tuning_init TEXT: the init text's token ids repeated
// or cut to num_virtual_tokens, their word embeddings copied).

package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// PromptTuningOptions choose the virtual tokens of a prompt-tuning run.
type PromptTuningOptions struct {
	Tokens int // P, the virtual tokens prepended to every sequence (PEFT's num_virtual_tokens)
	// Init are token ids whose embeddings start the table, repeated or cut
	// to P (PEFT's prompt_tuning_init TEXT, the text's ids). Empty: each
	// row is the embedding of a token drawn uniformly from the vocabulary
	// with Seed (Lester et al.'s sampled-vocabulary init, §3.2). Both keep
	// the prompt at the scale of the model's real embeddings, where PEFT's
	// RANDOM init, N(0, 1) per element, is fifty times a small model's.
	Init []int32
	Seed uint64
}

// PromptTuningName is the table's tensor name, in training and in the file.
const PromptTuningName = "prompt_tuning.embd"

// NewPromptTuningTrainable builds a Trainable of c whose every base
// tensor is frozen and read in place from src, as NewLoRATrainable's base
// is, and whose only parameter is the prompt table [P, C]: the embeddings
// of the virtual tokens -1 … -P (id -k-1 is row k), which a batch carries
// in front of each example (train.PrependVirtual). Logits then look a
// negative id up in the table and every other one in token_embd.
func NewPromptTuningTrainable(c Config, tied bool, src Source, o PromptTuningOptions) (*Trainable, error) {
	if o.Tokens < 1 {
		return nil, fmt.Errorf("model: prompt tuning needs at least 1 virtual token, got %d", o.Tokens)
	}
	if o.Tokens >= c.CtxTrain {
		return nil, fmt.Errorf("model: %d virtual tokens fill the context of %d", o.Tokens, c.CtxTrain)
	}
	for i, id := range o.Init {
		if id < 0 || int(id) >= c.Vocab {
			return nil, fmt.Errorf("model: prompt tuning init: token %d at index %d is outside the vocabulary of %d", id, i, c.Vocab)
		}
	}
	// Rank and alpha are never used: there are no adapters.
	m, err := newFrozenTrainable(c, tied, src, LoRAOptions{Rank: 1, Alpha: 1, Seed: o.Seed}, nil)
	if err != nil {
		return nil, err
	}
	emb, ok := m.lora.frozen["token_embd.weight"]
	if !ok {
		return nil, fmt.Errorf("model: prompt tuning: token_embd.weight is not a frozen matrix")
	}
	P, C := o.Tokens, c.Embd
	ids := make([]int32, P)
	rng := rand.New(rand.NewPCG(o.Seed, hashName(PromptTuningName)))
	for k := range ids {
		if len(o.Init) > 0 {
			ids[k] = o.Init[k%len(o.Init)]
		} else {
			ids[k] = int32(rng.IntN(c.Vocab))
		}
	}
	x := make([]float32, P*C)
	for k, id := range ids {
		if err := emb.DequantizeRow(int(id), x[k*C:(k+1)*C]); err != nil {
			return nil, fmt.Errorf("model: prompt tuning init from token %d: %w", id, err)
		}
	}
	v, err := autograd.NewParam(PromptTuningName, x, P, C)
	if err != nil {
		return nil, err
	}
	m.lora.prompt = v
	m.params = []*autograd.Var{v}
	return m, nil
}

// PromptTuningTrainableFromGGUF is NewPromptTuningTrainable over the
// tensors of f, which must stay open while the model trains.
func PromptTuningTrainableFromGGUF(f *gguf.File, o PromptTuningOptions) (*Trainable, error) {
	c, tied, err := trainableConfig(f) // trainable.go
	if err != nil {
		return nil, err
	}
	return NewPromptTuningTrainable(c, tied, GGUFSource(f), o)
}

// VirtualTokens is P when m trains a prompt (its ids are -1 … -P), else 0.
// A prefix-tuning model's virtual tokens are those of its prefix
// (prefix_tuning.go).
func (m *Trainable) VirtualTokens() int {
	switch {
	case m.lora == nil:
		return 0
	case m.lora.prefix != nil:
		return m.lora.prefix.P
	case m.lora.prompt == nil:
		return 0
	}
	return m.lora.prompt.Rows()
}

// embedVirtual looks the real tokens up in the frozen table (a virtual
// position looks up token 0, whose row VirtualRows then replaces) and
// puts the prompt's rows at the virtual positions. Prefix tuning keeps
// token 0's row there: its prefix enters every layer's keys and values
// instead, and what the virtual positions compute reaches nothing else.
func (m *Trainable) embedVirtual(tp *autograd.Tape, tokens []int32) *autograd.Var {
	st := m.lora
	ids := make([]int32, len(tokens))
	for i, t := range tokens {
		ids[i] = max(t, 0)
	}
	var x *autograd.Var
	if base, ok := st.frozen[m.tok.Name]; ok {
		x = tp.FrozenEmbedding(base, ids)
	} else {
		x = tp.Embedding(m.tok, ids)
	}
	if st.prompt == nil {
		return x
	}
	return tp.VirtualRows(x, st.prompt, tokens)
}

// promptAdapter returns the prompt as an adapter holding a copy of its
// current values in F32.
func (m *Trainable) promptAdapter(name string) (*Adapter, error) {
	p := m.lora.prompt
	t, err := tensor.FromFloat32(PromptTuningName, append([]float32(nil), p.Data...), p.Cols(), p.Rows())
	if err != nil {
		return nil, err
	}
	return &Adapter{Arch: m.Arch, Name: name, Prompt: t}, nil
}
