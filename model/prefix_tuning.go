// Reference: Li and Liang 2021, "Prefix-Tuning: Optimizing Continuous Prompts for Generation" (arXiv:2101.00190)
// §4 (trainable activations P_θ at the prefix positions of every layer, the model frozen) and §7.2 (a prefix
// initialised from the activations of real words trains better than a random one); Hugging Face PEFT
// PrefixTuningConfig and PrefixEncoder (num_virtual_tokens, past_key_values: one key and one value per layer
// and virtual token, put in front of the attention's cache; prefix_projection: an embedding [P, token_dim]
// through Linear(token_dim, encoder_hidden_size), Tanh and Linear(encoder_hidden_size, layers·2·token_dim)).

package model

import (
	"fmt"
	"math"
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
	// Projection, when positive, trains the prefix through PEFT's
	// reparameterization (prefix_projection, Li and Liang §4.3) with a
	// hidden width of Projection: an embedding E [P, C] (started from the
	// embeddings of the init tokens), then for layer i
	// Linear_i(tanh(Linear(E))) → [P, 2·KVDim], its halves the keys and
	// values. Only the resulting keys and values go to the file. 0: the
	// keys and values are the parameters themselves.
	Projection int
}

// prefixState is what a prefix-tuning Trainable trains: the keys and
// values directly (kv) or the reparameterization that computes them.
type prefixState struct {
	P  int
	kv []*autograd.Var // [2L] of [P, KVDim]: layer i's keys (before RoPE) at 2i, values at 2i+1; nil with a projection

	embd   *autograd.Var   // [P, C] "prefix_tuning.embd"
	w1, b1 *autograd.Var   // [H, C], [H] "prefix_tuning.mlp_in.weight", ".bias"
	w2, b2 []*autograd.Var // per layer [2·KVDim, H], [2·KVDim] "blk.i.prefix_mlp_out.weight", ".bias"
}

// params lists the trained values in a fixed order (the checkpoint's).
func (ps *prefixState) params() []*autograd.Var {
	if ps.kv != nil {
		return ps.kv
	}
	out := []*autograd.Var{ps.embd, ps.w1, ps.b1}
	for i := range ps.w2 {
		out = append(out, ps.w2[i], ps.b2[i])
	}
	return out
}

