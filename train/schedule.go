// Reference: nanoGPT train.py get_lr (linear warmup, cosine decay to min_lr, then constant).

package train

import "math"

// Schedule is nanoGPT's learning-rate schedule: a linear warmup to MaxLR
// over Warmup steps, a cosine decay to MinLR reached at step Decay, and
// MinLR after that. Steps count from 0.
type Schedule struct {
	MaxLR, MinLR float64
	Warmup       int // steps of linear warmup
	Decay        int // the step at which the cosine reaches MinLR (≥ Warmup)
}

// LR returns the learning rate of step it. The warmup is
// MaxLR·(it+1)/(Warmup+1), as nanoGPT has it, so step 0 does not waste a
// batch at learning rate 0.
func (s Schedule) LR(it int) float64 {
	if it < s.Warmup {
		return s.MaxLR * float64(it+1) / float64(s.Warmup+1)
	}
	if it > s.Decay || s.Decay <= s.Warmup {
		return s.MinLR
	}
	ratio := float64(it-s.Warmup) / float64(s.Decay-s.Warmup)
	coeff := 0.5 * (1 + math.Cos(math.Pi*ratio)) // 1 → 0
	return s.MinLR + coeff*(s.MaxLR-s.MinLR)
}
