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
}

// loraMat is one adapter of one matrix W [R, C], in float32.
type loraMat struct {
	a     []float32 // [r, C] row-major: A's GGUF layout, ne = [C, r]
	b     []float32 // [R, r]: B's GGUF layout, ne = [r, R]
	r     int
	scale float32 // run-time scale · alpha / r
}

// WithAdapters returns a model that runs m's weights with the adapters
// added to their matrices unmerged, each at its scale, several at once
// (in the order given, as llama.cpp applies its list). m is unchanged and
// keeps working without them; the returned model shares m's weights and
// file (Close either one, not both). Pairs are copied to float32 (they are
// small); tensors an adapter replaces whole (trained embeddings) are read
// from its file, which must then stay open. Every adapter is checked
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
	}
	for i, sa := range ads {
		if sa.Adapter == nil {
			return nil, fmt.Errorf("model: adapter %d is nil", i)
		}
		if err := sa.CheckBase(m.Arch, lookup); err != nil {
			return nil, err
		}
		for _, t := range sa.Full {
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
			a, err := p.A.Float32s()
			if err != nil {
				return nil, fmt.Errorf("model: adapter: %w", err)
			}
			b, err := p.B.Float32s()
			if err != nil {
				return nil, fmt.Errorf("model: adapter: %w", err)
			}
			base := byName[p.Base]
			run.byWeight[base] = append(run.byWeight[base], loraMat{a: a, b: b, r: p.Rank(), scale: sa.Adapter.Scale(&p, sa.Scale)})
		}
	}
	c := *m
	c.Weights, c.lora = &w, run
	return &c, nil
}

// addAdapters adds every adapter of w to out = w·x (nb rows): out +=
// scale·B(A x), B(A x) computed in float32 from x as the activations were
// before any rounding for w's dtype, as llama.cpp computes it with F32
// adapter tensors.
func (s *State) addAdapters(w *tensor.Tensor, x []float32, nb int, out []float32) error {
	ms := s.m.lora.byWeight[w]
	if len(ms) == 0 {
		return nil
	}
	C, R := w.Cols(), w.Rows()
	if len(x) < nb*C || len(out) < nb*R {
		return fmt.Errorf("model: lora on %q with %d rows: buffers too short", w.Name, nb)
	}
	delta := make([]float32, nb*R)
	for _, a := range ms {
		u := make([]float32, nb*a.r)
		s.pool.Gemm(false, true, nb, a.r, C, x, C, a.a, C, u, a.r, false)
		s.pool.Gemm(false, true, nb, R, a.r, u, a.r, a.b, a.r, delta, R, false)
		kernel.Scale(delta, a.scale)
		kernel.Add(out[:nb*R], out[:nb*R], delta)
	}
	return nil
}
