// Reference: llama.cpp src/llama-sampling.cpp (penalties, top_k, top_p, min_p, temp, dist) and
// common/sampling.cpp (the default chain order: penalties → top-k → top-p → min-p → temperature → draw).

package generate

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// SamplerOptions choose how the next token is drawn from the logits. The
// zero value is greedy decoding with no penalties. Validate says which
// values mean something; a Sampler made from invalid options still never
// panics, but its draws are not meaningful.
type SamplerOptions struct {
	Temperature float32 // 0: greedy (argmax after penalties); otherwise logits are divided by it
	TopK        int     // keep the K most likely tokens; 0 keeps all
	TopP        float32 // keep the smallest set whose probability reaches P; 0 or 1 keeps all
	MinP        float32 // drop tokens less likely than MinP × the most likely one; 0 keeps all

	RepeatPenalty    float32 // divide positive logits (multiply negative ones) of recent tokens; 0 or 1 is off
	FrequencyPenalty float32 // subtract count × this from recent tokens' logits
	PresencePenalty  float32 // subtract this once from every recent token's logit
	RepeatLastN      int     // how many recent tokens the penalties look at; 0 is off, -1 all

	Seed uint64 // the draw is reproducible for a given seed, options and logits
}

// ParamError is a sampler setting that cannot mean anything. Param names
// it as llama.cpp's server and the OpenAI API spell it (temperature, top_k,
// repeat_last_n, …), so that each front end can name its own flag or field.
type ParamError struct {
	Param string // temperature, top_k, top_p, min_p, repeat_penalty, frequency_penalty, presence_penalty, repeat_last_n
	Value string // the value as given
	Want  string // what the value must be
}

func (e *ParamError) Error() string {
	return fmt.Sprintf("generate: %s %s: %s", e.Param, e.Value, e.Want)
}

// Validate rejects options that cannot mean anything: NaN or infinite
// numbers, a negative temperature, top-k or penalty, top-p or min-p outside
// 0…1, a repeat window below -1. The error is a *ParamError; several bad
// values are joined.
func (o SamplerOptions) Validate() error {
	var errs []error
	bad := func(param string, v any, want string) {
		errs = append(errs, &ParamError{Param: param, Value: fmt.Sprint(v), Want: want})
	}
	finite := func(v float32) bool { return !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0) }
	if !finite(o.Temperature) || o.Temperature < 0 {
		bad("temperature", o.Temperature, "must be a finite number ≥ 0 (0 is greedy)")
	}
	if o.TopK < 0 {
		bad("top_k", o.TopK, "must be ≥ 0 (0 keeps every token)")
	}
	if !finite(o.TopP) || o.TopP < 0 || o.TopP > 1 {
		bad("top_p", o.TopP, "must be between 0 and 1")
	}
	if !finite(o.MinP) || o.MinP < 0 || o.MinP > 1 {
		bad("min_p", o.MinP, "must be between 0 and 1")
	}
	if !finite(o.RepeatPenalty) || o.RepeatPenalty < 0 {
		bad("repeat_penalty", o.RepeatPenalty, "must be a finite number ≥ 0 (1 is off)")
	}
	if !finite(o.FrequencyPenalty) {
		bad("frequency_penalty", o.FrequencyPenalty, "must be a finite number")
	}
	if !finite(o.PresencePenalty) {
		bad("presence_penalty", o.PresencePenalty, "must be a finite number")
	}
	if o.RepeatLastN < -1 {
		bad("repeat_last_n", o.RepeatLastN, "must be ≥ -1 (-1: the whole history, 0: off)")
	}
	return errors.Join(errs...)
}

// Sampler draws tokens; it owns its random stream and scratch buffers.
// Not safe for concurrent use.
type Sampler struct {
	o      SamplerOptions
	rng    *rand.Rand
	logits []float32   // [V] penalised copy of the logits
	cand   []candidate // surviving tokens, most likely first once sorted
	counts map[int32]int
}

type candidate struct {
	id    int32
	logit float32
	p     float32
}

// NewSampler makes a sampler; the same options and seed give the same draws.
func NewSampler(o SamplerOptions) *Sampler {
	return &Sampler{o: o, rng: rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15)), counts: map[int32]int{}}
}

// Options returns the sampler's options.
func (s *Sampler) Options() SamplerOptions { return s.o }