// layer returns layer i's prefix keys (before RoPE) and values [P, KVDim]:
// the parameters, or the projection computed on tp from its parameters
// alone, as a checkpointed block may (autograd.Tape.Blocks). The shared
// tanh layer is recomputed per layer: P×C×H multiply-adds, nothing beside
// a layer's matmuls over a batch.
func (ps *prefixState) layer(tp *autograd.Tape, i, kvd int) (k, v *autograd.Var, ok bool) {
	if ps.kv != nil {
		return ps.kv[2*i], ps.kv[2*i+1], true
	}
	h := tp.Tanh(tp.Linear(ps.embd, ps.w1, ps.b1))
	parts := tp.Split(tp.Linear(h, ps.w2[i], ps.b2[i]), kvd, kvd)
	if len(parts) != 2 { // only after a tape error, which the tape keeps
		return nil, nil, false
	}
	return parts[0], parts[1], true
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
	if o.Projection < 0 || o.Projection > 1<<16 {
		return nil, fmt.Errorf("model: prefix tuning projection width %d must be in 0 … 65536", o.Projection)
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
	ps := &prefixState{P: P}
	if o.Projection > 0 {
		err = ps.initProjection(m, ids, o)
	} else {
		err = ps.initDirect(m, ids)
	}
	if err != nil {
		return nil, err
	}
	m.lora.prefix = ps
	m.params = ps.params()
	return m, nil
}

// initDirect starts the keys and values as the base's own for ids.
func (ps *prefixState) initDirect(m *Trainable, ids []int32) error {
	kv, err := m.baseKV(ids)
	if err != nil {
		return fmt.Errorf("model: prefix tuning init: %w", err)
	}
	for i := range m.Layers {
		k, err := autograd.NewParam(PrefixKName(i), kv[2*i], ps.P, m.KVDim())
		if err != nil {
			return err
		}
		v, err := autograd.NewParam(PrefixVName(i), kv[2*i+1], ps.P, m.KVDim())
		if err != nil {
			return err
		}
		ps.kv = append(ps.kv, k, v)
	}
	return nil
}

// initProjection starts the reparameterization: E the embeddings of ids,
// every Linear as PEFT's nn.Linear starts (weight and bias U(±1/√fan_in)),
// from a generator seeded by (Seed, name).
func (ps *prefixState) initProjection(m *Trainable, ids []int32, o PrefixTuningOptions) error {
	C, H, W := m.Embd, o.Projection, 2*m.KVDim()
	emb, ok := m.lora.frozen["token_embd.weight"]
	if !ok {
		return fmt.Errorf("model: prefix tuning: token_embd.weight is not a frozen matrix")
	}
	e := make([]float32, ps.P*C)
	for k, id := range ids {
		if err := emb.DequantizeRow(int(id), e[k*C:(k+1)*C]); err != nil {
			return fmt.Errorf("model: prefix tuning init from token %d: %w", id, err)
		}
	}
	uniform := func(name string, n, fanIn int, shape ...int) (*autograd.Var, error) {
		x := make([]float32, n)
		rng := rand.New(rand.NewPCG(o.Seed, hashName(name)))
		bound := 1 / math.Sqrt(float64(fanIn))
		for i := range x {
			x[i] = float32((2*rng.Float64() - 1) * bound)
		}
		return autograd.NewParam(name, x, shape...)
	}
	var err error
	if ps.embd, err = autograd.NewParam("prefix_tuning.embd", e, ps.P, C); err != nil {
		return err
	}
	if ps.w1, err = uniform("prefix_tuning.mlp_in.weight", H*C, C, H, C); err != nil {
		return err
	}
	if ps.b1, err = uniform("prefix_tuning.mlp_in.bias", H, C, H); err != nil {
		return err
	}
	for i := range m.Layers {
		w, err := uniform(fmt.Sprintf("blk.%d.prefix_mlp_out.weight", i), W*H, H, W, H)
		if err != nil {
			return err
		}
		b, err := uniform(fmt.Sprintf("blk.%d.prefix_mlp_out.bias", i), W, H, W)
		if err != nil {
			return err
		}
		ps.w2, ps.b2 = append(ps.w2, w), append(ps.b2, b)
	}
	return nil
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
	pk, pv, ok := st.prefix.layer(tp, i, m.KVDim())
	if !ok {
		return k, v
	}
	return tp.VirtualRows(k, pk, tokens), tp.VirtualRows(v, pv, tokens)
}

// prefixAdapter returns the prefix as an adapter holding copies of its
// current values in F32, the keys rotated for positions 0 … P-1 with the
// tape's RoPE: they are the KV cache's entries of those positions, which
// inference copies in as they are (as PEFT's past_key_values are).
func (m *Trainable) prefixAdapter(name string) (*Adapter, error) {
	c, ps := m.Config, m.lora.prefix
	P, W := ps.P, c.KVDim()
	pool := tensor.NewPool(1)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	a := &Adapter{Arch: m.Arch, Name: name}
	for i := range c.Layers {
		tp.Reset()
		kr, vr, ok := ps.layer(tp, i, W)
		if err := tp.Err(); err != nil || !ok {
			return nil, fmt.Errorf("model: prefix of layer %d: %v", i, err)
		}
		k := append([]float32(nil), kr.Data...)
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
		vt, err := tensor.FromFloat32(PrefixVName(i), append([]float32(nil), vr.Data...), W, P)
		if err != nil {
			return nil, err
		}
		a.PrefixK, a.PrefixV = append(a.PrefixK, kt), append(a.PrefixV, vt)
	}
	return a, nil
}
