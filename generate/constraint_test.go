// Reference: llama.cpp src/llama-sampling.cpp (grammar masking happens before the sampler chain).

package generate

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// spell is a Constraint that allows exactly the letters of word in order
// (the letters Vocab: token i is 'a'+i%26, token 2 ends a turn), then only
// the end of generation.
type spell struct {
	word     string
	at       int
	allowEOG bool
}

func (s *spell) Mask(allowed []uint64) error {
	if s.at < len(s.word) {
		t := int(s.word[s.at] - 'a')
		allowed[t/64] |= 1 << (t % 64)
		return nil
	}
	if !s.allowEOG {
		return errors.New("nothing can follow")
	}
	allowed[0] |= 1 << 2
	return nil
}

func (s *spell) Accept(tok int32) error {
	if s.at < len(s.word) && int(s.word[s.at]-'a') == int(tok) {
		s.at++
		return nil
	}
	if s.at == len(s.word) && tok == 2 {
		return nil
	}
	return errors.New("not allowed")
}

func (s *spell) Done() bool { return !s.allowEOG && s.at == len(s.word) }

// TestConstraintMasksTheDraw: whatever the model's logits and sampler
// settings, only the allowed tokens are drawn, through both Generate and
// Run; a Done constraint ends generation, an exhausted one fails it.
func TestConstraintMasksTheDraw(t *testing.T) {
	for _, temp := range []float32{0, 1.5} {
		s := newSession(t, 64)
		o := Options{Sampler: SamplerOptions{Temperature: temp, TopK: 3, Seed: 9}, MaxTokens: 20, Constraint: &spell{word: "hello"}}
		r, err := s.Generate(context.Background(), prompt, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Text != "hello" || r.Stop != StopEOG || len(r.Tokens) != 5 {
			t.Errorf("temp %v: Generate gave %q (%s, %d tokens), want hello ended by the constraint", temp, r.Text, r.Stop, len(r.Tokens))
		}

		req := &Request{Tokens: prompt, Options: o}
		req.Options.Constraint = &spell{word: "be", allowEOG: true}
		req.LogitBias = map[int32]float32{7: 100} // the bias cannot bring back a masked token
		d, err := s.Run(context.Background(), req, prompt, func(Event) error { return nil })
		if err != nil {
			t.Fatal(err)
		}
		if d.Text != "be" || d.Stop != StopEOG || d.CompletionTokens != 3 {
			t.Errorf("temp %v: Run gave %q (%s, %d tokens), want be then the end token", temp, d.Text, d.Stop, d.CompletionTokens)
		}
	}
	s := newSession(t, 64)
	req := &Request{Tokens: prompt, Options: Options{MaxTokens: 20, IgnoreEOG: true, Constraint: &spell{word: "ab", allowEOG: true}}}
	var events []EventKind
	_, err := s.Run(context.Background(), req, prompt, func(e Event) error { events = append(events, e.Kind); return nil })
	if err != nil {
		t.Fatalf("the end token accepted with IgnoreEOG: %v", err)
	}
	o := Options{MaxTokens: 20, Constraint: &failing{}}
	if _, err := s.Generate(context.Background(), prompt, o, nil); err == nil || !strings.Contains(err.Error(), "constraint: no token fits") {
		t.Errorf("a constraint with nothing allowed: got %v", err)
	}
	events = events[:0]
	req = &Request{Tokens: prompt, Options: o}
	if _, err := s.Run(context.Background(), req, prompt, func(e Event) error { events = append(events, e.Kind); return nil }); err == nil || len(events) != 1 || events[0] != EventError {
		t.Errorf("Run with a failing constraint: err %v, events %v; want one error event", err, events)
	}
}

type failing struct{}

func (failing) Mask([]uint64) error { return errors.New("no token fits") }
func (failing) Accept(int32) error  { return nil }
func (failing) Done() bool          { return false }

// TestConstraintLogprobs: tokens a constraint masks out are never listed as
// alternatives (their -Inf would not even encode as JSON).
func TestConstraintLogprobs(t *testing.T) {
	s := newSession(t, 64)
	req := &Request{Tokens: prompt, Logprobs: true, TopLogprobs: 5, Options: Options{MaxTokens: 5, Constraint: &spell{word: "ab"}}}
	_, err := s.Run(context.Background(), req, prompt, func(e Event) error {
		if e.Kind == EventToken && e.Logprob != nil {
			if len(e.Logprob.Top) != 1 || math.IsInf(float64(e.Logprob.Logprob), 0) {
				t.Errorf("token %d: logprob %v, top %+v; want the one allowed token", e.Token, e.Logprob.Logprob, e.Logprob.Top)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
