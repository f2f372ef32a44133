// Reference: llama.cpp src/llama-graph.cpp (build_lora_mm: res = W·x, then for each adapter
// res += scale·B·(A·x) with scale = adapter_scale·alpha/rank, or adapter_scale when alpha is 0) and
// src/llama-adapter.cpp (the adapter's tensors matched to the base's by name).

package model

import (
	"fmt"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
)

// ScaledAdapter is an adapter and the scale to run it at (llama.cpp's
// --lora-scaled FILE SCALE; --lora FILE is scale 1).
type ScaledAdapter struct {
	*Adapter
	Scale float32
}

// loraRun holds the adapters a model runs with, by the matrix they adapt.
type loraRun struct {
	byWeight map[*tensor.Tensor][]loraMat
	prompt   *tensor.Tensor // F32, ne = [C, P]: the rows of virtual tokens -1 … -P (prompt_infer.go); nil without
	// prefixK, prefixV: a prefix-tuning adapter's keys (rotated) and
	// values per layer, F32, ne = [KVDim, P] (prefix_infer.go); nil without.
	prefixK, prefixV []*tensor.Tensor
}

// loraMat is one adapter of one matrix W [R, C], as F32 tensors that the
// state multiplies as it does F32 weights (in llama.cpp's order).
type loraMat struct {
	a     *tensor.Tensor // ne = [C, r]
	b     *tensor.Tensor // ne = [r, R]
	scale float32        // run-time scale · alpha / r
}

// WithAdapters returns a model that runs m's weights with the adapters
// added to their matrices unmerged, each at its scale, several at once
// (in the order given, as llama.cpp applies its list). m is unchanged and
// keeps working without them; the returned model shares m's weights and
// file (Close either one, not both). The adapters' tensors are copied to
// float32, so their files need not stay open. Every adapter is checked
// against m first: architecture, names and shapes.
func (m *Model) WithAdapters(ads ...ScaledAdapter) (*Model, error) {
	byName := map[string]*tensor.Tensor{}
	m.eachMatrix(func(t *tensor.Tensor) {
		if _, ok := byName[t.Name]; !ok {
			byName[t.Name] = t
		}
	})
	lookup := func(name string) ([]int, bool) {
		t, ok := byName[name]
		if !ok {
			return nil, false
		}
		return t.Shape, true
	}
	w := *m.Weights // replacements go into a copy; the blocks are shared
	run := &loraRun{byWeight: map[*tensor.Tensor][]loraMat{}}
	if m.lora != nil {
		for k, v := range m.lora.byWeight {
			run.byWeight[k] = append([]loraMat(nil), v...)
		}
		run.prompt = m.lora.prompt
		run.prefixK, run.prefixV = m.lora.prefixK, m.lora.prefixV
	}
	for i, sa := range ads {
		if sa.Adapter == nil {
			return nil, fmt.Errorf("model: adapter %d is nil", i)
		}
		if err := sa.CheckBase(m.Arch, lookup); err != nil {
			return nil, err
		}
		if sa.Prompt != nil {
			if err := run.attachPrompt(sa); err != nil { // prompt_infer.go
				return nil, err
			}
			continue
		}
		if sa.PrefixK != nil {
			if err := run.attachPrefix(sa); err != nil { // prefix_infer.go
				return nil, err
			}
			continue
		}
		for _, ft := range sa.Full {
			t, err := f32Copy(ft) // aligned, and independent of the adapter's file
			if err != nil {
				return nil, err
			}
			switch t.Name {
			case "token_embd.weight":
				if w.Output == w.TokEmbd {
					w.Output = t
				}
				w.TokEmbd = t
			case "output.weight":
				w.Output = t
			default:
				return nil, fmt.Errorf("model: adapter: tensor %q is replaced whole, which runs only after `gptgo lora merge`", t.Name)
			}
		}
		for _, p := range sa.Pairs {
			a, err := f32Copy(p.A)
			if err != nil {
				return nil, err
			}
			b, err := f32Copy(p.B)
			if err != nil {
				return nil, err
			}
			base := byName[p.Base]
			run.byWeight[base] = append(run.byWeight[base], loraMat{a: a, b: b, scale: sa.Adapter.Scale(&p, sa.Scale)})
		}
	}
	c := *m
	c.Weights, c.lora = &w, run
	return &c, nil
}

// f32Copy returns t's values as a new F32 tensor of its shape.
func f32Copy(t *tensor.Tensor) (*tensor.Tensor, error) {
	x, err := t.Float32s()
	if err != nil {
		return nil, fmt.Errorf("model: adapter: %w", err)
	}
	return tensor.FromFloat32(t.Name, x, t.Shape...)
}

// addAdapters adds every adapter of w to out = w·x (nb rows): out +=
// scale·B(A x), as llama.cpp's build_lora_mm computes it with F32 adapter
// tensors: A x and then B u are F32 matmuls (matmulBase, in llama.cpp's
// summation order), the product scaled, then added. x is the activations
// as they were before any rounding for w's dtype. Keeping llama.cpp's
// order matters on quantized bases, whose 8-bit activation rounding turns
// a last-bit difference in the adapter's sum into a visible one.
func (s *State) addAdapters(w *tensor.Tensor, x []float32, nb int, out []float32) error {
	ms := s.m.lora.byWeight[w]
	if len(ms) == 0 {
		return nil
	}
	R := w.Rows()
	if len(out) < nb*R {
		return fmt.Errorf("model: lora on %q with %d rows: output too short", w.Name, nb)
	}
	delta := make([]float32, nb*R)
	for _, a := range ms {
		u := make([]float32, nb*a.a.Rows())
		if err := s.matmulBase(a.a, x, nb, u); err != nil {
			return fmt.Errorf("model: lora_a of %q: %w", w.Name, err)
		}
		if err := s.matmulBase(a.b, u, nb, delta); err != nil {
			return fmt.Errorf("model: lora_b of %q: %w", w.Name, err)
		}
		kernel.Scale(delta, a.scale)
		kernel.Add(out[:nb*R], out[:nb*R], delta)
	}
	return nil
}
