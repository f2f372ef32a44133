// Reference: train/autograd/checkpoint.go (Tape.Blocks); Chen et al. 2016 (recomputation gives the same
// gradients); the gradients of the plain tape are the reference.

package model

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// ckptRun trains a fresh copy of the tiny arch model (seed 7, three layers) for steps SGD
// steps on a tape with mem and workers, and returns each step's loss and
// gradients (a copy per step, parameters in Params order) and the tape's
// activation bytes.
func ckptRun(t *testing.T, arch string, mem autograd.Memory, workers, steps int) (losses []float32, grads [][][]float32, bytes int) {
	t.Helper()
	c := tinyTrainConfig(t, arch)
	c.Layers = 3 // x₁ and x₂ kept: both gradient buffers of the ring in use
	m, err := NewRandomTrainable(c, InitOptions{Seed: 7, Std: 0.2, Tied: arch == "llama"})
	if err != nil {
		t.Fatal(err)
	}
	tp := autograd.NewTape(tensor.NewPool(workers))
	if err := tp.SetMemory(mem); err != nil {
		t.Fatal(err)
	}
	tokens := []int32{5, 0, 36, 17, 17, 2, 9, 30, 11, 3, 4, 5, 6, 7, 8, 9}
	targets := append(append([]int32(nil), tokens[1:]...), 1)
	for range steps {
		tp.Reset()
		loss := m.Loss(tp, tokens, targets, 8)
		if err := tp.Backward(loss, 1); err != nil {
			t.Fatal(err)
		}
		losses = append(losses, loss.Data[0])
		var g [][]float32
		for _, p := range m.Params() {
			g = append(g, append([]float32(nil), p.Grad...))
			for i, d := range p.Grad {
				p.Data[i] -= 0.05 * d
			}
			p.ZeroGrad()
		}
		grads = append(grads, g)
	}
	return losses, grads, tp.ActivationBytes()
}

// TestCheckpointGradientsBitForBit: with activation checkpointing the loss
// and every parameter's gradient are those of the plain tape bit for bit,
// over three SGD steps (so a reused tape's segment buffers are exercised),
// for 1 and 2 workers: the rerun computes exactly what the forward did,
// and the blocks' backwards add into the parameters in the same order.
func TestCheckpointGradientsBitForBit(t *testing.T) {
	for _, arch := range []string{"llama", "qwen2", "gpt2"} {
		for _, workers := range []int{1, 2} {
			name := fmt.Sprintf("%s/%d workers", arch, workers)
			wantL, wantG, plain := ckptRun(t, arch, autograd.Memory{}, workers, 3)
			gotL, gotG, ckpt := ckptRun(t, arch, autograd.Memory{Checkpoint: true}, workers, 3)
			t.Logf("%s: activation bytes %d plain, %d checkpointed", name, plain, ckpt)
			if ckpt >= plain {
				t.Errorf("%s: checkpointing keeps %d activation bytes, the plain tape %d", name, ckpt, plain)
			}
			for s := range wantL {
				if math.Float32bits(gotL[s]) != math.Float32bits(wantL[s]) {
					t.Errorf("%s step %d: loss %g, want %g", name, s, gotL[s], wantL[s])
				}
				for p := range wantG[s] {
					for i := range wantG[s][p] {
						if math.Float32bits(gotG[s][p][i]) != math.Float32bits(wantG[s][p][i]) {
							t.Fatalf("%s step %d: parameter %d gradient [%d] = %g, want %g", name, s, p, i, gotG[s][p][i], wantG[s][p][i])
						}
					}
				}
			}
		}
	}
}

