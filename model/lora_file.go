// Reference: llama.cpp src/llama-adapter.cpp (llama_adapter_lora_init_impl: general.type "adapter",
// adapter.type "lora", adapter.lora.alpha f32, tensors "<base>.lora_a" ne = [n_in, r] and "<base>.lora_b"
// ne = [r, n_out], the shape checks and their messages) and convert_lora_to_gguf.py (PEFT's lora_A [r, in]
// and lora_B [out, r] written as they are, which gives those ne).

package model

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// Adapter is a LoRA adapter as llama.cpp's GGUF adapter files hold it: for
// each adapted matrix W (ne = [n_in, n_out]) a pair A (ne = [n_in, r]) and
// B (ne = [r, n_out]), applied as W x + s·(Alpha/r)·B(A x) with s the
// run-time scale. Full holds base tensors that were trained whole
// (LoRAOptions.TrainEmbeddings) and replace the base's: a gptgo extension
// that llama.cpp's loader refuses, so such a file must be merged first.
type Adapter struct {
	Arch  string  // general.architecture: must be the base model's
	Alpha float32 // adapter.lora.alpha; 0 means a scale of 1 whatever r is, as llama.cpp reads it
	Name  string  // general.name (optional)
	Pairs []AdapterPair
	Full  []*tensor.Tensor // whole replacements of base tensors, by their base name
	// Prompt, when not nil, makes this a prompt-tuning adapter
	// (adapter.type "prompt_tuning", prompt_file.go): the virtual tokens'
	// embeddings, "prompt_tuning.embd", ne = [n_embd, P]. Such an adapter
	// has no Pairs and no Full.
	Prompt *tensor.Tensor
	// PrefixK and PrefixV, when not nil, make this a prefix-tuning
	// adapter (adapter.type "prefix_tuning", prefix_file.go): layer i's
	// keys (already rotated for positions 0 … P-1) and values of the
	// virtual tokens, "blk.i.prefix_k" and "blk.i.prefix_v", ne =
	// [n_embd_k_gqa, P]. Such an adapter has nothing else.
	PrefixK, PrefixV []*tensor.Tensor
}

// AdapterPair is the adapter of one matrix.
type AdapterPair struct {
	Base string         // the adapted tensor, "blk.0.attn_q.weight"
	A    *tensor.Tensor // "<Base>.lora_a", ne = [n_in, r]
	B    *tensor.Tensor // "<Base>.lora_b", ne = [r, n_out]
}

// Rank is r, the inner width of the pair.
func (p *AdapterPair) Rank() int { return p.A.Rows() }

// Scale is the factor of B(A x) at run-time scale s: s·Alpha/r, or s when
// Alpha is 0 (llama.cpp's rule).
func (a *Adapter) Scale(p *AdapterPair, s float32) float32 {
	if a.Alpha == 0 {
		return s
	}
	return s * a.Alpha / float32(p.Rank())
}

// Adapter returns m's adapters (and its fully trained tensors) as an
// Adapter holding copies of their current values in F32.
func (m *Trainable) Adapter(name string) (*Adapter, error) {
	st := m.lora
	if st == nil {
		return nil, fmt.Errorf("model: this model trains every weight; it has no LoRA adapters")
	}
	if st.prompt != nil {
		return m.promptAdapter(name) // prompt_tuning.go
	}
	if st.prefix != nil {
		return m.prefixAdapter(name) // prefix_tuning.go
	}
	ad := &Adapter{Arch: m.Arch, Alpha: float32(st.opts.Alpha), Name: name}
	wrap := func(name string, x []float32, ne ...int) (*tensor.Tensor, error) {
		return tensor.FromFloat32(name, append([]float32(nil), x...), ne...)
	}
	for _, p := range st.pairs {
		r, C, R := p.a.Rows(), p.a.Cols(), p.b.Rows()
		a, err := wrap(p.a.Name, p.a.Data, C, r)
		if err != nil {
			return nil, err
		}
		b, err := wrap(p.b.Name, p.b.Data, r, R)
		if err != nil {
			return nil, err
		}
		ad.Pairs = append(ad.Pairs, AdapterPair{Base: p.base, A: a, B: b})
	}
	for _, v := range st.full {
		t, err := wrap(v.Name, v.Data, v.Cols(), v.Rows())
		if err != nil {
			return nil, err
		}
		ad.Full = append(ad.Full, t)
	}
	return ad, nil
}

