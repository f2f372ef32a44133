// Reference: Hu et al., LoRA §4.1 (the adapted weight W + s·BA); llama.cpp src/llama-adapter.cpp (the
// adapter file's keys, names, shapes and checks).

package model

import (
	"context"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// loraTinyConfig is tinyTrainConfig with widths that whole Q8_0 blocks
// (32) divide, so the base can be quantized.
func loraTinyConfig(t *testing.T, arch string) Config {
	c := tinyTrainConfig(t, arch)
	c.FF = 64
	return c
}

// writeBase writes a random model of c in dt (F32, F16, or Q8_0 through
// the quantizer) and returns its path.
func writeBase(t *testing.T, c Config, dt tensor.DType, tied bool) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "base-f32.gguf")
	typ := dt
	if dt == tensor.Q8_0 {
		typ = tensor.F32
	}
	if err := WriteRandom(path, c, InitOptions{Type: typ, Seed: 3, Std: 0.2, Tied: tied}); err != nil {
		t.Fatal(err)
	}
	if dt != tensor.Q8_0 {
		return path
	}
	q := filepath.Join(dir, "base-q8_0.gguf")
	if _, err := quant.QuantizeFile(context.Background(), path, q, quant.Q8_0, quant.Options{Threads: 1}); err != nil {
		t.Fatal(err)
	}
	return q
}

// randomizeB gives every lora_b random values (they start at zero, which
// would hide a wrong B in any comparison).
// writtenAdapter writes m's adapter file in the test's temporary directory
// and reads it back as run --lora does. The file stays open until the test
// ends: the adapter's tensors are views of it until WithAdapters copies them.
func writtenAdapter(t *testing.T, m *Trainable, name string) (*gguf.File, *Adapter) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "adapter.gguf")
	if err := m.WriteAdapter(path, name); err != nil {
		t.Fatal(err)
	}
	af, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { af.Close() })
	ad, err := AdapterFromGGUF(af)
	if err != nil {
		t.Fatal(err)
	}
	return af, ad
}

func randomizeB(m *Trainable, seed uint64, std float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for _, p := range m.lora.pairs {
		for i := range p.b.Data {
			p.b.Data[i] = float32(rng.NormFloat64() * std)
		}
	}
}

