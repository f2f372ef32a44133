// Reference: Li and Liang 2021, "Prefix-Tuning: Optimizing Continuous Prompts for Generation" (arXiv:2101.00190)
// §4 (trainable activations P_θ at the prefix positions of every layer, the model frozen) and §7.2 (a prefix
// initialised from the activations of real words trains better than a random one); Hugging Face PEFT
// PrefixTuningConfig and PrefixEncoder (num_virtual_tokens, past_key_values: one key and one value per layer
// and virtual token, put in front of the attention's cache).

package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// PrefixTuningOptions choose the prefix of a prefix-tuning run.
type PrefixTuningOptions struct {
	Tokens int // P, the virtual tokens whose keys and values every layer trains (PEFT's num_virtual_tokens)
	// Init are token ids whose keys and values, as the frozen base
	// computes them for these tokens at positions 0 … P-1, start the
	// prefix (repeated or cut to P). Empty: tokens drawn uniformly from the
	// vocabulary with Seed. Either way the prefix starts as the base
	// model's own activations of real words (Li and Liang §7.2), at their
	// scale; PEFT's N(0, 1) embedding would be far larger than a small
	// model's keys and values.
	Init []int32
	Seed uint64
}

// PrefixKName and PrefixVName are the names of layer i's prefix keys and
// values, in training (the parameters) and in the file (the tensors).
func PrefixKName(i int) string { return fmt.Sprintf("blk.%d.prefix_k", i) }

// PrefixVName is layer i's prefix values (PrefixKName).
func PrefixVName(i int) string { return fmt.Sprintf("blk.%d.prefix_v", i) }

// NewPrefixTuningTrainable builds a Trainable of c whose every base tensor
// is frozen and read in place from src, as NewLoRATrainable's base is, and
// whose only parameters are, for each layer i, the keys blk.i.prefix_k
// and the values blk.i.prefix_v [P, n_embd_k_gqa] of the virtual tokens
// -1 … -P (id -k-1 is row k), which a batch carries in front of each
// example (train.PrependVirtual) as prompt tuning's do. In every layer the
// rows of the virtual positions of K and V are replaced by the prefix
// (autograd.VirtualRows), so every real token attends to the P trained
// keys and values before its own context; what the model computes at the
// virtual positions themselves reaches nothing else.
//
// The keys are replaced before RoPE: the parameter is a key that the
// model rotates at the position its virtual token occupies, so that a
// packed example, which starts wherever its row puts it, scores its
// prefix by distance as it does alone. At inference the prefix sits at
// positions 0 … P-1, and the file stores the keys rotated there, ready
// for the cache (Adapter, prefixAdapter).
func NewPrefixTuningTrainable(c Config, tied bool, src Source, o PrefixTuningOptions) (*Trainable, error) {
	if o.Tokens < 1 {
		return nil, fmt.Errorf("model: prefix tuning needs at least 1 virtual token, got %d", o.Tokens)
	}
	if o.Tokens >= c.CtxTrain {
		return nil, fmt.Errorf("model: %d virtual tokens fill the context of %d", o.Tokens, c.CtxTrain)
	}
	for i, id := range o.Init {
		if id < 0 || int(id) >= c.Vocab {
			return nil, fmt.Errorf("model: prefix tuning init: token %d at index %d is outside the vocabulary of %d", id, i, c.Vocab)
		}
	}
	// Rank and alpha are never used: there are no adapters.
	m, err := newFrozenTrainable(c, tied, src, LoRAOptions{Rank: 1, Alpha: 1, Seed: o.Seed}, nil)
	if err != nil {
		return nil, err
	}
	P := o.Tokens
	ids := make([]int32, P)
	rng := rand.New(rand.NewPCG(o.Seed, hashName("prefix_tuning")))
	for k := range ids {
		if len(o.Init) > 0 {
			ids[k] = o.Init[k%len(o.Init)]
		} else {
			ids[k] = int32(rng.IntN(c.Vocab))
		}
	}
	kv, err := m.baseKV(ids)
	if err != nil {
		return nil, fmt.Errorf("model: prefix tuning init: %w", err)
	}
	for i := range c.Layers {
		k, err := autograd.NewParam(PrefixKName(i), kv[2*i], P, c.KVDim())
		if err != nil {
			return nil, err
		}
		v, err := autograd.NewParam(PrefixVName(i), kv[2*i+1], P, c.KVDim())
		if err != nil {
			return nil, err
		}
		m.lora.prefix = append(m.lora.prefix, k, v)
	}
	m.params = m.lora.prefix
	return m, nil
}