// Sample picks the next token from logits [V], given the tokens so far
// (prompt and generated) for the penalties. logits is not modified.
func (s *Sampler) Sample(logits []float32, history []int32) int32 {
	o := s.o
	if len(logits) == 0 {
		panic("generate: Sample of an empty vocabulary")
	}
	s.logits = append(s.logits[:0], logits...)
	l := s.logits
	s.penalise(l, history)
	// A NaN (from the model, or an infinite logit less an infinite penalty)
	// is no evidence for its token: it counts as impossible, so that every
	// comparison below is an order and the draw always finds a token.
	for i, v := range l {
		if v != v {
			l[i] = float32(math.Inf(-1))
		}
	}
	if o.Temperature <= 0 {
		return argmax(l)
	}

	// Candidates: all tokens, or the top K kept with a bounded selection.
	c := s.cand[:0]
	k := o.TopK
	if k <= 0 || k > len(l) {
		k = len(l)
	}
	if k < len(l) {
		c = topK(c, l, k)
	} else {
		for i, v := range l {
			c = append(c, candidate{id: int32(i), logit: v})
		}
	}
	s.cand = c
	sorted := k < len(l)
	needSort := o.TopP > 0 && o.TopP < 1
	if needSort && !sorted {
		slices.SortStableFunc(c, func(a, b candidate) int {
			switch {
			case a.logit > b.logit:
				return -1
			case a.logit < b.logit:
				return 1
			}
			return 0
		})
		sorted = true
	}
	// Probabilities at temperature 1 decide top-p and min-p, as in
	// llama.cpp's chain, where temperature is applied last.
	softmaxCand(c, 1)
	if needSort {
		var cum float32
		for i := range c {
			cum += c[i].p
			if cum >= o.TopP {
				c = c[:i+1]
				break
			}
		}
	}
	if o.MinP > 0 {
		var pmax float32
		for _, x := range c {
			pmax = max(pmax, x.p)
		}
		keep := c[:0]
		for _, x := range c {
			if x.p >= o.MinP*pmax {
				keep = append(keep, x)
			}
		}
		c = keep
	}
	if len(c) == 0 { // only options that Validate rejects (a NaN top-p or min-p) get here
		return argmax(l)
	}
	softmaxCand(c, o.Temperature)
	r := s.rng.Float32()
	var cum float32
	for _, x := range c {
		cum += x.p
		if r < cum {
			return x.id
		}
	}
	// Rounding left r ≥ the float32 total: the last candidate that can be
	// drawn at all (softmaxCand gives the largest logit p > 0).
	for i := len(c) - 1; i > 0; i-- {
		if c[i].p > 0 {
			return c[i].id
		}
	}
	return c[0].id
}

// penalise applies the repetition, frequency and presence penalties to the
// tokens among the last RepeatLastN of history.
func (s *Sampler) penalise(l []float32, history []int32) {
	o := s.o
	rp := o.RepeatPenalty
	if rp <= 0 {
		rp = 1
	}
	if o.RepeatLastN == 0 || (rp == 1 && o.FrequencyPenalty == 0 && o.PresencePenalty == 0) {
		return
	}
	window := history
	if o.RepeatLastN > 0 && len(window) > o.RepeatLastN {
		window = window[len(window)-o.RepeatLastN:]
	}
	clear(s.counts)
	for _, t := range window {
		if t >= 0 && int(t) < len(l) {
			s.counts[t]++
		}
	}
	for t, n := range s.counts {
		v := l[t]
		if v <= 0 {
			v *= rp
		} else {
			v /= rp
		}
		// float32(): the product rounded, as amd64 does, where Go's arm64
		// compiler would fuse it into the subtraction.
		l[t] = v - float32(float32(n)*o.FrequencyPenalty) - o.PresencePenalty
	}
}

// topK appends the k largest logits to c, most likely first, with a
// min-heap of size k: O(V log k) rather than sorting the vocabulary.
func topK(c []candidate, l []float32, k int) []candidate {
	h := c[:0]
	less := func(a, b candidate) bool { return a.logit < b.logit || (a.logit == b.logit && a.id > b.id) }
	down := func(i int) {
		for {
			m, lft, rgt := i, 2*i+1, 2*i+2
			if lft < len(h) && less(h[lft], h[m]) {
				m = lft
			}
			if rgt < len(h) && less(h[rgt], h[m]) {
				m = rgt
			}
			if m == i {
				return
			}
			h[i], h[m] = h[m], h[i]
			i = m
		}
	}
	for i, v := range l {
		x := candidate{id: int32(i), logit: v}
		if len(h) < k {
			h = append(h, x)
			for j := len(h) - 1; j > 0; {
				p := (j - 1) / 2
				if !less(h[j], h[p]) {
					break
				}
				h[j], h[p] = h[p], h[j]
				j = p
			}
		} else if less(h[0], x) {
			h[0] = x
			down(0)
		}
	}
	slices.SortFunc(h, func(a, b candidate) int {
		if less(b, a) {
			return -1
		}
		if less(a, b) {
			return 1
		}
		return 0
	})
	return h
}

// softmaxCand sets c[i].p = softmax(logit/temp) over the candidates. When
// the largest logit is infinite the limit is taken: the +Inf candidates
// share the probability, or, when every logit is -Inf, all candidates do.
func softmaxCand(c []candidate, temp float32) {
	m := float32(math.Inf(-1))
	for _, x := range c {
		m = max(m, x.logit)
	}
	if math.IsInf(float64(m), 0) {
		var n float32
		for i := range c {
			c[i].p = 0
			if c[i].logit == m {
				c[i].p, n = 1, n+1
			}
		}
		for i := range c {
			c[i].p /= n
		}
		return
	}
	var sum float64
	for i := range c {
		e := math.Exp(float64((c[i].logit - m) / temp))
		c[i].p = float32(e)
		sum += e
	}
	for i := range c {
		c[i].p = float32(float64(c[i].p) / sum)
	}
}

// argmax returns the index of the largest value (the first on a tie).
func argmax(x []float32) int32 {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return int32(best)
}
