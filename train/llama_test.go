// Reference: llama2.c run.c forward (the LLaMA block: RMSNorm, RoPE attention with GQA, SwiGLU, tied head as in
// its shared-classifier models) assembled from train/autograd ops; nanoGPT's "overfit one batch" sanity check.

package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// tinyLlama is a LLaMA-style model built from tape ops: the shape of a
// real one (GQA, RoPE, SwiGLU, tied embeddings) at toy size. The tests use
// one layer; the benchmark uses the ANCHORS.md shapes.
type tinyLlama struct {
	V, C, H, KH, D, F int
	emb               *autograd.Var // [V, C] "token_embd.weight", also the LM head (tied)
	blocks            []llamaBlock
	outNorm           *autograd.Var // [C]
}

type llamaBlock struct {
	attnNorm, ffnNorm              *autograd.Var // [C]
	wq, wk, wv, wo, gate, up, down *autograd.Var // [H·D, C] [KH·D, C] [KH·D, C] [C, H·D] [F, C] [F, C] [C, F]
}

// newTinyLlama is the one-layer toy: V 11, C 16, 4 query heads over 2 KV heads of 4, F 24.
func newTinyLlama(t testing.TB, seed uint64, std float64) *tinyLlama {
	return newLlama(t, seed, std, 11, 16, 4, 2, 24, 1)
}

func newLlama(t testing.TB, seed uint64, std float64, V, C, H, KH, F, L int) *tinyLlama {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 1))
	m := &tinyLlama{V: V, C: C, H: H, KH: KH, D: C / H, F: F}
	mk := func(name string, ones bool, shape ...int) *autograd.Var {
		n := 1
		for _, d := range shape {
			n *= d
		}
		x := make([]float32, n)
		for i := range x {
			if ones {
				x[i] = 1
			} else {
				x[i] = float32(std * rng.NormFloat64())
			}
		}
		return mustParam(t, name, x, shape...)
	}
	qd, kvd := m.H*m.D, m.KH*m.D
	m.emb = mk("token_embd.weight", false, m.V, C)
	for l := range L {
		p := func(s string) string { return fmt.Sprintf("blk.%d.%s.weight", l, s) }
		m.blocks = append(m.blocks, llamaBlock{
			attnNorm: mk(p("attn_norm"), true, C),
			wq:       mk(p("attn_q"), false, qd, C),
			wk:       mk(p("attn_k"), false, kvd, C),
			wv:       mk(p("attn_v"), false, kvd, C),
			wo:       mk(p("attn_output"), false, C, qd),
			ffnNorm:  mk(p("ffn_norm"), true, C),
			gate:     mk(p("ffn_gate"), false, m.F, C),
			up:       mk(p("ffn_up"), false, m.F, C),
			down:     mk(p("ffn_down"), false, C, m.F),
		})
	}
	m.outNorm = mk("output_norm.weight", true, C)
	return m
}

func (m *tinyLlama) params() []*autograd.Var {
	ps := []*autograd.Var{m.emb}
	for _, b := range m.blocks {
		ps = append(ps, b.attnNorm, b.wq, b.wk, b.wv, b.wo, b.ffnNorm, b.gate, b.up, b.down)
	}
	return append(ps, m.outNorm)
}

// forward returns the mean next-token loss of B sequences of T tokens.
func (m *tinyLlama) forward(tp *autograd.Tape, tokens, targets []int32, T int) *autograd.Var {
	return tp.CrossEntropy(m.logits(tp, tokens, T), targets, -1)
}

// logits returns the logits [B·T, V] of B sequences of T tokens.
func (m *tinyLlama) logits(tp *autograd.Tape, tokens []int32, T int) *autograd.Var {
	const eps = 1e-5
	rope := autograd.Rope{D: m.D, Dims: m.D, Base: 10000, FreqScale: 1}
	x := tp.Embedding(m.emb, tokens)
	for _, l := range m.blocks {
		h := tp.RMSNorm(x, l.attnNorm, eps)
		q := tp.RoPE(tp.Linear(h, l.wq, nil), T, rope)
		k := tp.RoPE(tp.Linear(h, l.wk, nil), T, rope)
		v := tp.Linear(h, l.wv, nil)
		x = tp.Add(x, tp.Linear(tp.Attention(q, k, v, T, m.H, m.KH, m.D), l.wo, nil))
		h = tp.RMSNorm(x, l.ffnNorm, eps)
		f := tp.SwiGLU(tp.Linear(h, l.gate, nil), tp.Linear(h, l.up, nil))
		x = tp.Add(x, tp.Linear(f, l.down, nil))
	}
	return tp.Linear(tp.RMSNorm(x, m.outNorm, eps), m.emb, nil)
}

// batch is two sequences of T = 8 from a repeating 9-token pattern, with
// next-token targets; one target is masked to exercise the ignore index.
func batch() (tokens, targets []int32, T int) {
	pattern := []int32{1, 5, 2, 9, 3, 7, 4, 10, 6}
	const B, Tn = 2, 8
	for b := range B {
		for t := range Tn {
			tokens = append(tokens, pattern[(b*3+t)%len(pattern)])
			targets = append(targets, pattern[(b*3+t+1)%len(pattern)])
		}
	}
	targets[5] = -1
	return tokens, targets, Tn
}