// stateLogits runs tokens through m and returns every position's logits.
func stateLogits(t *testing.T, m *Model, tokens []int32, pool *tensor.Pool) []float32 {
	t.Helper()
	st, err := m.NewState(Options{Ctx: 16, KVF32: true, Pool: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := make([]float32, len(tokens)*m.Vocab)
	if err := st.ForwardAll(tokens, func(i int, l []float32) error { copy(out[i*m.Vocab:], l); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLoRAGradientsFiniteDifferences: through the whole model (frozen Q8_0
// base, adapters on every matrix, dropout on), the gradients of sampled
// lora_a and lora_b elements equal central differences of the loss, and
// the base gets none. Tolerances as in package autograd's op tests.
func TestLoRAGradientsFiniteDifferences(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.Q8_0, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 3, Alpha: 6, Dropout: 0.2, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	randomizeB(m, 5, 0.3)
	pool := tensor.NewPool(2)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	tokens := []int32{5, 0, 36, 17, 17, 2, 9, 30, 11, 3, 4, 5, 6, 7, 8, 9}
	targets := append(append([]int32(nil), tokens[1:]...), 1)
	// The dropout masks are keyed by the batch's tokens: every loss below
	// sees the same masks.
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
	rng := rand.New(rand.NewPCG(1, 2))
	const h = 1e-2
	checked := 0
	for _, p := range m.Params() {
		got := append([]float32(nil), p.Grad...)
		for range 3 {
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
			checked++
		}
	}
	if want := 2 * 7 * c.Layers * 3; checked != want {
		t.Fatalf("checked %d elements, want %d: adapters on every matrix of every layer", checked, want)
	}
}

// TestLoRAGradientIsProjectedFullGradient: with dropout off, the adapters'
// gradients are the gradient of the full weight W' = W + s·B·A projected
// through the adapter: dL/dB = s·(dL/dW')·Aᵀ, dL/dA = s·Bᵀ·(dL/dW').
// dL/dW' comes from an ordinary Trainable holding W' as its weights.
func TestLoRAGradientIsProjectedFullGradient(t *testing.T) {
	c := loraTinyConfig(t, "qwen2")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, false))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	const rank, alpha = 4, 2
	m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: rank, Alpha: alpha, Targets: []string{"q", "o", "down"}, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	randomizeB(m, 9, 0.5)
	merged := filepath.Join(t.TempDir(), "merged.gguf")
	ad, err := m.Adapter("")
	if err != nil {
		t.Fatal(err)
	}
	if err := MergeAdapters(f, []ScaledAdapter{{ad, 1}}, merged, false); err != nil {
		t.Fatal(err)
	}
	mf, err := gguf.Open(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer mf.Close()
	full, err := TrainableFromGGUF(mf)
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	tokens := []int32{1, 2, 3, 30, 31, 32, 4, 4, 5, 6, 7, 8, 0, 0, 9, 10}
	targets := append(append([]int32(nil), tokens[1:]...), 1)
	for _, mm := range []*Trainable{m, full} {
		tp := autograd.NewTape(pool)
		if err := tp.Backward(mm.Loss(tp, tokens, targets, 8), 1); err != nil {
			t.Fatal(err)
		}
	}
	gw := map[string]*autograd.Var{}
	for _, p := range full.Params() {
		gw[p.Name] = p
	}
	s := float64(alpha) / rank
	for _, p := range m.lora.pairs {
		w := gw[p.base]
		R, C := w.Rows(), w.Cols()
		var worst float64
		for i := range R {
			for k := range rank {
				var want float64
				for j := range C {
					want += s * float64(w.Grad[i*C+j]) * float64(p.a.Data[k*C+j])
				}
				got := float64(p.b.Grad[i*rank+k])
				if !testkit.Close(got, want, 1e-5, 1e-3) {
					t.Fatalf("%s: dL/dB[%d,%d] = %g, projected full gradient %g", p.base, i, k, got, want)
				}
				worst = max(worst, math.Abs(got))
			}
		}
		for k := range rank {
			for j := range C {
				var want float64
				for i := range R {
					want += s * float64(p.b.Data[i*rank+k]) * float64(w.Grad[i*C+j])
				}
				if got := float64(p.a.Grad[k*C+j]); !testkit.Close(got, want, 1e-5, 1e-3) {
					t.Fatalf("%s: dL/dA[%d,%d] = %g, projected full gradient %g", p.base, k, j, got, want)
				}
			}
		}
		if worst == 0 {
			t.Fatalf("%s: every dL/dB is zero; the comparison proves nothing", p.base)
		}
	}
}

// TestLoRAMergedEqualsUnmerged: an adapter run unmerged (Model.WithAdapters)
// and merged into the weights (MergeAdapters) give the same logits. On F32
// the merged weights are the same sums, so the bound is float rounding
// (1e-4, as the tape and inference agree). Merged into F16 or Q8_0, the
// merged model holds round(W + δ) where the unmerged one runs round(W) + δ:
// two roundings to the type where the plain base has one, so the bound is
// twice that type's own error on this model (its NMSE against the F32 base
// the same seed draws), itself far below the adapter's effect.
func TestLoRAMergedEqualsUnmerged(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	tokens := []int32{5, 0, 36, 17, 17, 2, 9, 30, 11, 3}
	for _, dt := range []tensor.DType{tensor.F32, tensor.F16, tensor.Q8_0} {
		c := loraTinyConfig(t, "llama")
		base := writeBase(t, c, dt, false)
		f, err := gguf.Open(base)
		if err != nil {
			t.Fatal(err)
		}
		m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 4, Alpha: 8, Seed: 1, Targets: []string{"q", "v", "gate", "down"}})
		if err != nil {
			t.Fatal(err)
		}
		randomizeB(m, 3, 0.3)
		_, ad := writtenAdapter(t, m, "test")
		const scale = 0.7
		merged := filepath.Join(t.TempDir(), "merged.gguf")
		if err := MergeAdapters(f, []ScaledAdapter{{ad, scale}}, merged, true); err != nil {
			t.Fatal(err)
		}
		bm, err := FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		um, err := bm.WithAdapters(ScaledAdapter{ad, scale})
		if err != nil {
			t.Fatal(err)
		}
		mm, err := Open(merged)
		if err != nil {
			t.Fatal(err)
		}
		if got := mm.Blocks[0].Wq.DType; got != dt {
			t.Errorf("%v: merged attn_q is %v", dt, got)
		}
		plain := stateLogits(t, bm, tokens, pool)
		unmerged := stateLogits(t, um, tokens, pool)
		mergedL := stateLogits(t, mm, tokens, pool)
		effect, diff := testkit.NMSE(plain, unmerged), testkit.NMSE(mergedL, unmerged)
		t.Logf("%v: NMSE merged vs unmerged %.3g; adapter's effect %.3g", dt, diff, effect)
		if effect < 1e-3 {
			t.Fatalf("%v: the adapter hardly changes the logits (NMSE %.3g); the test proves nothing", dt, effect)
		}
		switch dt {
		case tensor.F32:
			testkit.CheckClose(t, "F32 merged vs unmerged logits", mergedL, unmerged, 1e-4, 1e-4)
		default:
			ref, err := Open(writeBase(t, c, tensor.F32, false))
			if err != nil {
				t.Fatal(err)
			}
			typeErr := testkit.NMSE(plain, stateLogits(t, ref, tokens, pool))
			ref.Close()
			t.Logf("%v: the type's own NMSE on this model %.3g", dt, typeErr)
			if diff > 2*typeErr || diff > effect/100 {
				t.Errorf("%v: merged logits differ from unmerged by NMSE %.3g (type's error %.3g, adapter's effect %.3g)", dt, diff, typeErr, effect)
			}
		}
		// The base model is unchanged by WithAdapters.
		testkit.CheckClose(t, "base after WithAdapters", stateLogits(t, bm, tokens, pool), plain, 0, 0)
		mm.Close()
		f.Close()
	}
}

// TestAdapterFileRoundTrip: an adapter written and read back has
// llama.cpp's keys, names and shapes and the same values; a file that is
// not an adapter, a lone lora_a, transposed tensors and a base of another
// shape are refused, naming the tensor.
func TestAdapterFileRoundTrip(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.F16, true))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 2, Alpha: 16, Targets: []string{"k", "up"}, TrainEmbeddings: true})
	if err != nil {
		t.Fatal(err)
	}
	randomizeB(m, 4, 1)
	dir := t.TempDir()
	path := filepath.Join(dir, "adapter.gguf")
	if err := m.WriteAdapter(path, "round trip"); err != nil {
		t.Fatal(err)
	}
	af, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer af.Close()
	for key, want := range map[string]string{"general.type": "adapter", "adapter.type": "lora", "general.architecture": "llama"} {
		if got, _ := af.String(key); got != want {
			t.Errorf("%s = %q, want %q", key, got, want)
		}
	}
	if v, ok := af.Lookup("adapter.lora.alpha"); !ok || v.Type != gguf.TypeFloat32 || v.X.(float32) != 16 {
		t.Errorf("adapter.lora.alpha = %+v, want f32 16", v)
	}
	ti, ok := af.Tensor("blk.1.attn_k.weight.lora_a")
	if !ok || ti.Shape[0] != int64(c.Embd) || ti.Shape[1] != 2 {
		t.Fatalf("blk.1.attn_k.weight.lora_a: %+v, want ne [%d, 2]", ti, c.Embd)
	}
	ti, ok = af.Tensor("blk.1.ffn_up.weight.lora_b")
	if !ok || ti.Shape[0] != 2 || ti.Shape[1] != int64(c.FF) {
		t.Fatalf("blk.1.ffn_up.weight.lora_b: %+v, want ne [2, %d]", ti, c.FF)
	}
	ad, err := AdapterFromGGUF(af)
	if err != nil {
		t.Fatal(err)
	}
	if len(ad.Pairs) != 2*c.Layers || len(ad.Full) != 1 || ad.Full[0].Name != "token_embd.weight" || ad.Name != "round trip" {
		t.Fatalf("read %d pairs, full %v, name %q", len(ad.Pairs), len(ad.Full), ad.Name)
	}
	for i, p := range m.lora.pairs {
		q := ad.Pairs[i]
		a, _ := q.A.Float32s()
		b, _ := q.B.Float32s()
		testkit.CheckClose(t, p.a.Name, a, p.a.Data, 0, 0)
		testkit.CheckClose(t, p.b.Name, b, p.b.Data, 0, 0)
		if q.Base != p.base {
			t.Errorf("pair %d is for %q, want %q", i, q.Base, p.base)
		}
	}
	bm, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bm.WithAdapters(ScaledAdapter{ad, 1}); err != nil {
		t.Fatalf("adapter with trained embeddings on its own base: %v", err)
	}

	// Refusals.
	other := loraTinyConfig(t, "llama")
	other.FF = 96
	of, err := gguf.Open(writeBase(t, other, tensor.F32, true))
	if err != nil {
		t.Fatal(err)
	}
	defer of.Close()
	om, err := FromGGUF(of)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := om.WithAdapters(ScaledAdapter{ad, 1}); err == nil || !strings.Contains(err.Error(), "blk.0.ffn_up.weight") {
		t.Errorf("adapter on a base of another shape: %v, want an error naming blk.0.ffn_up.weight", err)
	}
	if _, err := AdapterFromGGUF(f); err == nil || !strings.Contains(err.Error(), "general.type") {
		t.Errorf("a model read as an adapter: %v", err)
	}
	bad := func(name string, edit func(h *gguf.Header)) error {
		h := af.Header()
		edit(h)
		if err := h.Layout(); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name+".gguf")
		byName := map[string]int{}
		for i, ti := range af.Tensors {
			byName[ti.Name] = i
		}
		err := gguf.WriteFile(p, h, func(i int, w io.Writer) error {
			ti := h.Tensors[i]
			data := make([]byte, ti.Size)
			if j, ok := byName[ti.Name]; ok && int64(len(af.TensorData(&af.Tensors[j]))) == ti.Size {
				copy(data, af.TensorData(&af.Tensors[j]))
			}
			_, err := w.Write(data)
			return err
		})
		if err != nil {
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
		_, err = bm.WithAdapters(ScaledAdapter{a, 1})
		return err
	}
	if err := bad("lone", func(h *gguf.Header) { h.Tensors = h.Tensors[1:] }); err == nil || !strings.Contains(err.Error(), "missing one component") {
		t.Errorf("lone lora_b: %v", err)
	}
	if err := bad("transposed", func(h *gguf.Header) {
		h.Tensors[0].Shape[0], h.Tensors[0].Shape[1] = h.Tensors[0].Shape[1], h.Tensors[0].Shape[0]
	}); err == nil || !strings.Contains(err.Error(), "blk.0.attn_k.weight") {
		t.Errorf("transposed lora_a: %v", err)
	}
	if err := bad("wrongname", func(h *gguf.Header) {
		h.Tensors[0].Name = "blk.9.attn_k.weight.lora_a"
		h.Tensors[1].Name = "blk.9.attn_k.weight.lora_b"
	}); err == nil || !strings.Contains(err.Error(), "blk.9.attn_k.weight") {
		t.Errorf("adapter for a layer the base lacks: %v", err)
	}
	if err := bad("alpha", func(h *gguf.Header) { h.Set("adapter.lora.alpha", gguf.NewValue("16")) }); err == nil || !strings.Contains(err.Error(), "adapter.lora.alpha") {
		t.Errorf("string alpha: %v", err)
	}
	os.Remove(path)
}

