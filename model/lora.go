// Reference: Hu et al., "LoRA" (arXiv:2106.09685) §4.1; Dettmers et al., "QLoRA" (arXiv:2305.14314) §3;
// Hugging Face PEFT tuners/lora (lora_A kaiming-uniform with a = √5, lora_B zeros, scaling = alpha/r,
// dropout on the adapter's input, modules_to_save for fully trained tensors); Cui et al.,
// "Chinese-LLaMA-Alpaca" (arXiv:2304.08177) §3 (LoRA with trainable embeddings and head).

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// LoRAOptions choose the adapters of a LoRA fine-tune.
type LoRAOptions struct {
	Rank    int     // r: the adapters' inner width
	Alpha   float64 // the adapter path is scaled by Alpha/Rank (PEFT's lora_alpha)
	Dropout float64 // probability of zeroing an input element of the adapter path while training; 0 … <1
	// Targets are the matrices to adapt, by short name (LoRATargets); nil
	// means DefaultLoRATargets, those of them the model has.
	Targets []string
	// TrainEmbeddings makes token_embd (and output, when the head is its
	// own matrix) fully trainable, as Chinese-LLaMA-Alpaca does after
	// extending the vocabulary; they are saved in the adapter file whole.
	TrainEmbeddings bool
	Seed            uint64 // draws lora_a and the dropout masks
}

// LoRATargets maps each short target name to the GGUF tensor it adapts in
// every block. On a model with a fused attn_qkv, q, k and v all name it.
var LoRATargets = map[string]string{
	"q": "attn_q", "k": "attn_k", "v": "attn_v", "qkv": "attn_qkv", "o": "attn_output",
	"gate": "ffn_gate", "up": "ffn_up", "down": "ffn_down",
}

// DefaultLoRATargets is every matrix of a block, as the QLoRA paper
// recommends (adapting only q and v, the LoRA paper's choice, does worse).
var DefaultLoRATargets = []string{"q", "k", "v", "o", "gate", "up", "down"}

// loraState is what a Trainable that trains adapters adds: the frozen base,
// read in place, and the adapters. Its parameters (Trainable.params) are
// the adapters and the fully trained tensors only, so the optimizer keeps
// moments for those and nothing else.
type loraState struct {
	opts     LoRAOptions
	scale    float32                   // Alpha/Rank
	frozen   map[string]*tensor.Tensor // base matrices by GGUF name, never copied to float32
	adapters map[string]*loraPair      // by the adapted matrix's GGUF name
	pairs    []*loraPair               // in TensorSpecs order
	full     []*autograd.Var           // fully trained base tensors (TrainEmbeddings)
	batchKey uint64                    // a hash of the forward's tokens: with the seed, keys the dropout masks
	prompt   *autograd.Var             // [P, C] "prompt_tuning.embd": prompt tuning's virtual tokens, the only parameter (prompt_tuning.go); nil for LoRA
	prefix   *prefixState              // prefix tuning's keys and values, or what projects them, the only parameters (prefix_tuning.go); nil for LoRA
	capture  kvCapture                 // while prefix tuning's init runs the base: gets each layer's keys and values
}

// loraPair is one adapted matrix W [R, C]: A [r, C] ("<W>.lora_a", GGUF
// ne = [C, r]) and B [R, r] ("<W>.lora_b", ne = [r, R]), llama.cpp's layout.
type loraPair struct {
	base string
	a, b *autograd.Var
}

// check validates o against c and returns the set of adapted tensor
// suffixes ("attn_q.weight", …).
func (o *LoRAOptions) check(c Config) (map[string]bool, error) {
	if o.Rank < 1 {
		return nil, fmt.Errorf("model: lora rank %d must be at least 1", o.Rank)
	}
	if !(o.Alpha > 0) || math.IsInf(o.Alpha, 0) {
		return nil, fmt.Errorf("model: lora alpha %v must be positive", o.Alpha)
	}
	if !(o.Dropout >= 0 && o.Dropout < 1) {
		return nil, fmt.Errorf("model: lora dropout %v must be in [0, 1)", o.Dropout)
	}
	targets := o.Targets
	if targets == nil {
		targets = DefaultLoRATargets
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("model: lora needs at least one target")
	}
	set := map[string]bool{}
	for _, t := range targets {
		s, ok := LoRATargets[t]
		if !ok {
			names := make([]string, 0, len(LoRATargets))
			for k := range LoRATargets {
				names = append(names, k)
			}
			slices.Sort(names)
			return nil, fmt.Errorf("model: lora target %q is not one of %s", t, strings.Join(names, ", "))
		}
		switch {
		case c.FusedQKV && (t == "q" || t == "k" || t == "v"):
			s = "attn_qkv"
		case !c.FusedQKV && t == "qkv":
			return nil, fmt.Errorf("model: lora target qkv: this %s model has separate attn_q, attn_k, attn_v (targets q, k, v)", c.Arch)
		case t == "gate" && c.FFN != FFNSwiGLU:
			if o.Targets == nil {
				continue // the default list names every matrix a model may have
			}
			return nil, fmt.Errorf("model: lora target gate: this %s model has no ffn_gate", c.Arch)
		}
		set[s+".weight"] = true
	}
	return set, nil
}