// TestTinyLlamaGradient checks the whole model's gradient against central
// differences of its float32 loss for three elements of every parameter.
// The loss (≈ ln 11) is rounded to float32, ±1.5e-7; with h = 1e-2 that is
// ±1e-5 in the numeric gradient, and the h² term adds ~1e-5: atol 1e-4 +
// rtol 2e-2 is tight beside the gradients (≈1e-2…1) and any wiring mistake.
func TestTinyLlamaGradient(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	m := newTinyLlama(t, 7, 0.3)
	tokens, targets, T := batch()
	tp := autograd.NewTape(pool)
	loss := func(grad bool) float64 {
		tp.Reset()
		tp.NoGrad(!grad)
		l := m.forward(tp, tokens, targets, T)
		if grad {
			if err := tp.Backward(l, 1); err != nil {
				t.Fatal(err)
			}
		} else if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		return float64(l.Data[0])
	}
	loss(true)
	rng := rand.New(rand.NewPCG(3, 3))
	const h = 1e-2
	for _, p := range m.params() {
		for range 3 {
			j := rng.IntN(len(p.Data))
			old := p.Data[j]
			p.Data[j] = old + h
			fp := loss(false)
			p.Data[j] = old - h
			fm := loss(false)
			p.Data[j] = old
			num := (fp - fm) / float64(float32(old+h)-float32(old-h))
			got := float64(p.Grad[j])
			if math.Abs(got-num) > 1e-4+2e-2*math.Abs(num) {
				t.Errorf("d/d%s[%d] = %.6g analytic, %.6g numeric", p.Name, j, got, num)
			}
		}
	}
}

// trainTiny takes steps AdamW steps on the repeated batch and returns the
// losses.
func trainTiny(t *testing.T, m *tinyLlama, workers, steps int) []float64 {
	t.Helper()
	pool := tensor.NewPool(workers)
	defer pool.Close()
	opt, err := NewAdamW(m.params(), AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.01}, pool)
	if err != nil {
		t.Fatal(err)
	}
	sched := Schedule{MaxLR: 3e-2, MinLR: 3e-3, Warmup: 5, Decay: steps}
	tokens, targets, T := batch()
	tp := autograd.NewTape(pool)
	var losses []float64
	for it := range steps {
		tp.Reset()
		l := m.forward(tp, tokens, targets, T)
		if err := tp.Backward(l, 1); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, float64(l.Data[0]))
		if _, err := ClipGradNorm(m.params(), 1); err != nil {
			t.Fatal(err)
		}
		opt.Step(sched.LR(it))
		opt.ZeroGrad()
	}
	return losses
}

// TestTinyLlamaOverfits: 80 AdamW steps on one repeated batch take the
// loss from ln 11 ≈ 2.4 to below 0.05 (a model that can attend to its
// context memorises a 9-token cycle). Seeded, so the figures are fixed.
func TestTinyLlamaOverfits(t *testing.T) {
	losses := trainTiny(t, newTinyLlama(t, 1, 0.02), 2, 80)
	first, last := losses[0], losses[len(losses)-1]
	t.Logf("loss %.4f → %.4f over %d steps", first, last, len(losses))
	if math.Abs(first-math.Log(11)) > 0.05 {
		t.Errorf("initial loss %.4f, want ≈ ln 11 = %.4f (small random weights)", first, math.Log(11))
	}
	if last > 0.05 {
		t.Errorf("loss after %d steps %.4f, want < 0.05", len(losses), last)
	}
}

// TestTrainingIsDeterministic: the same seed gives bit-identical weights
// after a few steps with 1 worker and with 3.
func TestTrainingIsDeterministic(t *testing.T) {
	a, b := newTinyLlama(t, 5, 0.1), newTinyLlama(t, 5, 0.1)
	la, lb := trainTiny(t, a, 1, 4), trainTiny(t, b, 3, 4)
	for i := range la {
		if la[i] != lb[i] {
			t.Fatalf("step %d: loss %v with 1 worker, %v with 3", i, la[i], lb[i])
		}
	}
	pa, pb := a.params(), b.params()
	for i := range pa {
		for j := range pa[i].Data {
			if math.Float32bits(pa[i].Data[j]) != math.Float32bits(pb[i].Data[j]) {
				t.Fatalf("%s[%d]: %v with 1 worker, %v with 3", pa[i].Name, j, pa[i].Data[j], pb[i].Data[j])
			}
		}
	}
}

// TestAccumulateMatchesFullBatch: two micro-batches of one sequence each,
// accumulated with seed 1/2, give the gradient of the two-sequence batch
// (both halves have the same number of counted targets, so the mean of
// means is the mean). Float32 sums in a different order: atol 1e-6.
func TestAccumulateMatchesFullBatch(t *testing.T) {
	pool := tensor.NewPool(2)
	defer pool.Close()
	m := newTinyLlama(t, 9, 0.3)
	tokens, targets, T := batch()
	targets[5] = 3 // count every target in both halves
	tp := autograd.NewTape(pool)
	full := m.forward(tp, tokens, targets, T)
	if err := tp.Backward(full, 1); err != nil {
		t.Fatal(err)
	}
	fullLoss := float64(full.Data[0]) // read before Reset recycles the buffer
	want := make([][]float32, 0)
	for _, p := range m.params() {
		want = append(want, append([]float32(nil), p.Grad...))
		p.ZeroGrad()
	}
	mean, err := Accumulate(2, func(i int) (*autograd.Tape, *autograd.Var, error) {
		tp.Reset()
		l := m.forward(tp, tokens[i*T:(i+1)*T], targets[i*T:(i+1)*T], T)
		return tp, l, tp.Err()
	})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(mean-fullLoss) > 1e-6 {
		t.Fatalf("mean micro loss %v, full-batch loss %v", mean, fullLoss)
	}
	for i, p := range m.params() {
		for j, g := range p.Grad {
			if math.Abs(float64(g-want[i][j])) > 1e-6 {
				t.Fatalf("%s[%d]: accumulated %v, full batch %v", p.Name, j, g, want[i][j])
			}
		}
	}
}
