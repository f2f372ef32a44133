// Reference: Lester et al. 2021 §2 (the prompt prepended, the model frozen); ggml tests/test-grad0.c
// (gradients against central differences); docs/finetune.md (the prompt-tuning file).

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

// virtualThen returns -1 … -P followed by tokens.
func virtualThen(P int, tokens ...int32) []int32 {
	out := make([]int32, 0, P+len(tokens))
	for k := range P {
		out = append(out, int32(-k-1))
	}
	return append(out, tokens...)
}

// TestPromptTuningGradients: through the whole model over a frozen Q8_0
// base, the table's gradient against central differences at sampled
// elements, two sequences each opening with the virtual tokens; the table
// is the only parameter.
func TestPromptTuningGradients(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.Q8_0, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 3, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	if ps := m.Params(); len(ps) != 1 || ps[0].Name != PromptTuningName || ps[0].Rows() != 3 || ps[0].Cols() != c.Embd || m.VirtualTokens() != 3 {
		t.Fatalf("params %v, want only %s [3, %d]", ps, PromptTuningName, c.Embd)
	}
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
	p := m.Params()[0]
	got := append([]float32(nil), p.Grad...)
	rng := rand.New(rand.NewPCG(1, 2))
	const h = 1e-2
	for range 12 {
		j := rng.IntN(len(p.Data))
		old := p.Data[j]
		p.Data[j] = old + h
		fp := loss(false)
		p.Data[j] = old - h
		fm := loss(false)
		p.Data[j] = old
		num := (fp - fm) / float64(float32(old+h)-float32(old-h))
		if !testkit.Close(float64(got[j]), num, 2e-3, 2e-2) {
			t.Fatalf("d/d%s[%d] = %.6g analytic, %.6g numeric", p.Name, j, got[j], num)
		}
	}
}

