// Reference: llama.cpp src/llama-sampling.cpp (the grammar sampler sets the logits of rejected
// tokens to -INFINITY before the rest of the chain, and accepts each sampled token into the grammar).

package generate

import (
	"fmt"
	"math"
)

// Constraint restricts which tokens may come next, such as a grammar or a
// JSON Schema (package generate/grammar implements it with
// grammar.Matcher). It is stateful: one per generation.
type Constraint interface {
	// Mask sets bit t of allowed (allowed[t/64] & 1<<(t%64)) for every
	// token t that may come next; allowed has (V+63)/64 words, cleared by
	// Mask. An error means no token can follow.
	Mask(allowed []uint64) error
	// Accept advances the constraint over the sampled token.
	Accept(tok int32) error
	// Done reports that nothing but the end of generation can follow.
	Done() bool
}

// constrain sets the logits of the tokens c does not allow to -Inf, which
// the sampler treats as impossible (penalties and temperature keep -Inf),
// so that the draw is from the allowed tokens only. buf is reused.
func constrain(c Constraint, logits []float32, buf *[]uint64) error {
	words := (len(logits) + 63) / 64
	if cap(*buf) < words {
		*buf = make([]uint64, words)
	}
	mask := (*buf)[:words]
	clear(mask)
	if err := c.Mask(mask); err != nil {
		return fmt.Errorf("generate: constraint: %w", err)
	}
	ninf := float32(math.Inf(-1))
	for i := range logits {
		if mask[i>>6]&(1<<(i&63)) == 0 {
			logits[i] = ninf
		}
	}
	return nil
}