// NewLoRATrainable builds a Trainable of c that trains low-rank adapters
// on the matrices o targets while every base tensor stays frozen. The base
// matrices are src's tensors themselves, in their own dtype (a quantized
// base stays quantized: its rows are dequantized on the fly in the forward
// and the backward, QLoRA-style), so src must stay valid (a mapped file
// open) while the model is used. Norm weights and biases are copied to
// float32 (they are vectors). Params returns only what is trained.
func NewLoRATrainable(c Config, tied bool, src Source, o LoRAOptions) (*Trainable, error) {
	if err := checkDecoder(c); err != nil {
		return nil, err
	}
	targets, err := o.check(c)
	if err != nil {
		return nil, err
	}
	return newFrozenTrainable(c, tied, src, o, targets)
}

// checkDecoder refuses a configuration that is invalid or an encoder.
func checkDecoder(c Config) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.IsEncoder() { // bert's blocks are not the decoder's (bert.go)
		return fmt.Errorf("model: %s is an encoder: it cannot be trained as a decoder (language modelling, SFT, LoRA)", c.Arch)
	}
	return nil
}

// newFrozenTrainable is NewLoRATrainable with the adapted tensor suffixes
// given: none for a frozen base that trains something else (prompt
// tuning, prompt_tuning.go).
func newFrozenTrainable(c Config, tied bool, src Source, o LoRAOptions, targets map[string]bool) (*Trainable, error) {
	if err := checkDecoder(c); err != nil {
		return nil, err
	}
	if tied && c.Arch == "gpt2" {
		return nil, fmt.Errorf("model: gpt2 has its own output.weight; it cannot be tied")
	}
	st := &loraState{
		opts: o, scale: float32(o.Alpha / float64(o.Rank)),
		frozen: map[string]*tensor.Tensor{}, adapters: map[string]*loraPair{},
	}
	m := &Trainable{Config: c, Tied: tied, lora: st}
	byName := map[string]*autograd.Var{}
	var errs []string
	for _, s := range c.TensorSpecs(tied) {
		t, ok, err := src(s.Name)
		switch {
		case err != nil:
			errs = append(errs, fmt.Sprintf("%s: %v", s.Name, err))
			continue
		case !ok:
			errs = append(errs, s.Name+": missing")
			continue
		case !sameDims(t.Shape, s.Shape) || len(t.Shape) != len(s.Shape):
			errs = append(errs, fmt.Sprintf("%s: shape %v, want %v", s.Name, t.Shape, s.Shape))
			continue
		}
		embd := s.Name == "token_embd.weight" || s.Name == "output.weight"
		var v *autograd.Var
		switch {
		case len(s.Shape) == 1 || s.Name == "position_embd.weight":
			// Vectors and learned positions: small, frozen, float32.
			x, err := t.Float32s()
			if err == nil {
				shape := []int{int(s.Shape[0])}
				if len(s.Shape) == 2 {
					shape = []int{int(s.Shape[1]), int(s.Shape[0])}
				}
				v, err = autograd.Const(s.Name, x, shape...)
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", s.Name, err))
				continue
			}
		case embd && o.TrainEmbeddings:
			x, err := t.Float32s()
			if err == nil {
				v, err = autograd.NewParam(s.Name, x, int(s.Shape[1]), int(s.Shape[0]))
			}
			if err != nil {
				errs = append(errs, fmt.Sprintf("%s: %v", s.Name, err))
				continue
			}
			st.full = append(st.full, v)
		default:
			if tensor.FormatOf(t.DType).Dequantize == nil {
				errs = append(errs, fmt.Sprintf("%s: %v weights cannot be dequantized", s.Name, t.DType))
				continue
			}
			st.frozen[s.Name] = t
			// A stand-in carrying the name and shape; its values are the
			// frozen tensor's, which only linear and embed read.
			v = &autograd.Var{Name: s.Name, Shape: []int{int(s.Shape[1]), int(s.Shape[0])}}
			if suffix, ok := strings.CutPrefix(s.Name, "blk."); ok {
				if i := strings.IndexByte(suffix, '.'); i >= 0 && targets[suffix[i+1:]] {
					p, err := newLoRAPair(s.Name, int(s.Shape[0]), int(s.Shape[1]), o)
					if err != nil {
						errs = append(errs, err.Error())
						continue
					}
					st.adapters[s.Name] = p
					st.pairs = append(st.pairs, p)
				}
			}
		}
		byName[s.Name] = v
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("model: lora on %s weights: %s", c.Arch, strings.Join(errs, "; "))
	}
	for _, p := range st.pairs {
		m.params = append(m.params, p.a, p.b)
	}
	m.params = append(m.params, st.full...)
	m.bind(byName)
	return m, nil
}