// TestPromptTuningInit: a text init copies the embeddings of its ids,
// repeated to P; the sampled init copies rows of the vocabulary, the same
// for the same seed.
func TestPromptTuningInit(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	emb, _, _ := GGUFSource(f)("token_embd.weight")
	rows, _ := emb.Float32s()
	C := c.Embd
	m, err := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 5, Init: []int32{7, 3}})
	if err != nil {
		t.Fatal(err)
	}
	for k, id := range []int{7, 3, 7, 3, 7} {
		testkit.CheckClose(t, "text init", m.Params()[0].Data[k*C:(k+1)*C], rows[id*C:(id+1)*C], 0, 0)
	}
	a, _ := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 4, Seed: 9})
	b, _ := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 4, Seed: 9})
	testkit.CheckClose(t, "same seed", a.Params()[0].Data, b.Params()[0].Data, 0, 0)
	for k := range 4 {
		row, found := a.Params()[0].Data[k*C:(k+1)*C], false
		for id := range c.Vocab {
			found = found || testkit.Close(float64(row[0]), float64(rows[id*C]), 0, 0) && testkit.Close(float64(row[C-1]), float64(rows[id*C+C-1]), 0, 0)
		}
		if !found {
			t.Fatalf("sampled row %d is no vocabulary row", k)
		}
	}
	for _, o := range []PromptTuningOptions{{Tokens: 0}, {Tokens: c.CtxTrain}, {Tokens: 2, Init: []int32{int32(c.Vocab)}}} {
		if _, err := PromptTuningTrainableFromGGUF(f, o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

// TestPromptTuningFileRunsAsTrained: the prompt written to a file, read
// back and run by inference (Model.WithAdapters, State.ForwardAll on the
// virtual ids and the real tokens) gives the tape's logits on the same
// tokens, on a base trained with rotary (llama) and learned positions
// (gpt2).
func TestPromptTuningFileRunsAsTrained(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	for _, arch := range []string{"llama", "gpt2"} {
		c := loraTinyConfig(t, arch)
		f, err := gguf.Open(writeBase(t, c, tensor.F32, arch == "llama"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		m, err := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 4, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		rng := rand.New(rand.NewPCG(3, 4))
		for i := range m.Params()[0].Data { // a trained prompt, far from any vocabulary row
			m.Params()[0].Data[i] = float32(rng.NormFloat64())
		}
		tokens := virtualThen(4, 1, 22, 5, 9, 30, 2)
		tp := autograd.NewTape(pool)
		tp.NoGrad(true)
		want := m.Logits(tp, tokens, len(tokens))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		_, ad := writtenAdapter(t, m, "pt")
		base, err := FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := base.NewState(Options{Ctx: 16, Pool: pool}); err != nil {
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
		// F32 throughout; the sums run in other orders (tinyBLAS's, the
		// tape's), and GELU rounds through F16 at inference (gpt2).
		testkit.CheckClose(t, arch+" logits", got, want.Data, 2e-3, 2e-3)

		// Without the adapter a virtual id is no token.
		st, _ := base.NewState(Options{Ctx: 16, Pool: pool})
		if _, err := st.Forward([]int32{-1, 3}); err == nil || !strings.Contains(err.Error(), "outside the vocabulary") {
			t.Errorf("%s: virtual id without an adapter: %v", arch, err)
		}
		st.Close()
		st, _ = am.NewState(Options{Ctx: 16, Pool: pool})
		if _, err := st.Forward([]int32{-5, 3}); err == nil || !strings.Contains(err.Error(), "4 virtual tokens") {
			t.Errorf("%s: id -5 with 4 virtual tokens: %v", arch, err)
		}
		if err := st.Hidden(context.Background(), []int32{3}, func(int, []float32) error { return nil }); err == nil || !strings.Contains(err.Error(), "prompt-tuning adapter") {
			t.Errorf("%s: embeddings with a prompt adapter: %v", arch, err)
		}
		st.Close()
	}
}

// TestPromptAdapterFile: the keys and the tensor as docs/finetune.md
// describes them, and each refusal naming what is wrong.
func TestPromptAdapterFile(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := PromptTuningTrainableFromGGUF(f, PromptTuningOptions{Tokens: 3})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "prompt.gguf")
	if err := m.WriteAdapter(path, "file"); err != nil {
		t.Fatal(err)
	}
	af, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	for key, want := range map[string]string{"general.type": "adapter", "adapter.type": "prompt_tuning", "general.architecture": "llama", "general.name": "file"} {
		if got, _ := af.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if v, ok := af.Lookup("adapter.prompt_tuning.virtual_tokens"); !ok || v.Type != gguf.TypeUint32 || v.X.(uint32) != 3 {
		t.Errorf("adapter.prompt_tuning.virtual_tokens = %+v, want u32 3", v)
	}
	if ti, ok := af.Tensor(PromptTuningName); !ok || len(af.Tensors) != 1 || ti.DType != tensor.F32 || ti.Shape[0] != int64(c.Embd) || ti.Shape[1] != 3 {
		t.Fatalf("tensors %+v, want only %s F32 ne [%d, 3]", af.Tensors, PromptTuningName, c.Embd)
	}
	ad, err := AdapterFromGGUF(af)
	if err != nil {
		t.Fatal(err)
	}
	x, _ := ad.Prompt.Float32s()
	testkit.CheckClose(t, "prompt", x, m.Params()[0].Data, 0, 0)
	base, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := base.WithAdapters(ScaledAdapter{ad, 0.5}); err == nil || !strings.Contains(err.Error(), "scale 1") {
		t.Errorf("scaled prompt: %v", err)
	}
	if _, err := base.WithAdapters(ScaledAdapter{ad, 1}, ScaledAdapter{ad, 1}); err == nil || !strings.Contains(err.Error(), "at most one") {
		t.Errorf("two prompts: %v", err)
	}
	if err := MergeAdapters(f, []ScaledAdapter{{ad, 1}}, filepath.Join(dir, "merged.gguf"), true); err == nil || !strings.Contains(err.Error(), "no weights to merge") {
		t.Errorf("merge of a prompt: %v", err)
	}
	wide := loraTinyConfig(t, "llama")
	wide.Embd, wide.HeadDim, wide.RopeDims = 64, 16, 16
	wf, err := gguf.Open(writeBase(t, wide, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer wf.Close()
	wm, err := FromGGUF(wf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := wm.WithAdapters(ScaledAdapter{ad, 1}); err == nil || !strings.Contains(err.Error(), "as wide as the base's embeddings") {
		t.Errorf("prompt on a wider base: %v", err)
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
	for _, c := range []struct {
		name, want string
		edit       func(h *gguf.Header)
	}{
		{"arch", `adapter for "qwen2"`, func(h *gguf.Header) { h.Set("general.architecture", gguf.NewValue("qwen2")) }},
		{"missing", "want exactly", func(h *gguf.Header) { h.Tensors = nil }},
		{"renamed", "want exactly", func(h *gguf.Header) { h.Tensors[0].Name = "prompt.embd" }},
		{"extra", "want exactly", func(h *gguf.Header) {
			h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: "x", Shape: []int64{4}, DType: tensor.F32})
		}},
		{"count", "virtual_tokens", func(h *gguf.Header) { h.Set("adapter.prompt_tuning.virtual_tokens", gguf.NewValue(uint32(4))) }},
		{"zero", "positive u32", func(h *gguf.Header) { h.Set("adapter.prompt_tuning.virtual_tokens", gguf.NewValue(uint32(0))) }},
		{"nokey", "no adapter.prompt_tuning.virtual_tokens", func(h *gguf.Header) { h.Delete("adapter.prompt_tuning.virtual_tokens") }},
		{"vector", "want [n_embd, 3]", func(h *gguf.Header) { h.Tensors[0].Shape = []int64{int64(3 * c.Embd)} }},
		{"width", "as wide as the base's embeddings", func(h *gguf.Header) { h.Tensors[0].Shape = []int64{16, 3} }},
		{"type", `want "lora", "prompt_tuning" or "prefix_tuning"`, func(h *gguf.Header) { h.Set("adapter.type", gguf.NewValue("p_tuning")) }},
	} {
		if err := bad(c.name, c.edit); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error containing %q", c.name, err, c.want)
		}
	}
}