// TestCheckpointHalfStorage: keeping the checkpointed layer inputs in bf16
// or f16 leaves the loss unchanged (the forward is float32) and moves the
// gradients by about the format's rounding, measured as the relative norm
// ‖g − g₃₂‖/‖g₃₂‖ over all parameters: bf16 keeps 8 significant bits
// (rounding 2⁻⁹ ≈ 2e-3 relative), f16 11 (2⁻¹² ≈ 2.4e-4); the bounds allow
// ten times that for the error's growth through a layer's backward. Twenty
// steps of training with them still lower the loss as f32 storage does.
func TestCheckpointHalfStorage(t *testing.T) {
	for _, arch := range []string{"llama", "gpt2"} {
		wantL, wantG, _ := ckptRun(t, arch, autograd.Memory{Checkpoint: true}, 2, 20)
		for _, tc := range []struct {
			dt    tensor.DType
			bound float64
		}{{tensor.BF16, 2e-2}, {tensor.F16, 2.5e-3}} {
			gotL, gotG, _ := ckptRun(t, arch, autograd.Memory{Checkpoint: true, Store: tc.dt}, 2, 20)
			if gotL[0] != wantL[0] {
				t.Errorf("%s %v: first loss %g, want the f32 run's %g", arch, tc.dt, gotL[0], wantL[0])
			}
			var diff, norm float64
			for p := range wantG[0] {
				for i, w := range wantG[0][p] {
					d := float64(gotG[0][p][i] - w)
					diff += d * d
					norm += float64(w) * float64(w)
				}
			}
			rel := math.Sqrt(diff / norm)
			last, wantLast := gotL[len(gotL)-1], wantL[len(wantL)-1]
			t.Logf("%s %v: gradient relative error %.3g (bound %g); loss %.4f → %.4f (f32 storage → %.4f)", arch, tc.dt, rel, tc.bound, gotL[0], last, wantLast)
			if rel > tc.bound {
				t.Errorf("%s %v: gradients differ from f32 storage by %.3g relative, bound %g", arch, tc.dt, rel, tc.bound)
			}
			if !(last < 0.8*gotL[0]) || math.Abs(float64(last-wantLast)) > 0.05*float64(wantLast) {
				t.Errorf("%s %v: loss %g → %g after 20 steps; f32 storage reaches %g", arch, tc.dt, gotL[0], last, wantLast)
			}
		}
	}
}

// BenchmarkTrainStepMemory times a forward and backward of the 0.9M shape
// of docs/training.md's Speed section (llama, 4 layers, C 128, 4 heads, F
// 352, V 512, B=16, T=256) with each way of keeping activations, and
// reports the tape's activation and gradient buffers after the step (its
// peak: buffers are kept for the next step; parameters and AdamW's moments
// not included). Run:
//
//	go test ./model -run XXX -bench TrainStepMemory -benchtime 2x
func BenchmarkTrainStepMemory(b *testing.B) {
	c, err := ArchConfig("llama")
	if err != nil {
		b.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 512, 128, 4, 4, 4, 32, 352, 256
	c.RopeDims = c.HeadDim
	const B, T = 16, 256
	rng := rand.New(rand.NewPCG(1, 2))
	tokens, targets := make([]int32, B*T), make([]int32, B*T)
	for i := range tokens {
		tokens[i], targets[i] = rng.Int32N(512), rng.Int32N(512)
	}
	for _, bc := range []struct {
		name string
		mem  autograd.Memory
	}{
		{"plain", autograd.Memory{}},
		{"checkpoint", autograd.Memory{Checkpoint: true}},
		{"checkpoint-bf16", autograd.Memory{Checkpoint: true, Store: tensor.BF16}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			m, err := NewRandomTrainable(c, InitOptions{Seed: 1, Std: 0.02})
			if err != nil {
				b.Fatal(err)
			}
			tp := autograd.NewTape(tensor.NewPool(runtime.GOMAXPROCS(0)))
			if err := tp.SetMemory(bc.mem); err != nil {
				b.Fatal(err)
			}
			step := func() {
				tp.Reset()
				if err := tp.Backward(m.Loss(tp, tokens, targets, T), 1); err != nil {
					b.Fatal(err)
				}
				for _, p := range m.Params() {
					p.ZeroGrad()
				}
			}
			step() // sizes the buffers
			b.ResetTimer()
			for range b.N {
				step()
			}
			b.ReportMetric(float64(B*T*b.N)/b.Elapsed().Seconds(), "tok/s")
			b.ReportMetric(float64(tp.ActivationBytes())/(1<<20), "act-MiB")
		})
	}
}
