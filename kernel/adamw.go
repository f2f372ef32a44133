// Reference: Loshchilov & Hutter, "Decoupled Weight Decay Regularization" (ICLR 2019); PyTorch torch.optim.AdamW
// (single-tensor path); llm.c train_gpt2.c gpt2_update.

package kernel

import "math"

// AdamW applies one AdamW step to the parameters p in place, given their
// gradients g and the first and second moment buffers m and v (same length,
// updated in place). step is the 1-based step number, for bias correction.
// As in PyTorch, the decay is decoupled (p ← p·(1 − lr·wd) before the Adam
// update, not added to the gradient) and eps is added to the bias-corrected
// √v̂:
//
//	m ← β1·m + (1−β1)·g        v ← β2·v + (1−β2)·g²
//	p ← p·(1 − lr·wd) − lr · (m / (1−β1^step)) / (√(v / (1−β2^step)) + eps)
//
// Each element is updated in float64 and stored as float32: the update is
// tiny beside p late in training, and float32 arithmetic would round part of
// it away twice. Elements are independent, so callers may split the range.
//
// On the 124M shape this pass over 124M parameters (four float32 arrays
// read, three written) cost about 0.9 CPU-seconds a step as a scalar
// loop, ~20% of the step: the AVX assembly (adamw_amd64.s) does four
// elements per instruction with the very same operations, so its result
// is the plain loop's bit for bit.
func AdamW(p, g, m, v []float32, lr, beta1, beta2, eps, wd float64, step int) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	c := newAdamConsts(lr, beta1, beta2, eps, wd, step)
	adamw(p, g, m, v, &c)
}

// newAdamConsts computes a step's constants (at run time: a constant
// expression such as 1 − 0.9 would be exact, not float64 arithmetic).
func newAdamConsts(lr, beta1, beta2, eps, wd float64, step int) adamConsts {
	return adamConsts{
		b1: beta1, ob1: 1 - beta1, b2: beta2, ob2: 1 - beta2,
		bc1: 1 - math.Pow(beta1, float64(step)), bc2: 1 - math.Pow(beta2, float64(step)),
		decay: 1 - float64(lr*wd), lr: lr, eps: eps,
	}
}

// adamConsts are one step's constants, computed once in Go for both the
// plain loop and the assembly (which reads them by offset: keep the order).
type adamConsts struct {
	b1, ob1, b2, ob2 float64 // β1, 1−β1, β2, 1−β2
	bc1, bc2         float64 // bias corrections 1−β^step
	decay, lr, eps   float64 // 1−lr·wd, lr, eps
}

// adamw is the update over equal-length slices; the amd64 build may
// replace it with the assembly.
var adamw = adamwGeneric

// adamwGeneric is the reference loop. Every product is wrapped in an
// explicit float64 conversion, which the Go spec says rounds: the compiler
// may then not fuse it into an FMA (as it may for GOAMD64=v3 or arm64),
// so the loop rounds each operation exactly as the assembly does.
func adamwGeneric(p, g, m, v []float32, c *adamConsts) {
	for i := range p {
		gi := float64(g[i])
		mi := float64(c.b1*float64(m[i])) + float64(c.ob1*gi)
		vi := float64(c.b2*float64(v[i])) + float64(float64(c.ob2*gi)*gi)
		m[i], v[i] = float32(mi), float32(vi)
		p[i] = float32(float64(float64(p[i])*c.decay) - float64(c.lr*(mi/c.bc1))/(math.Sqrt(vi/c.bc2)+c.eps))
	}
}
