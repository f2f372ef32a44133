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
func AdamW(p, g, m, v []float32, lr, beta1, beta2, eps, wd float64, step int) {
	n := len(p)
	g, m, v = g[:n], m[:n], v[:n]
	bc1 := 1 - math.Pow(beta1, float64(step))
	bc2 := 1 - math.Pow(beta2, float64(step))
	decay := 1 - lr*wd
	for i := range p {
		gi := float64(g[i])
		mi := beta1*float64(m[i]) + (1-beta1)*gi
		vi := beta2*float64(v[i]) + (1-beta2)*gi*gi
		m[i], v[i] = float32(mi), float32(vi)
		p[i] = float32(float64(p[i])*decay - lr*(mi/bc1)/(math.Sqrt(vi/bc2)+eps))
	}
}
