// Reference: Hu et al., LoRA §4.2 (optimizer state only for the adapters); Dettmers et al., QLoRA §3 (the
// frozen base kept quantized).

package train

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// BenchmarkLoRAStep times one training step (forward, backward, AdamW) of
// full fine-tuning against LoRA (rank 16 on every block matrix) over an
// F32 and a Q8_0 base, on the 15M llama2.c shape of ANCHORS.md with B = 4,
// T = 256 and random tokens, and reports tokens/s and the bytes the weights
// and the optimizer hold ("state-MB": the base as stored, plus 16 bytes per
// trained value for its float32 master copy or adapter, gradient and two
// moments). A first step outside the timing allocates the tape's buffers,
// so B/op is what a step allocates once training runs:
//
//	go test -run XXX -bench LoRAStep -benchtime 3x ./train/
func BenchmarkLoRAStep(b *testing.B) {
	const V, C, H, F, L, B, T = 32000, 288, 6, 768, 6, 4, 256
	c, err := model.ArchConfig("llama")
	if err != nil {
		b.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = V, C, L, H, H, C/H, F, T
	c.RopeDims = c.HeadDim
	dir := b.TempDir()
	f32 := filepath.Join(dir, "base.gguf")
	if err := model.WriteRandom(f32, c, model.InitOptions{Type: tensor.F32, Seed: 1, Std: 0.02}); err != nil {
		b.Fatal(err)
	}
	q8 := filepath.Join(dir, "base-q8_0.gguf")
	if _, err := quant.QuantizeFile(context.Background(), f32, q8, quant.Q8_0, quant.Options{}); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	tokens, targets := make([]int32, B*T), make([]int32, B*T)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(V)), int32(rng.IntN(V))
	}
	for _, run := range []struct {
		name string
		base string
		lora bool
	}{{"full-F32", f32, false}, {"lora-r16-F32", f32, true}, {"lora-r16-Q8_0", q8, true}} {
		b.Run(run.name, func(b *testing.B) {
			f, err := gguf.Open(run.base)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			var m *model.Trainable
			var stored int64
			if run.lora {
				m, err = model.LoRATrainableFromGGUF(f, model.LoRAOptions{Rank: 16, Alpha: 32, Dropout: 0.05})
				for _, ti := range f.Tensors {
					stored += ti.Size
				}
			} else {
				m, err = model.TrainableFromGGUF(f)
			}
			if err != nil {
				b.Fatal(err)
			}
			pool := tensor.NewPool(0)
			defer pool.Close()
			opt, err := NewAdamW(m.Params(), DefaultAdamW, pool)
			if err != nil {
				b.Fatal(err)
			}
			var trained int64
			for _, p := range m.Params() {
				trained += int64(len(p.Data))
			}
			tp := autograd.NewTape(pool)
			step := func() {
				tp.Reset()
				if err := tp.Backward(m.Loss(tp, tokens, targets, T), 1); err != nil {
					b.Fatal(err)
				}
				opt.Step(1e-4)
				opt.ZeroGrad()
			}
			step() // the tape's buffers are allocated once, here, outside the timing
			b.ReportAllocs()
			for b.Loop() {
				step()
			}
			b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(float64(stored+16*trained)/1e6, "state-MB")
			b.ReportMetric(float64(trained), "trained-params")
		})
	}
}
