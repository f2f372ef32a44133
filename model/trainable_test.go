// Reference: train/agree_test.go (tape forward against State.ForwardAll), here through the exported file.

package model

import (
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// tinyTrainConfig is a two-layer model of arch small enough for a test.
func tinyTrainConfig(t *testing.T, arch string) Config {
	t.Helper()
	c, err := ArchConfig(arch)
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 37, 32, 2, 4, 2, 8, 48, 16
	c.RopeDims = c.HeadDim
	if arch == "gpt2" {
		c.KVHeads = c.Heads
	}
	return c
}

// TestTrainableExportMatchesInference: a few SGD steps on the tape, then an
// F32 export loaded by Open and run by State (F32 KV cache) gives the
// tape's logits. Bound as in train/agree_test.go: 1e-4 for llama and qwen2
// (float32 rounding through two layers, attention summing in another
// order), 2e-3 for gpt2, whose inference GELU rounds through half
// precision as llama.cpp's does. Reading the file back as a Trainable
// gives the trained weights bit for bit.
func TestTrainableExportMatchesInference(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		c := tinyTrainConfig(t, arch)
		m, err := NewRandomTrainable(c, InitOptions{Seed: 7, Std: 0.2, Tied: arch == "llama"})
		if err != nil {
			t.Fatal(err)
		}
		pool := tensor.NewPool(2)
		tp := autograd.NewTape(pool)
		tokens := []int32{5, 0, 36, 17, 17, 2, 9, 30, 11, 3, 4, 5, 6, 7, 8, 9}
		targets := append(append([]int32(nil), tokens[1:]...), 1)
		var first, last float32
		for step := range 5 {
			tp.Reset()
			loss := m.Loss(tp, tokens, targets, 8)
			if err := tp.Backward(loss, 1); err != nil {
				t.Fatal(err)
			}
			if step == 0 {
				first = loss.Data[0]
			}
			last = loss.Data[0]
			for _, p := range m.Params() {
				for i, g := range p.Grad {
					p.Data[i] -= 0.05 * g
				}
				p.ZeroGrad()
			}
		}
		if !(last < first) {
			t.Errorf("%s: loss went from %g to %g", arch, first, last)
		}

		path := filepath.Join(t.TempDir(), arch+".gguf")
		kv := []gguf.KV{{Key: "tokenizer.ggml.model", Value: gguf.NewValue("gpt2")}}
		if err := m.WriteGGUF(path, kv, tensor.F32, "tiny trained"); err != nil {
			t.Fatal(err)
		}
		im, err := Open(path)
		if err != nil {
			t.Fatal(err)
		}
		if im.Config != c {
			t.Errorf("%s: config read back %+v, want %+v", arch, im.Config, c)
		}
		seq := tokens[:9]
		st, err := im.NewState(Options{Ctx: 16, KVF32: true, Pool: pool})
		if err != nil {
			t.Fatal(err)
		}
		want := make([]float32, len(seq)*c.Vocab)
		if err := st.ForwardAll(seq, func(i int, l []float32) error { copy(want[i*c.Vocab:], l); return nil }); err != nil {
			t.Fatal(err)
		}
		st.Close()
		tp.NoGrad(true)
		tp.Reset()
		got := m.Logits(tp, seq, len(seq))
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		tp.NoGrad(false)
		var worst float64
		for i := range want {
			worst = max(worst, math.Abs(float64(got.Data[i]-want[i])))
		}
		bound := 1e-4
		if arch == "gpt2" {
			bound = 2e-3
		}
		t.Logf("%s: loss %.4f → %.4f; largest logit difference after export %.3g", arch, first, last, worst)
		if worst > bound {
			t.Errorf("%s: exported model's logits differ from the tape's by %.3g", arch, worst)
		}

		back, err := TrainableFromGGUF(im.File())
		if err != nil {
			t.Fatal(err)
		}
		if back.Tied != m.Tied || len(back.Params()) != len(m.Params()) {
			t.Fatalf("%s: read back tied %v with %d params, want %v with %d", arch, back.Tied, len(back.Params()), m.Tied, len(m.Params()))
		}
		for i, p := range back.Params() {
			q := m.Params()[i]
			for j := range p.Data {
				if math.Float32bits(p.Data[j]) != math.Float32bits(q.Data[j]) {
					t.Fatalf("%s: %s[%d] read back as %g, written %g", arch, p.Name, j, p.Data[j], q.Data[j])
				}
			}
		}
		im.Close()

		f16 := filepath.Join(t.TempDir(), arch+"-f16.gguf")
		if err := m.WriteGGUF(f16, nil, tensor.F16, ""); err != nil {
			t.Fatal(err)
		}
		hm, err := Open(f16)
		if err != nil {
			t.Fatal(err)
		}
		if hm.TokEmbd.DType != tensor.F16 {
			t.Errorf("%s: F16 export holds %v embeddings", arch, hm.TokEmbd.DType)
		}
		hm.Close()
		pool.Close()
	}
}

// TestTrainableErrors: missing or misshapen tensors are listed together,
// and a bad sequence length is the tape's error, not a panic.
func TestTrainableErrors(t *testing.T) {
	c := tinyTrainConfig(t, "llama")
	src, err := RandomSource(c, InitOptions{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	holey := func(name string) (*tensor.Tensor, bool, error) {
		if name == "blk.1.attn_k.weight" || name == "output.weight" {
			return nil, false, nil
		}
		return src(name)
	}
	_, err = NewTrainable(c, false, holey)
	if err == nil || !strings.Contains(err.Error(), "blk.1.attn_k.weight: missing") || !strings.Contains(err.Error(), "output.weight: missing") {
		t.Errorf("missing tensors: %v", err)
	}
	if _, err := NewRandomTrainable(tinyTrainConfig(t, "gpt2"), InitOptions{Tied: true}); err == nil {
		t.Error("a tied gpt2 was accepted")
	}
	m, err := NewRandomTrainable(c, InitOptions{Seed: 1, Tied: true})
	if err != nil {
		t.Fatal(err)
	}
	pool := tensor.NewPool(1)
	defer pool.Close()
	tp := autograd.NewTape(pool)
	m.Loss(tp, []int32{1, 2, 3}, []int32{2, 3, 4}, 2)
	if tp.Err() == nil {
		t.Error("3 tokens in sequences of 2 gave no error")
	}
}
