// Reference: checkpoint.go; the plain tape's gradients are the reference (Chen et al. 2016: recomputation
// changes the memory, not the result).

package autograd

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tensor"
)

// blocksRun records a chain of four residual blocks y = x + W₂·gelu(W₁·LN(x))
// over an input computed from an embedding, adds the input itself to the
// output (so the input's gradient has a part from outside the chain), and
// returns the loss and a copy of every parameter's gradient.
func blocksRun(t *testing.T, mem Memory, workers int) (float32, [][]float32, *Tape) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	const C, F, N, L = 8, 12, 6, 4
	emb := param(t, rng, "token_embd", 11, C)
	var ps []*Var
	ps = append(ps, emb)
	type blk struct{ ln, w1, w2 *Var }
	bs := make([]blk, L)
	for i := range bs {
		bs[i] = blk{param(t, rng, "ln", C), param(t, rng, "w1", F, C), param(t, rng, "w2", C, F)}
		ps = append(ps, bs[i].ln, bs[i].w1, bs[i].w2)
	}
	tp := NewTape(tensor.NewPool(workers))
	if err := tp.SetMemory(mem); err != nil {
		t.Fatal(err)
	}
	var loss *Var
	for range 2 { // twice on one tape: the reused buffers give the same answer
		for _, p := range ps {
			p.ZeroGrad()
		}
		tp.Reset()
		x := tp.Embedding(emb, []int32{1, 4, 4, 10, 0, 7})
		y := tp.Blocks(x, L, func(i int, x *Var) *Var {
			b := bs[i]
			return tp.Add(x, tp.Linear(tp.GELU(tp.Linear(tp.RMSNorm(x, b.ln, 1e-5), b.w1, nil)), b.w2, nil))
		})
		loss = tp.CrossEntropy(tp.Add(y, x), []int32{3, 1, 4, 1, 5, 2}, -1)
		if err := tp.Backward(loss, 1); err != nil {
			t.Fatal(err)
		}
	}
	var g [][]float32
	for _, p := range ps {
		g = append(g, append([]float32(nil), p.Grad...))
	}
	return loss.Data[0], g, tp
}

// TestBlocksCheckpointBitForBit: checkpointed blocks give the plain tape's
// loss and gradients bit for bit (1 and 2 workers), and keep fewer
// activation bytes; 16-bit storage keeps fewer still and moves the
// gradients a little.
func TestBlocksCheckpointBitForBit(t *testing.T) {
	for _, workers := range []int{1, 2} {
		wantL, wantG, plain := blocksRun(t, Memory{}, workers)
		gotL, gotG, ckpt := blocksRun(t, Memory{Checkpoint: true}, workers)
		if math.Float32bits(gotL) != math.Float32bits(wantL) {
			t.Errorf("%d workers: loss %g, want %g", workers, gotL, wantL)
		}
		for p := range wantG {
			for i := range wantG[p] {
				if math.Float32bits(gotG[p][i]) != math.Float32bits(wantG[p][i]) {
					t.Fatalf("%d workers: parameter %d gradient [%d] = %g, want %g", workers, p, i, gotG[p][i], wantG[p][i])
				}
			}
		}
		if ckpt.ActivationBytes() >= plain.ActivationBytes() {
			t.Errorf("%d workers: checkpointing keeps %d activation bytes, the plain tape %d", workers, ckpt.ActivationBytes(), plain.ActivationBytes())
		}
		halfL, halfG, half := blocksRun(t, Memory{Checkpoint: true, Store: tensor.BF16}, workers)
		// Three kept inputs at half size, less the buffer each segment
		// starts with: half an input smaller, if no segment buffer grew.
		if d := ckpt.ActivationBytes() - half.ActivationBytes(); d != 6*8*4/2 {
			t.Errorf("%d workers: bf16 storage keeps %d bytes less than f32, want %d", workers, d, 6*8*4/2)
		}
		if halfL != wantL {
			t.Errorf("%d workers, bf16: loss %g, want the f32 forward's %g", workers, halfL, wantL)
		}
		var diff, norm float64
		for p := range wantG {
			for i, w := range wantG[p] {
				diff += math.Pow(float64(halfG[p][i]-w), 2)
				norm += float64(w) * float64(w)
			}
		}
		// bf16 rounds by ≤ 2⁻⁹ relative; ten times that for the backward.
		if rel := math.Sqrt(diff / norm); rel == 0 || rel > 2e-2 {
			t.Errorf("%d workers, bf16: gradients differ from f32 storage by %.3g relative, want (0, 2e-2]", workers, rel)
		}
	}
}

// TestBlocksEvaluation: under NoGrad the checkpointed chain (f32 or f16
// storage: nothing is kept) computes the plain chain's values.
func TestBlocksEvaluation(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	w := param(t, rng, "w", 8, 8)
	x := param(t, rng, "x", 4, 8)
	var want []float32
	for _, mem := range []Memory{{}, {Checkpoint: true}, {Checkpoint: true, Store: tensor.F16}} {
		tp := NewTape(tensor.NewPool(2))
		if err := tp.SetMemory(mem); err != nil {
			t.Fatal(err)
		}
		tp.NoGrad(true)
		y := tp.Blocks(x, 3, func(_ int, x *Var) *Var { return tp.Add(x, tp.GELU(tp.Linear(x, w, nil))) })
		if err := tp.Err(); err != nil {
			t.Fatal(err)
		}
		if want == nil {
			want = append([]float32(nil), y.Data...)
			continue
		}
		for i := range want {
			if math.Float32bits(y.Data[i]) != math.Float32bits(want[i]) {
				t.Fatalf("checkpointed evaluation [%d] = %g, want %g", i, y.Data[i], want[i])
			}
		}
	}
}

func TestBlocksErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	x := param(t, rng, "x", 4, 8)
	w := param(t, rng, "w", 3, 8)
	for _, tc := range []struct {
		name  string
		block func(tp *Tape, x *Var) *Var
		want  string
	}{
		{"identity", func(_ *Tape, x *Var) *Var { return x }, "new Var"},
		{"reshaped", func(tp *Tape, x *Var) *Var { return tp.Linear(x, w, nil) }, "input's shape"},
	} {
		tp := NewTape(tensor.NewPool(1))
		if err := tp.SetMemory(Memory{Checkpoint: true}); err != nil {
			t.Fatal(err)
		}
		tp.Blocks(x, 2, func(_ int, x *Var) *Var { return tc.block(tp, x) })
		if err := tp.Err(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one saying %q", tc.name, err, tc.want)
		}
	}
	tp := NewTape(tensor.NewPool(1))
	if err := tp.SetMemory(Memory{Store: tensor.BF16}); err == nil {
		t.Error("bf16 storage without checkpointing: no error")
	}
	if err := tp.SetMemory(Memory{Checkpoint: true, Store: tensor.Q8_0}); err == nil {
		t.Error("q8_0 storage: no error")
	}
}