// TestLoRAGPT2Targets: on GPT-2 the default targets are the matrices it
// has (the fused attn_qkv, attn_output, ffn_up, ffn_down), "gate" named
// explicitly is an error, and merged = unmerged through the fused
// projection and the biases (F32, 1e-4).
func TestLoRAGPT2Targets(t *testing.T) {
	c := loraTinyConfig(t, "gpt2")
	f, err := gguf.Open(writeBase(t, c, tensor.F32, false))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 2, Alpha: 2, Targets: []string{"gate"}}); err == nil || !strings.Contains(err.Error(), "ffn_gate") {
		t.Errorf("gate on gpt2: %v", err)
	}
	m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 2, Alpha: 4, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, p := range m.lora.pairs {
		names = append(names, p.base)
	}
	want := "blk.0.attn_qkv.weight blk.0.attn_output.weight blk.0.ffn_down.weight blk.0.ffn_up.weight blk.1.attn_qkv.weight blk.1.attn_output.weight blk.1.ffn_down.weight blk.1.ffn_up.weight"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("adapted %s\nwant    %s", got, want)
	}
	randomizeB(m, 8, 0.3)
	ad, err := m.Adapter("")
	if err != nil {
		t.Fatal(err)
	}
	merged := filepath.Join(t.TempDir(), "merged.gguf")
	if err := MergeAdapters(f, []ScaledAdapter{{ad, 1}}, merged, true); err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(2)
	defer pool.Close()
	bm, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	um, err := bm.WithAdapters(ScaledAdapter{ad, 1})
	if err != nil {
		t.Fatal(err)
	}
	mm, err := Open(merged)
	if err != nil {
		t.Fatal(err)
	}
	defer mm.Close()
	tokens := []int32{1, 2, 3, 4, 5, 6, 7, 8}
	plain, unmerged := stateLogits(t, bm, tokens, pool), stateLogits(t, um, tokens, pool)
	if testkit.NMSE(plain, unmerged) < 1e-3 {
		t.Fatal("the adapter hardly changes the logits; the test proves nothing")
	}
	testkit.CheckClose(t, "gpt2 merged vs unmerged", stateLogits(t, mm, tokens, pool), unmerged, 1e-4, 1e-4)
}

