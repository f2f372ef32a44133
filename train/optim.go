// Reference: PyTorch torch.optim.AdamW and torch.nn.utils.clip_grad_norm_; nanoGPT train.py
// (gradient_accumulation_steps, loss / accumulation steps); llm.c train_gpt2.c gpt2_update.

package train

import (
	"fmt"
	"math"

	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// AdamWConfig holds AdamW's constants. The zero value is not useful; start
// from DefaultAdamW.
type AdamWConfig struct {
	Beta1, Beta2 float64
	Eps          float64
	WeightDecay  float64 // decoupled; not applied to parameters marked NoDecay
}

// DefaultAdamW is nanoGPT's pretraining setting: β = (0.9, 0.95), eps 1e-8,
// weight decay 0.1.
var DefaultAdamW = AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: 0.1}

// AdamW keeps the first and second moments of every parameter and updates
// the parameters from their gradients (kernel.AdamW, PyTorch's algorithm).
type AdamW struct {
	Config AdamWConfig
	Params []*autograd.Var
	M, V   [][]float32 // moments, one per parameter, the parameter's length
	Steps  int         // steps taken; the next is Steps+1 (bias correction)
	pool   *tensor.Pool
	grads  []float32 // every parameter's Grad, back to back (NewAdamW)
}

// NewAdamW returns an optimizer over params with zero moments. pool splits
// each parameter's elements across workers (nil: the calling goroutine).
func NewAdamW(params []*autograd.Var, cfg AdamWConfig, pool *tensor.Pool) (*AdamW, error) {
	if !(cfg.Beta1 >= 0 && cfg.Beta1 < 1 && cfg.Beta2 >= 0 && cfg.Beta2 < 1 && cfg.Eps > 0 && cfg.WeightDecay >= 0) {
		return nil, fmt.Errorf("train: AdamW needs 0 ≤ β1, β2 < 1, eps > 0, weight decay ≥ 0; got %+v", cfg)
	}
	o := &AdamW{Config: cfg, Params: params, pool: pool}
	seen := map[*autograd.Var]bool{}
	total := 0
	for _, p := range params {
		if !p.Param() {
			return nil, fmt.Errorf("train: AdamW: %q is not a parameter", p.Name)
		}
		if seen[p] {
			return nil, fmt.Errorf("train: AdamW: parameter %q listed twice (a tied weight is one parameter)", p.Name)
		}
		seen[p] = true
		total += len(p.Data)
	}
	// One block holds, in parameter order, every gradient, then every
	// first moment, then every second moment: made before the first step
	// with its pages mapped by the pool's workers (autograd.Floats), where
	// one slice per parameter would fault in page by page inside the first
	// step, each page twice (a gradient is added to, a moment read, before
	// either is written). Gradients move into the block (their values
	// copied), so ZeroGrad clears one range across the pool.
	state := autograd.Floats(pool, 3*total)
	o.grads = state[:total:total]
	for _, p := range params {
		n := len(p.Data)
		g := state[:n:n]
		copy(g, p.Grad)
		p.Grad = g
		o.M = append(o.M, state[total:total+n:total+n])
		o.V = append(o.V, state[2*total:2*total+n:2*total+n])
		state = state[n:]
	}
	return o, nil
}

// adamChunk is how many elements a worker updates at a time.
const adamChunk = 8192

// Step applies one update with learning rate lr to every parameter.
// Elements are independent, so the split across workers changes nothing.
func (o *AdamW) Step(lr float64) {
	o.Steps++
	c := o.Config
	for i, p := range o.Params {
		wd := c.WeightDecay
		if p.NoDecay {
			wd = 0
		}
		m, v := o.M[i], o.V[i]
		run := func(s, e int) {
			kernel.AdamW(p.Data[s:e], p.Grad[s:e], m[s:e], v[s:e], lr, c.Beta1, c.Beta2, c.Eps, wd, o.Steps)
		}
		if o.pool == nil {
			run(0, len(p.Data))
		} else {
			o.pool.For(len(p.Data), adamChunk, run)
		}
	}
}

// ZeroGrad clears every parameter's gradient, across the pool: NewAdamW
// put them in one range. (If a caller replaced a parameter's Grad since,
// each is cleared on its own.)
func (o *AdamW) ZeroGrad() {
	if !o.gradsPacked() {
		for _, p := range o.Params {
			p.ZeroGrad()
		}
		return
	}
	if o.pool == nil {
		clear(o.grads)
	} else {
		o.pool.For(len(o.grads), adamChunk, func(s, e int) { clear(o.grads[s:e]) })
	}
}