// newLoRAPair makes the adapter of the matrix name with ne = [C, R]: A
// drawn as PEFT draws lora_A (kaiming_uniform_ with a = √5, which is
// U(−1/√C, 1/√C)), from a generator seeded by (Seed, name) so that the
// draw does not depend on which other matrices are adapted; B zero, so the
// adapted model starts as the base.
func newLoRAPair(name string, C, R int, o LoRAOptions) (*loraPair, error) {
	a := make([]float32, o.Rank*C)
	rng := rand.New(rand.NewPCG(o.Seed, hashName(name)))
	bound := 1 / math.Sqrt(float64(C))
	for i := range a {
		a[i] = float32((2*rng.Float64() - 1) * bound)
	}
	av, err := autograd.NewParam(name+".lora_a", a, o.Rank, C)
	if err != nil {
		return nil, err
	}
	bv, err := autograd.NewParam(name+".lora_b", make([]float32, R*o.Rank), R, o.Rank)
	if err != nil {
		return nil, err
	}
	return &loraPair{base: name, a: av, b: bv}, nil
}

// LoRATrainableFromGGUF is NewLoRATrainable over the tensors of f, which
// must stay open while the model trains: the base is read from its mapping.
func LoRATrainableFromGGUF(f *gguf.File, o LoRAOptions) (*Trainable, error) {
	c, tied, err := trainableConfig(f) // trainable.go
	if err != nil {
		return nil, err
	}
	return NewLoRATrainable(c, tied, GGUFSource(f), o)
}

// LoRA reports whether m trains adapters (NewLoRATrainable) rather than
// all of its weights.
func (m *Trainable) LoRA() bool { return m.lora != nil }

// linear is tp.Linear(x, w, b) for a model that trains all its weights.
// With adapters, w's values are its frozen tensor (read in place) unless w
// is trained whole, and an adapted w adds its adapter path.
func (m *Trainable) linear(tp *autograd.Tape, x, w, b *autograd.Var) *autograd.Var {
	st := m.lora
	if st == nil {
		return tp.Linear(x, w, b)
	}
	var y *autograd.Var
	if base, ok := st.frozen[w.Name]; ok {
		y = tp.FrozenLinear(x, base, b)
	} else {
		y = tp.Linear(x, w, b)
	}
	if p := st.adapters[w.Name]; p != nil {
		y = tp.AddLoRA(y, x, p.a, p.b, st.scale, st.opts.Dropout, st.dropoutSeed(w.Name))
	}
	return y
}

// embed looks the tokens up in the embedding table (frozen or trained).
// It runs once per forward, outside the checkpointed blocks, so it is also
// where a forward's dropout masks are keyed: by its tokens, which a resumed
// run sees again at the same step (the loaders resume exactly), where a
// count of forwards would restart at zero.
func (m *Trainable) embed(tp *autograd.Tape, tokens []int32) *autograd.Var {
	st := m.lora
	if st == nil {
		return tp.Embedding(m.tok, tokens)
	}
	h := uint64(14695981039346656037) // FNV-1a over the tokens
	for _, t := range tokens {
		h = (h ^ uint64(uint32(t))) * 1099511628211
	}
	st.batchKey = h
	if st.prompt != nil || st.prefix != nil {
		return m.embedVirtual(tp, tokens) // prompt_tuning.go
	}
	if base, ok := st.frozen[m.tok.Name]; ok {
		return tp.FrozenEmbedding(base, tokens)
	}
	return tp.Embedding(m.tok, tokens)
}

// dropoutSeed keys the dropout mask of the adapter of name in this
// forward by (Seed, the batch's tokens, name), so a checkpointed block that
// reruns in the backward draws the very mask its forward used, a resumed
// run draws the masks the uninterrupted one would, and each batch draws
// new ones.
func (st *loraState) dropoutSeed(name string) uint64 {
	return hashName(name) ^ st.opts.Seed*0x9e3779b97f4a7c15 ^ st.batchKey*0xbf58476d1ce4e5b9
}
