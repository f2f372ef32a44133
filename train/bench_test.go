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
// of all cores, and reports tokens per second over all steps, the first
// step's seconds (first-s, with its minor page faults and system seconds)
// and the mean of the others (steady-s). Run it with a few steps, the
// first included, as a short fine-tuning run pays it:
//
//	go test -run XXX -bench 'TrainStep/0.9M' -benchtime 3x ./train/
func BenchmarkTrainStep(b *testing.B) {
	for _, c := range benchShapes {
		b.Run(c.name, func(b *testing.B) {
			m, pool, tokens, targets := c.setup(b)
			defer pool.Close()
			tp := autograd.NewTape(pool)
			var st stepTimes
			var opt *AdamW
			for b.Loop() {
				st.begin()
				if opt == nil {
					// In the first step, as PyTorch makes its optimizer
					// state there: first-s includes mapping it.
					var err error
					if opt, err = NewAdamW(m.params(), DefaultAdamW, pool); err != nil {
						b.Fatal(err)
					}
				}
				tp.Reset()
				if err := tp.Backward(m.forward(tp, tokens, targets, c.T), 1); err != nil {
					b.Fatal(err)
				}
				opt.Step(1e-4)
				opt.ZeroGrad()
				st.end()
			}
			b.ReportMetric(float64(c.B*c.T*b.N)/b.Elapsed().Seconds(), "tok/s")
			st.report(b)
		})
	}
}

// benchShapes are ANCHORS.md's training shapes, LLaMA-style: vocabulary,
// width, heads, FFN width, layers, batch and sequence length.
var benchShapes = []benchShape{
	{"0.9M", 512, 128, 4, 352, 4, 16, 256}, // F as llama2.c: 2/3·4C rounded up to 32
	{"15M", 32000, 288, 6, 768, 6, 8, 256},
	{"124M-T64", 50257, 768, 12, 2048, 12, 4, 64}, // ANCHORS' GPT-2 124M shapes, LLaMA-style
	{"124M-T256", 50257, 768, 12, 2048, 12, 4, 256},
}

type benchShape struct {
	name                string
	V, C, H, F, L, B, T int
}

// setup makes the shape's model, a pool of all cores and one batch of
// random tokens and targets.
func (c benchShape) setup(b *testing.B) (m *tinyLlama, pool *tensor.Pool, tokens, targets []int32) {
	m = newLlama(b, 1, 0.02, c.V, c.C, c.H, c.H, c.F, c.L)
	pool = tensor.NewPool(0)
	rng := rand.New(rand.NewPCG(2, 2))
	tokens, targets = make([]int32, c.B*c.T), make([]int32, c.B*c.T)
	for i := range tokens {
		tokens[i], targets[i] = int32(rng.IntN(c.V)), int32(rng.IntN(c.V))
	}
	return m, pool, tokens, targets
}

// stepTimes records each step's wall and CPU seconds, and the first
// step's page faults and system seconds. A short fine-tuning run pays the
// first step in full, so tok/s over a few steps hides where it goes.
type stepTimes struct {
	wall, cpu []float64
	faults    int64
	sys       float64
	t0        time.Time
	cpu0      float64
}

func (s *stepTimes) begin() {
	s.t0 = time.Now()
	var f int64
	var sys float64
	f, sys, s.cpu0 = usage()
	if len(s.wall) == 0 {
		s.faults, s.sys = f, sys
	}
}

func (s *stepTimes) end() {
	s.wall = append(s.wall, time.Since(s.t0).Seconds())
	f, sys, cpu := usage()
	s.cpu = append(s.cpu, cpu-s.cpu0)
	if len(s.wall) == 1 {
		s.faults, s.sys = f-s.faults, sys-s.sys
	}
}

// report adds first-s and first-cpu-s (the first step), steady-s and
// steady-cpu-s (the mean of the others), first-faults and first-sys-s.
func (s *stepTimes) report(b *testing.B) {
	if len(s.wall) == 0 {
		return
	}
	b.ReportMetric(s.wall[0], "first-s")
	b.ReportMetric(s.cpu[0], "first-cpu-s")
	b.ReportMetric(float64(s.faults), "first-faults")
	b.ReportMetric(s.sys, "first-sys-s")
	if n := len(s.wall) - 1; n > 0 {
		var w, c float64
		for i := 1; i <= n; i++ {
			w, c = w+s.wall[i], c+s.cpu[i]
		}
		b.ReportMetric(w/float64(n), "steady-s")
		b.ReportMetric(c/float64(n), "steady-cpu-s")
	}
}