// normChunk is the span of the gradient norm's partial sums: the squares
// of all the parameters' gradients, taken as one sequence in parameter
// order, are summed in float64 chunk by chunk, and the chunks' sums added
// in order. The result is fixed by the chunks alone, so AdamW.GradNorm
// can sum the chunks on several workers and get the serial GradNorm's
// bits; a model of fewer elements than a chunk gets the plain running sum.
const normChunk = 1 << 16

// GradNorm returns the L2 norm of all the parameters' gradients together,
// summed in float64 in parameter order (in normChunk chunks).
func GradNorm(params []*autograd.Var) float64 {
	var total, s float64
	at := 0 // position in the whole sequence
	for _, p := range params {
		for _, g := range p.Grad {
			s += float64(g) * float64(g)
			if at++; at%normChunk == 0 {
				total, s = total+s, 0
			}
		}
	}
	if at%normChunk != 0 {
		total += s
	}
	return math.Sqrt(total)
}

// ClipGradNorm scales all gradients by maxNorm/(norm + 1e-6) when their
// global norm exceeds maxNorm, as torch.nn.utils.clip_grad_norm_, and
// returns the norm before clipping. A non-finite norm (the step diverged)
// is an error and leaves the gradients as they are.
func ClipGradNorm(params []*autograd.Var, maxNorm float64) (float64, error) {
	return clipGrads(GradNorm(params), maxNorm, func(coef float32) {
		for _, p := range params {
			kernel.Scale(p.Grad, coef)
		}
	})
}

func clipGrads(norm, maxNorm float64, scale func(float32)) (float64, error) {
	if math.IsNaN(norm) || math.IsInf(norm, 0) {
		return norm, fmt.Errorf("train: gradient norm is %v: the step diverged", norm)
	}
	if coef := maxNorm / (norm + 1e-6); coef < 1 {
		scale(float32(coef))
	}
	return norm, nil
}

// GradNorm is GradNorm(o.Params), bit for bit, with the chunks summed
// across the pool: the serial pass cost ~0.2 s a step on the 124M shape.
func (o *AdamW) GradNorm() float64 {
	if o.pool == nil || !o.gradsPacked() {
		return GradNorm(o.Params)
	}
	parts := make([]float64, (len(o.grads)+normChunk-1)/normChunk)
	o.pool.For(len(parts), 1, func(s, e int) {
		for k := s; k < e; k++ {
			var sum float64
			for _, g := range o.grads[k*normChunk : min((k+1)*normChunk, len(o.grads))] {
				sum += float64(g) * float64(g)
			}
			parts[k] = sum
		}
	})
	var total float64
	for _, s := range parts {
		total += s
	}
	return math.Sqrt(total)
}

// ClipGradNorm is ClipGradNorm(o.Params, maxNorm), bit for bit, across the
// pool (scaling is elementwise).
func (o *AdamW) ClipGradNorm(maxNorm float64) (float64, error) {
	if o.pool == nil || !o.gradsPacked() {
		return ClipGradNorm(o.Params, maxNorm)
	}
	return clipGrads(o.GradNorm(), maxNorm, func(coef float32) {
		o.pool.For(len(o.grads), adamChunk, func(s, e int) { kernel.Scale(o.grads[s:e], coef) })
	})
}

// gradsPacked reports whether every parameter's Grad is still its slice
// of o.grads (NewAdamW put them there; a caller may have replaced one).
func (o *AdamW) gradsPacked() bool {
	off := 0
	for _, p := range o.Params {
		n := len(p.Data)
		if len(p.Grad) != n || (n > 0 && &p.Grad[0] != &o.grads[off]) {
			return false
		}
		off += n
	}
	return true
}

// Accumulate runs k micro-batches whose gradients add up in the
// parameters' Grad buffers. micro(i) builds micro-batch i's forward on a
// tape and returns the tape and its scalar loss; Accumulate seeds each
// backward with 1/k, so the summed gradient is that of the mean of the k
// losses, which it returns. (nanoGPT divides each loss by the number of
// accumulation steps before backward; the seed does the same.)
func Accumulate(k int, micro func(i int) (*autograd.Tape, *autograd.Var, error)) (float64, error) {
	if k <= 0 {
		return 0, fmt.Errorf("train: accumulate over %d micro-batches", k)
	}
	var sum float64
	for i := range k {
		tp, loss, err := micro(i)
		if err != nil {
			return 0, fmt.Errorf("train: micro-batch %d: %w", i, err)
		}
		if err := tp.Backward(loss, 1/float32(k)); err != nil {
			return 0, fmt.Errorf("train: micro-batch %d: %w", i, err)
		}
		sum += float64(loss.Data[0])
	}
	return sum / float64(k), nil
}