// PrefixTuningTrainableFromGGUF is NewPrefixTuningTrainable over the
// tensors of f, which must stay open while the model trains.
func PrefixTuningTrainableFromGGUF(f *gguf.File, o PrefixTuningOptions) (*Trainable, error) {
	c, tied, err := trainableConfig(f) // trainable.go
	if err != nil {
		return nil, err
	}
	return NewPrefixTuningTrainable(c, tied, GGUFSource(f), o)
}

// baseKV runs the frozen model over ids (one sequence, positions 0 …) and
// returns each layer's keys, before RoPE, and values: [2L][len(ids)·KVDim].
func (m *Trainable) baseKV(ids []int32) ([][]float32, error) {
	pool := tensor.NewPool(1)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	out := make([][]float32, 2*m.Layers)
	m.lora.capture = func(i int, k, v *autograd.Var) {
		out[2*i], out[2*i+1] = append([]float32(nil), k.Data...), append([]float32(nil), v.Data...)
	}
	defer func() { m.lora.capture = nil }()
	m.HiddenSegments(tp, ids, len(ids), nil)
	if err := tp.Err(); err != nil {
		return nil, err
	}
	for i, x := range out {
		if x == nil {
			return nil, fmt.Errorf("layer %d computed no keys and values", i/2)
		}
	}
	return out, nil
}

// kvCapture gets layer i's keys (before RoPE) and values in a forward.
type kvCapture func(i int, k, v *autograd.Var)

// prefixKV puts layer i's prefix into the rows of the virtual tokens of
// k (before RoPE) and v [B·T, KVDim], in a model that trains a prefix;
// other models get k and v back as they are. The forward calls it in
// every block (trainable.go).
func (m *Trainable) prefixKV(tp *autograd.Tape, i int, k, v *autograd.Var, tokens []int32) (*autograd.Var, *autograd.Var) {
	st := m.lora
	switch {
	case st == nil:
		return k, v
	case st.capture != nil:
		st.capture(i, k, v)
		return k, v
	case st.prefix == nil:
		return k, v
	}
	return tp.VirtualRows(k, st.prefix[2*i], tokens), tp.VirtualRows(v, st.prefix[2*i+1], tokens)
}

// prefixAdapter returns the prefix as an adapter holding copies of its
// current values in F32, the keys rotated for positions 0 … P-1 with the
// tape's RoPE: they are the KV cache's entries of those positions, which
// inference copies in as they are (as PEFT's past_key_values are).
func (m *Trainable) prefixAdapter(name string) (*Adapter, error) {
	c, pre := m.Config, m.lora.prefix
	P, W := pre[0].Rows(), pre[0].Cols()
	a := &Adapter{Arch: m.Arch, Name: name}
	for i := range c.Layers {
		k := append([]float32(nil), pre[2*i].Data...)
		if c.Rope != RopeNone {
			rotate := kernel.RopeNorm
			if c.Rope == RopeNeox {
				rotate = kernel.RopeNeox
			}
			cache := make([]float32, c.RopeDims)
			for p := range P {
				// The tape's RoPE (autograd.Rope as HiddenSegments sets it).
				kernel.RopeCache(cache, p, c.RopeDims, c.RopeBase, c.RopeScale, nil)
				for h := 0; h < W; h += c.HeadDim {
					rotate(k[p*W+h:p*W+h+c.HeadDim], cache, c.RopeDims)
				}
			}
		}
		kt, err := tensor.FromFloat32(PrefixKName(i), k, W, P)
		if err != nil {
			return nil, err
		}
		vt, err := tensor.FromFloat32(PrefixVName(i), append([]float32(nil), pre[2*i+1].Data...), W, P)
		if err != nil {
			return nil, err
		}
		a.PrefixK, a.PrefixV = append(a.PrefixK, kt), append(a.PrefixV, vt)
	}
	return a, nil
}