// WriteAdapter writes m's adapters to path (atomically) in llama.cpp's
// LoRA adapter layout, all tensors F32.
func (m *Trainable) WriteAdapter(path, name string) error {
	ad, err := m.Adapter(name)
	if err != nil {
		return err
	}
	return ad.WriteFile(path)
}

// WriteFile writes a to path atomically as a GGUF LoRA adapter: the pairs
// in order (lora_a then lora_b), then the whole tensors, each in its own
// dtype.
func (a *Adapter) WriteFile(path string) error {
	if a.Prompt != nil {
		return a.writePrompt(path) // prompt_file.go
	}
	if a.PrefixK != nil {
		return a.writePrefix(path) // prefix_file.go
	}
	h := &gguf.Header{Version: 3}
	h.Set("general.architecture", gguf.NewValue(a.Arch))
	h.Set("general.type", gguf.NewValue("adapter"))
	if a.Name != "" {
		h.Set("general.name", gguf.NewValue(a.Name))
	}
	h.Set("adapter.type", gguf.NewValue("lora"))
	h.Set("adapter.lora.alpha", gguf.NewValue(a.Alpha))
	var ts []*tensor.Tensor
	for _, p := range a.Pairs {
		ts = append(ts, p.A, p.B)
	}
	ts = append(ts, a.Full...)
	for _, t := range ts {
		shape := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			shape[i] = int64(d)
		}
		h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: t.Name, Shape: shape, DType: t.DType})
	}
	if err := h.Layout(); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	src := func(i int, w io.Writer) error {
		_, err := w.Write(ts[i].Data)
		return err
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("model: adapter %s: %w", path, err)
	}
	return nil
}

// AdapterFromGGUF reads a LoRA adapter from f, checking what llama.cpp's
// loader checks before it looks at a base model: the adapter keys, every
// tensor named "<base>.lora_a" or "<base>.lora_b" with its partner present,
// ranks that agree (A's ne[1] = B's ne[0]), and floats it can read. The
// tensors are views of f's data, valid while f is open. Check the result
// against the base model with CheckBase.
func AdapterFromGGUF(f *gguf.File) (*Adapter, error) {
	if t, _ := f.String("general.type"); t != "adapter" {
		return nil, fmt.Errorf("model: adapter: general.type is %q, want \"adapter\" (is this a model rather than an adapter?)", t)
	}
	if t, _ := f.String("adapter.type"); t == "prompt_tuning" {
		return promptAdapterFromGGUF(f) // prompt_file.go
	} else if t == "prefix_tuning" {
		return prefixAdapterFromGGUF(f) // prefix_file.go
	} else if t != "lora" {
		return nil, fmt.Errorf("model: adapter: adapter.type is %q, want \"lora\", \"prompt_tuning\" or \"prefix_tuning\"", t)
	}
	a := &Adapter{Arch: f.Arch()}
	if a.Arch == "" {
		return nil, fmt.Errorf("model: adapter: no general.architecture")
	}
	a.Name, _ = f.String("general.name")
	v, ok := f.Lookup("adapter.lora.alpha")
	if ok {
		x, isF32 := v.X.(float32)
		if !isF32 || math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, fmt.Errorf("model: adapter: adapter.lora.alpha is %v (%v), want a finite f32", v.X, v.Type)
		}
		a.Alpha = x
	}
	src := GGUFSource(f)
	pairs := map[string]*AdapterPair{}
	var order []string
	for i := range f.Tensors {
		name := f.Tensors[i].Name
		t, _, err := src(name)
		if err != nil {
			return nil, fmt.Errorf("model: adapter: %w", err)
		}
		if !t.DType.CanDequantize() {
			return nil, fmt.Errorf("model: adapter: tensor %q: gptgo cannot read %v values", name, t.DType)
		}
		base, kind := name, ""
		if b, ok := strings.CutSuffix(name, ".lora_a"); ok {
			base, kind = b, "a"
		} else if b, ok := strings.CutSuffix(name, ".lora_b"); ok {
			base, kind = b, "b"
		}
		if kind == "" {
			a.Full = append(a.Full, t)
			continue
		}
		if len(t.Shape) != 2 {
			return nil, fmt.Errorf("model: adapter: tensor %q: shape %v is not a matrix", name, t.Shape)
		}
		p := pairs[base]
		if p == nil {
			p = &AdapterPair{Base: base}
			pairs[base] = p
			order = append(order, base)
		}
		if kind == "a" {
			p.A = t
		} else {
			p.B = t
		}
	}
	for _, base := range order {
		p := pairs[base]
		if p.A == nil || p.B == nil {
			return nil, fmt.Errorf("model: adapter: LoRA tensor pair for %q is missing one component", base)
		}
		if p.A.Rows() != p.B.Cols() {
			return nil, fmt.Errorf("model: adapter: %q: lora_a ne %v and lora_b ne %v disagree on the rank (lora_a must be ne = [n_in, r], lora_b [r, n_out])", base, p.A.Shape, p.B.Shape)
		}
		a.Pairs = append(a.Pairs, *p)
	}
	if len(a.Pairs) == 0 && len(a.Full) == 0 {
		return nil, fmt.Errorf("model: adapter: no tensors")
	}
	return a, nil
}

