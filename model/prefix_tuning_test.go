// Reference: Li and Liang 2021, "Prefix-Tuning" §4 (per-layer prefix activations, the model frozen); ggml
// tests/test-grad0.c (gradients against central differences); docs/finetune.md (the prefix-tuning file).

package model

import (
	"context"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// randomizePrefix gives every prefix element a random value, as a trained
// prefix far from the base's own activations would have.
func randomizePrefix(m *Trainable, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 5))
	for _, p := range m.Params() {
		for i := range p.Data {
			p.Data[i] = float32(rng.NormFloat64())
		}
	}
}

// TestPrefixTuningGradients: through the whole model over a frozen Q8_0
// base, the gradients of sampled elements of every layer's prefix keys
// and values against central differences, two sequences each opening with
// the virtual tokens; the prefix is the only parameter.
func TestPrefixTuningGradients(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.Q8_0, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	if len(ps) != 2*c.Layers || m.VirtualTokens() != 3 {
		t.Fatalf("%d params, %d virtual tokens; want %d and 3", len(ps), m.VirtualTokens(), 2*c.Layers)
	}
	for i, p := range ps {
		want := PrefixKName(i / 2)
		if i%2 == 1 {
			want = PrefixVName(i / 2)
		}
		if p.Name != want || p.Rows() != 3 || p.Cols() != c.KVDim() {
			t.Fatalf("param %d: %s %v, want %s [3, %d]", i, p.Name, p.Shape, want, c.KVDim())
		}
	}
	randomizePrefix(m, 1)
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tokens := append(virtualThen(3, 5, 0, 36, 17, 2), virtualThen(3, 9, 30, 11, 3, 4)...)
	targets := make([]int32, len(tokens))
	for i := range targets {
		targets[i] = -1
		if i+1 < len(tokens) && tokens[i+1] >= 0 {
			targets[i] = tokens[i+1]
		}
	}
	loss := func(grad bool) float64 {
		tp.Reset()
		l := m.Loss(tp, tokens, targets, 8)
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		if grad {
			if err := tp.Backward(l, 1); err != nil {
				t.Fatal(err)
			}
		}
		return float64(l.Data[0])
	}
	loss(true)
	grads := make([][]float32, len(ps))
	for i, p := range ps {
		grads[i] = append([]float32(nil), p.Grad...)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const h = 1e-2
	for n := range 4 * len(ps) {
		pi := n % len(ps)
		p := ps[pi]
		j := rng.IntN(len(p.Data))
		old := p.Data[j]
		p.Data[j] = old + h
		fp := loss(false)
		p.Data[j] = old - h
		fm := loss(false)
		p.Data[j] = old
		num := (fp - fm) / float64(float32(old+h)-float32(old-h))
		if !testkit.Close(float64(grads[pi][j]), num, 2e-3, 2e-2) {
			t.Fatalf("d/d%s[%d] = %.6g analytic, %.6g numeric", p.Name, j, grads[pi][j], num)
		}
	}
}

// TestPrefixTuningInit: a prefix started from a text's tokens is the base
// model's own keys and values of those tokens at positions 0 … P-1, so the
// model with it scores the real tokens after it exactly as the base scores
// them after the text itself. The sampled init is the same for one seed.
func TestPrefixTuningInit(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	init := []int32{7, 3, 30}
	m, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 3, Init: init})
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	prompt := []int32{1, 22, 5, 9, 30}
	withText := append(append([]int32(nil), init...), prompt...)
	base := append([]float32(nil), m.Logits(tp, withText, len(withText)).Data...)
	tp.Reset()
	got := m.Logits(tp, virtualThen(3, prompt...), len(withText))
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	V := c.Vocab
	testkit.CheckClose(t, "logits after the prefix", got.Data[3*V:], base[3*V:], 1e-6, 1e-6)

	a, _ := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 4, Seed: 9})
	b, _ := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 4, Seed: 9})
	testkit.CheckClose(t, "same seed", a.Params()[3].Data, b.Params()[3].Data, 0, 0)
	for _, o := range []PrefixTuningOptions{{Tokens: 0}, {Tokens: c.CtxTrain}, {Tokens: 2, Init: []int32{int32(c.Vocab)}}} {
		if _, err := PrefixTuningTrainableFromGGUF(f, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestPrefixTuningPackedEqualsAlone: an example behind its prefix scores
// the same packed behind another example (LogitsSegments, positions
// running on through the row) as alone at position 0: the prefix keys are
// rotated where their virtual tokens sit, so only distances count.
func TestPrefixTuningPackedEqualsAlone(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 2, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	randomizePrefix(m, 2)
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	ex := virtualThen(2, 4, 19, 8, 33)
	alone := append([]float32(nil), m.Logits(tp, ex, len(ex)).Data...)
	tp.Reset()
	row := append(virtualThen(2, 12, 6, 1), ex...)
	seg := []int32{0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	got := m.LogitsSegments(tp, row, len(row), seg)
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	testkit.CheckClose(t, "packed", got.Data[5*c.Vocab:], alone, 1e-5, 1e-5)
}

// TestPrefixTuningFileRunsAsTrained: the prefix written to a file, read
// back and run by inference (Model.WithAdapters, State.ForwardAll on the
// virtual ids and the real tokens) gives the tape's logits on the same
// tokens, on a rotary base with grouped-query attention (llama) and a
// fused-qkv base with learned positions (gpt2).
func TestPrefixTuningFileRunsAsTrained(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	for _, arch := range []string{"llama", "gpt2"} {
		c := loraTinyConfig(t, arch)
		f, err := gguf.Open(writeBase(t, c, tensor.F32, arch == "llama"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 4, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		randomizePrefix(m, 3)
		tokens := virtualThen(4, 1, 22, 5, 9, 30, 2)
		tp := autograd.NewTape(pool)
		tp.NoGrad(true)
		want := m.Logits(tp, tokens, len(tokens))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		_, ad := writtenAdapter(t, m, "prefix")
		base, err := FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		am, err := base.WithAdapters(ScaledAdapter{ad, 1})
		if err != nil {
			t.Fatal(err)
		}
		if am.VirtualTokens() != 4 || base.VirtualTokens() != 0 {
			t.Fatalf("virtual tokens %d with the adapter, %d without", am.VirtualTokens(), base.VirtualTokens())
		}
		got := stateLogits(t, am, tokens, pool)
		// The real tokens' rows; the virtual rows' logits mean nothing.
		// Bound as for prompt tuning: other summation orders, and GELU
		// through F16 at inference (gpt2).
		V := c.Vocab
		testkit.CheckClose(t, arch+" logits", got[4*V:], want.Data[4*V:], 2e-3, 2e-3)
		// The prefix changes them: the same tokens without it differ.
		plain := stateLogits(t, base, []int32{1, 22, 5, 9, 30, 2}, pool)
		if testkit.Close(float64(plain[0]), float64(got[4*V]), 1e-3, 1e-3) && testkit.Close(float64(plain[V+3]), float64(got[5*V+3]), 1e-3, 1e-3) {
			t.Errorf("%s: the prefix changes nothing", arch)
		}

		st, _ := am.NewState(Options{Ctx: 16, Pool: pool})
		if _, err := st.Forward([]int32{-5, 3}); err == nil || !strings.Contains(err.Error(), "4 virtual tokens") {
			t.Errorf("%s: id -5 with 4 virtual tokens: %v", arch, err)
		}
		if err := st.Hidden(context.Background(), []int32{3}, func(int, []float32) error { return nil }); err == nil || !strings.Contains(err.Error(), "prefix-tuning adapter") {
			t.Errorf("%s: embeddings with a prefix adapter: %v, want a refusal naming the prefix-tuning adapter", arch, err)
		}
		st.Close()
	}
}

// TestPrefixAdapterFile: the keys and tensors as docs/finetune.md
// describes them, the values round-trip, and each refusal names what is
// wrong.
func TestPrefixAdapterFile(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "prefix.gguf")
	if err := m.WriteAdapter(path, "file"); err != nil {
		t.Fatal(err)
	}
	af, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	for key, want := range map[string]string{"general.type": "adapter", "adapter.type": "prefix_tuning", "general.architecture": "llama", "general.name": "file"} {
		if got, _ := af.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	for key, want := range map[string]uint32{"adapter.prefix_tuning.virtual_tokens": 3, "adapter.prefix_tuning.block_count": uint32(c.Layers)} {
		if v, ok := af.Lookup(key); !ok || v.Type != gguf.TypeUint32 || v.X.(uint32) != want {
			t.Errorf("%s = %+v, want u32 %d", key, v, want)
		}
	}
	if len(af.Tensors) != 2*c.Layers {
		t.Fatalf("%d tensors, want %d", len(af.Tensors), 2*c.Layers)
	}
	for i, ti := range af.Tensors {
		want := PrefixKName(i / 2)
		if i%2 == 1 {
			want = PrefixVName(i / 2)
		}
		if ti.Name != want || ti.DType != tensor.F32 || len(ti.Shape) != 2 || ti.Shape[0] != int64(c.KVDim()) || ti.Shape[1] != 3 {
			t.Errorf("tensor %d: %s %v %v, want %s F32 ne [%d, 3]", i, ti.Name, ti.DType, ti.Shape, want, c.KVDim())
		}
	}
	ad, err := AdapterFromGGUF(af)
	if err != nil {
		t.Fatal(err)
	}
	if ad.Kind() != "prefix_tuning" {
		t.Errorf("kind %q", ad.Kind())
	}
	// Values round-trip as stored; keys are the parameters rotated for
	// positions 0 … P-1, and position 0 is no rotation at all.
	v1, _ := ad.PrefixV[1].Float32s()
	testkit.CheckClose(t, "values", v1, m.Params()[3].Data, 0, 0)
	k0, _ := ad.PrefixK[0].Float32s()
	testkit.CheckClose(t, "keys at position 0", k0[:c.KVDim()], m.Params()[0].Data[:c.KVDim()], 0, 0)
	if testkit.Close(float64(k0[c.KVDim()]), float64(m.Params()[0].Data[c.KVDim()]), 0, 0) && testkit.Close(float64(k0[c.KVDim()+1]), float64(m.Params()[0].Data[c.KVDim()+1]), 0, 0) {
		t.Errorf("keys at position 1 not rotated")
	}
	rewritten := filepath.Join(dir, "again.gguf")
	if err := ad.WriteFile(rewritten); err != nil {
		t.Fatal(err)
	}
	if g, err := gguf.Open(rewritten); err != nil {
		t.Fatal(err)
	} else {
		a2, err := AdapterFromGGUF(g)
		if err != nil {
			t.Fatal(err)
		}
		k2, _ := a2.PrefixK[0].Float32s()
		testkit.CheckClose(t, "rewritten keys", k2, k0, 0, 0)
		g.Close()
	}

	base, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base.WithAdapters(ScaledAdapter{ad, 0.5}); err == nil || !strings.Contains(err.Error(), "scale 1") {
		t.Errorf("scaled prefix: %v", err)
	}
	if _, err := base.WithAdapters(ScaledAdapter{ad, 1}, ScaledAdapter{ad, 1}); err == nil || !strings.Contains(err.Error(), "at most one") {
		t.Errorf("two prefixes: %v", err)
	}
	pm, _ := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 2})
	pa, _ := pm.Adapter("p")
	if _, err := base.WithAdapters(ScaledAdapter{pa, 1}, ScaledAdapter{ad, 1}); err == nil || !strings.Contains(err.Error(), "at most one") {
		t.Errorf("a prompt and a prefix: %v", err)
	}
	if err := MergeAdapters(f, []ScaledAdapter{{ad, 1}}, filepath.Join(dir, "merged.gguf"), true); err == nil || !strings.Contains(err.Error(), "prefix_tuning adapter: it has no weights to merge") {
		t.Errorf("merge of a prefix: %v", err)
	}
	for name, edit := range map[string]func(c *Config){
		"wider":  func(c *Config) { c.KVHeads = 4 },
		"deeper": func(c *Config) { c.Layers = 3 },
	} {
		o := loraTinyConfig(t, "llama")
		edit(&o)
		of, err := gguf.Open(writeBase(t, o, tensor.F32, true))
		if err != nil {
			t.Fatal(err)
		}
		om, err := FromGGUF(of)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := om.WithAdapters(ScaledAdapter{ad, 1}); err == nil || !strings.Contains(err.Error(), "wrong base model?") {
			t.Errorf("prefix on a %s base: %v", name, err)
		}
		of.Close()
	}

	bad := func(name string, edit func(h *gguf.Header)) error {
		h := af.Header()
		edit(h)
		if err := h.Layout(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".gguf")
		if err := gguf.WriteFile(p, h, func(i int, w io.Writer) error {
			_, err := w.Write(make([]byte, h.Tensors[i].Size))
			return err
		}); err != nil {
			t.Fatal(err)
		}
		g, err := gguf.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		a, err := AdapterFromGGUF(g)
		if err != nil {
			return err
		}
		_, err = base.WithAdapters(ScaledAdapter{a, 1})
		return err
	}
	for _, tc := range []struct {
		name, want string
		edit       func(h *gguf.Header)
	}{
		{"arch", `adapter for "qwen2"`, func(h *gguf.Header) { h.Set("general.architecture", gguf.NewValue("qwen2")) }},
		{"missing", "want 4", func(h *gguf.Header) { h.Tensors = h.Tensors[:3] }},
		{"none", "want 4", func(h *gguf.Header) { h.Tensors = nil }},
		{"renamed", `want "blk.0.prefix_v"`, func(h *gguf.Header) { h.Tensors[1].Name = "blk.0.prefix_x" }},
		{"swapped", `want "blk.0.prefix_k"`, func(h *gguf.Header) { h.Tensors[0], h.Tensors[1] = h.Tensors[1], h.Tensors[0] }},
		{"count", "virtual_tokens", func(h *gguf.Header) { h.Set("adapter.prefix_tuning.virtual_tokens", gguf.NewValue(uint32(4))) }},
		{"zero", "positive u32", func(h *gguf.Header) { h.Set("adapter.prefix_tuning.virtual_tokens", gguf.NewValue(uint32(0))) }},
		{"float", "positive u32", func(h *gguf.Header) { h.Set("adapter.prefix_tuning.block_count", gguf.NewValue(float32(2))) }},
		{"nokey", "no adapter.prefix_tuning.virtual_tokens", func(h *gguf.Header) { h.Delete("adapter.prefix_tuning.virtual_tokens") }},
		{"noblocks", "no adapter.prefix_tuning.block_count", func(h *gguf.Header) { h.Delete("adapter.prefix_tuning.block_count") }},
		{"blocks", "want 6", func(h *gguf.Header) { h.Set("adapter.prefix_tuning.block_count", gguf.NewValue(uint32(3))) }},
		{"vector", "want [n_embd_k_gqa, 3]", func(h *gguf.Header) { h.Tensors[2].Shape = []int64{int64(3 * c.KVDim())} }},
		{"ragged", "one shape", func(h *gguf.Header) { h.Tensors[3].Shape = []int64{8, 3} }},
		{"width", "as wide as the base's keys", func(h *gguf.Header) {
			for i := range h.Tensors {
				h.Tensors[i].Shape = []int64{8, 3}
			}
		}},
		{"type", `want "lora", "prompt_tuning" or "prefix_tuning"`, func(h *gguf.Header) { h.Set("adapter.type", gguf.NewValue("p_tuning")) }},
	} {
		if err := bad(tc.name, tc.edit); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v, want an error containing %q", tc.name, err, tc.want)
		}
	}
}

// TestPrefixProjection: with PEFT's reparameterization the parameters are
// the embedding and the two Linears (one per layer for the second); their
// gradients against central differences; the same gradients bit for bit
// with checkpointed blocks, which rerun the projection in the backward;
// and the file, holding only the resulting keys and values, run by
// inference gives the tape's logits.
func TestPrefixProjection(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.Q8_0, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 3, Seed: 2, Projection: 12})
	if err != nil {
		t.Fatal(err)
	}
	ps := m.Params()
	if len(ps) != 3+2*c.Layers || ps[0].Name != "prefix_tuning.embd" || ps[1].Rows() != 12 || ps[3].Rows() != 2*c.KVDim() || m.VirtualTokens() != 3 {
		t.Fatalf("params %v, %d virtual tokens", ps, m.VirtualTokens())
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	tokens := append(virtualThen(3, 5, 0, 36, 17, 2), virtualThen(3, 9, 30, 11, 3, 4)...)
	targets := make([]int32, len(tokens))
	for i := range targets {
		targets[i] = -1
		if i+1 < len(tokens) && tokens[i+1] >= 0 {
			targets[i] = tokens[i+1]
		}
	}
	grads := func(checkpoint bool) ([][]float32, func(bool) float64) {
		tp := autograd.NewTape(pool)
		if err := tp.SetMemory(autograd.Memory{Checkpoint: checkpoint}); err != nil {
			t.Fatal(err)
		}
		loss := func(grad bool) float64 {
			tp.Reset()
			for _, p := range ps {
				clear(p.Grad)
			}
			l := m.Loss(tp, tokens, targets, 8)
			if err := tp.Err(); err != nil {
				t.Fatal(err)
			}
			if grad {
				if err := tp.Backward(l, 1); err != nil {
					t.Fatal(err)
				}
			}
			return float64(l.Data[0])
		}
		loss(true)
		g := make([][]float32, len(ps))
		for i, p := range ps {
			g[i] = append([]float32(nil), p.Grad...)
		}
		return g, loss
	}
	plain, loss := grads(false)
	ckpt, _ := grads(true)
	for i := range ps {
		testkit.CheckClose(t, "checkpointed "+ps[i].Name, ckpt[i], plain[i], 0, 0)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	const h = 1e-2
	for n := range 3 * len(ps) {
		pi := n % len(ps)
		p := ps[pi]
		j := rng.IntN(len(p.Data))
		old := p.Data[j]
		p.Data[j] = old + h
		fp := loss(false)
		p.Data[j] = old - h
		fm := loss(false)
		p.Data[j] = old
		num := (fp - fm) / float64(float32(old+h)-float32(old-h))
		if !testkit.Close(float64(plain[pi][j]), num, 2e-3, 2e-2) {
			t.Fatalf("d/d%s[%d] = %.6g analytic, %.6g numeric", p.Name, j, plain[pi][j], num)
		}
	}

	// The trained projection over an F32 base of the same shape, so that
	// inference and the tape differ by float32 rounding alone.
	f32, err := gguf.Open(writeBase(t, c, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f32.Close()
	if m, err = PrefixTuningTrainableFromGGUF(f32, PrefixTuningOptions{Tokens: 3, Seed: 2, Projection: 12}); err != nil {
		t.Fatal(err)
	}
	for i, p := range m.Params() {
		copy(p.Data, ps[i].Data)
	}
	f = f32
	tp := autograd.NewTape(pool)
	tp.NoGrad(true)
	one := virtualThen(3, 1, 22, 5, 9, 30, 2)
	want := m.Logits(tp, one, len(one))
	if err := tp.Err(); err != nil {
		t.Fatal(err)
	}
	af, ad := writtenAdapter(t, m, "projected")
	if len(af.Tensors) != 2*c.Layers {
		t.Fatalf("the file holds %d tensors, want only the %d keys and values", len(af.Tensors), 2*c.Layers)
	}
	base, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	am, err := base.WithAdapters(ScaledAdapter{ad, 1})
	if err != nil {
		t.Fatal(err)
	}
	got := stateLogits(t, am, one, pool)
	testkit.CheckClose(t, "projected logits", got[3*c.Vocab:], want.Data[3*c.Vocab:], 2e-3, 2e-3)
	if _, err := PrefixTuningTrainableFromGGUF(f, PrefixTuningOptions{Tokens: 2, Projection: -1}); err == nil {
		t.Error("a negative projection accepted")
	}
}
