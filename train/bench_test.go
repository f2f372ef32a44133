// Reference: ../shared/reference/ANCHORS.md "Training: tokens/s (forward + backward + AdamW), 2 threads, fp32,
// random tokens" (llm.c train_gpt2.c and PyTorch llama2.c-style LLaMA on the same machine).

package train

import (
	"math/rand/v2"
	"testing"
	"time"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// BenchmarkTrainStep times one step (forward, backward, AdamW) of the
// llama2.c-style LLaMA shapes of ANCHORS.md on random tokens, with a pool
// of all cores, and reports tokens per second:
//
//	go test -run XXX -bench 'TrainStep/0.9M' -benchtime 3x ./train/
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range []struct {
		name                string
		V, C, H, F, L, B, T int
	}{
		{"0.9M", 512, 128, 4, 352, 4, 16, 256}, // F as llama2.c: 2/3·4C rounded up to 32
		{"15M", 32000, 288, 6, 768, 6, 8, 256},
		{"124M-T64", 50257, 768, 12, 2048, 12, 4, 64}, // ANCHORS' GPT-2 124M shapes, LLaMA-style
		{"124M-T256", 50257, 768, 12, 2048, 12, 4, 256},
	} {
		b.Run(c.name, func(b *testing.B) {
			m := newLlama(b, 1, 0.02, c.V, c.C, c.H, c.H, c.F, c.L)
			pool := tensor.NewPool(0)
			defer pool.Close()
			opt, err := NewAdamW(m.params(), DefaultAdamW, pool)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(2, 2))
			tokens, targets := make([]int32, c.B*c.T), make([]int32, c.B*c.T)
			for i := range tokens {
				tokens[i], targets[i] = int32(rng.IntN(c.V)), int32(rng.IntN(c.V))
			}
			tp := autograd.NewTape(pool)
			var steps []time.Duration
			last := time.Now()
			for b.Loop() {
				if len(steps) == 0 {
					last = time.Now() // b.Loop reset the timer at its first call
				}
				tp.Reset()
				if err := tp.Backward(m.forward(tp, tokens, targets, c.T), 1); err != nil {
					b.Fatal(err)
				}
				opt.Step(1e-4)
				opt.ZeroGrad()
				now := time.Now()
				steps = append(steps, now.Sub(last))
				last = now
			}
			b.ReportMetric(float64(c.B*c.T*b.N)/b.Elapsed().Seconds(), "tok/s")
			reportSteps(b, steps)
		})
	}
}

// reportSteps adds the first step's seconds and the mean of the others
// ("steady") to a benchmark's metrics: a short fine-tuning run pays the
// first step in full, so tok/s over a few steps hides where it goes.
func reportSteps(b *testing.B, steps []time.Duration) {
	if len(steps) == 0 {
		return
	}
	b.ReportMetric(steps[0].Seconds(), "first-s")
	if len(steps) > 1 {
		var rest time.Duration
		for _, d := range steps[1:] {
			rest += d
		}
		b.ReportMetric(rest.Seconds()/float64(len(steps)-1), "steady-s")
	}
}