// GGUFShapes is the lookup CheckBase takes, over the tensors of a base
// model file (its ne, GGML order), for checks made before any weight is read.
func GGUFShapes(f *gguf.File) func(name string) ([]int, bool) {
	return func(name string) ([]int, bool) {
		ti, ok := f.Tensor(name)
		if !ok {
			return nil, false
		}
		ne := make([]int, len(ti.Shape))
		for i, d := range ti.Shape {
			ne[i] = int(d)
		}
		return ne, true
	}
}

// CheckBase checks a against a base model whose tensors lookup finds
// (name → ne): the architecture, and every adapted or replaced tensor
// present with a shape that fits, each problem naming its tensor.
func (a *Adapter) CheckBase(arch string, lookup func(name string) ([]int, bool)) error {
	if a.Arch != arch {
		return fmt.Errorf("model: adapter for %q, base model is %q", a.Arch, arch)
	}
	if a.Prompt != nil {
		return a.checkPrompt(lookup) // prompt_file.go
	}
	if a.PrefixK != nil {
		return a.checkPrefix(lookup) // prefix_file.go
	}
	var errs []string
	for _, p := range a.Pairs {
		ne, ok := lookup(p.Base)
		switch {
		case p.Base == "token_embd.weight":
			errs = append(errs, fmt.Sprintf("%q: adapters on the token embeddings are not supported", p.Base))
		case !ok:
			errs = append(errs, fmt.Sprintf("LoRA tensor %q does not exist in the base model (wrong base model?)", p.Base))
		case len(ne) != 2 || ne[0] != p.A.Cols() || ne[1] != p.B.Rows():
			errs = append(errs, fmt.Sprintf("tensor %q: lora_a ne %v and lora_b ne %v do not fit the base's ne %v (wrong base model?)", p.Base, p.A.Shape, p.B.Shape, ne))
		}
	}
	for _, t := range a.Full {
		ne, ok := lookup(t.Name)
		if !ok || !slices.Equal(ne, t.Shape) {
			errs = append(errs, fmt.Sprintf("tensor %q: ne %v, the base's %v (present: %v)", t.Name, t.Shape, ne, ok))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("model: adapter: %s", strings.Join(errs, "; "))
	}
	return nil
}
