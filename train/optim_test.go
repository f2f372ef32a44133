// Reference: nanoGPT train.py get_lr; PyTorch AdamW and clip_grad_norm_ semantics, worked by hand below.

package train

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

func mustParam(t testing.TB, name string, data []float32, shape ...int) *autograd.Var {
	t.Helper()
	p, err := autograd.NewParam(name, data, shape...)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAdamWDecayFlags: one step from zero moments moves each element by
// lr·sign(g) (m̂ = g, v̂ = g²), and only decayed parameters shrink by 1 − lr·wd.
func TestAdamWDecayFlags(t *testing.T) {
	w := mustParam(t, "blk.0.ffn_up.weight", []float32{1, -1}, 1, 2) // decayed
	n := mustParam(t, "blk.0.ffn_norm.weight", []float32{1, -1}, 2)  // 1-D: no decay
	copy(w.Grad, []float32{0.3, -0.2})
	copy(n.Grad, []float32{0.3, -0.2})
	pool := tensor.NewPool(2)
	defer pool.Close()
	opt, err := NewAdamW([]*autograd.Var{w, n}, AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.5}, pool)
	if err != nil {
		t.Fatal(err)
	}
	opt.Step(0.1)
	testkit.CheckClose(t, "decayed", w.Data, []float32{1*0.95 - 0.1, -1*0.95 + 0.1}, 1e-6, 0)
	testkit.CheckClose(t, "not decayed", n.Data, []float32{1 - 0.1, -1 + 0.1}, 1e-6, 0)
	opt.ZeroGrad()
	if w.Grad[0] != 0 || n.Grad[1] != 0 {
		t.Fatal("ZeroGrad left gradients")
	}
	if _, err := NewAdamW([]*autograd.Var{w, w}, DefaultAdamW, nil); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Fatalf("a parameter listed twice: %v", err)
	}
	if _, err := NewAdamW(nil, AdamWConfig{Beta1: 1, Beta2: 0.9, Eps: 1e-8}, nil); err == nil {
		t.Fatal("β1 = 1 accepted")
	}
}

func TestSchedule(t *testing.T) {
	s := Schedule{MaxLR: 6e-4, MinLR: 6e-5, Warmup: 10, Decay: 110}
	for _, c := range []struct {
		it   int
		want float64
	}{
		{0, 6e-4 * 1 / 11},  // warmup starts above zero
		{9, 6e-4 * 10 / 11}, // last warmup step
		{10, 6e-4},          // cosine at ratio 0
		{60, 6e-5 + 0.5*(6e-4-6e-5)},
		{35, 6e-5 + 0.5*(1+math.Cos(math.Pi/4))*(6e-4-6e-5)},
		{110, 6e-5}, // ratio 1
		{500, 6e-5}, // after the decay
	} {
		if got := s.LR(c.it); !testkit.Close(got, c.want, 1e-15, 1e-12) {
			t.Errorf("LR(%d) = %v, want %v", c.it, got, c.want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	a := mustParam(t, "a", make([]float32, 2), 2)
	b := mustParam(t, "b", make([]float32, 1), 1)
	copy(a.Grad, []float32{3, 0})
	b.Grad[0] = 4 // global norm 5
	ps := []*autograd.Var{a, b}
	norm, err := ClipGradNorm(ps, 10)
	if err != nil || norm != 5 || a.Grad[0] != 3 {
		t.Fatalf("under the limit: norm %v err %v grads %v %v", norm, err, a.Grad, b.Grad)
	}
	norm, err = ClipGradNorm(ps, 1)
	if err != nil || norm != 5 {
		t.Fatalf("norm %v err %v", norm, err)
	}
	coef := 1 / (5 + 1e-6)
	testkit.CheckClose(t, "clipped a", a.Grad, []float32{float32(3 * coef), 0}, 1e-7, 0)
	testkit.CheckClose(t, "clipped b", b.Grad, []float32{float32(4 * coef)}, 1e-7, 0)
	if n := GradNorm(ps); !testkit.Close(n, 1, 1e-6, 0) {
		t.Fatalf("norm after clipping %v, want 1", n)
	}
	b.Grad[0] = float32(math.Inf(1))
	if _, err := ClipGradNorm(ps, 1); err == nil || !strings.Contains(err.Error(), "diverged") {
		t.Fatalf("infinite gradient: %v", err)
	}
}

// TestAdamWParallelNormMatchesSerial: the optimizer's gradient norm and
// clipping, summed chunk by chunk across 1 and 3 workers, give the bits of
// the serial GradNorm and ClipGradNorm, over parameters whose sizes cut
// the norm's chunks mid-parameter (160k elements: three chunks); and
// ZeroGrad clears every gradient, also one a caller replaced.
func TestAdamWParallelNormMatchesSerial(t *testing.T) {
	for _, workers := range []int{1, 3} {
		rng := rand.New(rand.NewPCG(3, 0))
		mk := func(name string, shape ...int) *autograd.Var {
			n := 1
			for _, d := range shape {
				n *= d
			}
			return mustParam(t, name, make([]float32, n), shape...)
		}
		params := []*autograd.Var{mk("a.weight", 300, 170), mk("b", 7), mk("c.weight", 400, 271)}
		pool := tensor.NewPool(workers)
		opt, err := NewAdamW(params, DefaultAdamW, pool)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range params {
			for i := range p.Grad {
				p.Grad[i] = float32(rng.NormFloat64() * 1e-2)
			}
		}
		if got, want := opt.GradNorm(), GradNorm(params); math.Float64bits(got) != math.Float64bits(want) {
			t.Fatalf("%d workers: norm %v, serial %v", workers, got, want)
		}
		saved := make([][]float32, len(params))
		for i, p := range params {
			saved[i] = append([]float32(nil), p.Grad...)
		}
		got, err1 := opt.ClipGradNorm(1)
		for i, p := range params {
			p.Grad, saved[i] = saved[i], p.Grad // the serial clip on the original values, on replaced slices
		}
		want, err2 := ClipGradNorm(params, 1)
		if err1 != nil || err2 != nil || got != want || got <= 1 {
			t.Fatalf("%d workers: clip norm %v %v, serial %v %v", workers, got, err1, want, err2)
		}
		for i, p := range params {
			for j := range p.Grad {
				if math.Float32bits(p.Grad[j]) != math.Float32bits(saved[i][j]) {
					t.Fatalf("%d workers: %s[%d] clipped to %v, serial %v", workers, p.Name, j, saved[i][j], p.Grad[j])
				}
			}
		}
		opt.ZeroGrad() // the Grads are replaced slices now: each is cleared
		for _, p := range params {
			for j, g := range p.Grad {
				if g != 0 {
					t.Fatalf("%s[%d] = %v after ZeroGrad", p.Name, j, g)
				}
			}
		}
		pool.Close()
	}
}