// TestLoRACheckpointedEqualsPlain: with activation checkpointing the
// layers rerun in the backward, adapters added in place and dropout masks
// drawn again included; the adapters' gradients are the plain tape's bit
// for bit (Q8_0 base, dropout on).
func TestLoRACheckpointedEqualsPlain(t *testing.T) {
	c := loraTinyConfig(t, "llama")
	f, err := gguf.Open(writeBase(t, c, tensor.Q8_0, false))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	pool := tensor.NewPool(2)
	defer pool.Close()
	tokens := []int32{5, 0, 36, 17, 17, 2, 9, 30, 11, 3, 4, 5, 6, 7, 8, 9}
	targets := append(append([]int32(nil), tokens[1:]...), 1)
	var grads [2][][]float32
	for i, ckpt := range []bool{false, true} {
		m, err := LoRATrainableFromGGUF(f, LoRAOptions{Rank: 3, Alpha: 6, Dropout: 0.3, Seed: 4})
		if err != nil {
			t.Fatal(err)
		}
		randomizeB(m, 2, 0.2)
		tp := autograd.NewTape(pool)
		if err := tp.SetMemory(autograd.Memory{Checkpoint: ckpt}); err != nil {
			t.Fatal(err)
		}
		if err := tp.Backward(m.Loss(tp, tokens, targets, 8), 1); err != nil {
			t.Fatal(err)
		}
		for _, p := range m.Params() {
			grads[i] = append(grads[i], append([]float32(nil), p.Grad...))
		}
	}
	for j := range grads[0] {
		testkit.CheckClose(t, "checkpointed gradient", grads[1][j], grads[0][j], 0, 0)
	}
}
