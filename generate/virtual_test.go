// Reference: Lester et al. 2021 §2 (the learned prompt in front of every input).

package generate

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// promptSession is newSession's model with a prompt-tuning adapter of P
// random virtual tokens.
func promptSession(t *testing.T, ctx, P int) *Session {
	t.Helper()
	rng := rand.New(rand.NewPCG(5, 6))
	x := make([]float32, P*16)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	pt, err := tensor.FromFloat32(model.PromptTuningName, x, 16, P)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tinyModel(t, 1).WithAdapters(model.ScaledAdapter{Adapter: &model.Adapter{Arch: "llama", Prompt: pt}, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Ctx: ctx, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return NewSession(st, letters{})
}

// TestVirtualTokensPrepended: with a prompt-tuning adapter, a greedy
// generation is the argmax chain of the state fed -1 … -P and then the
// prompt; the reported prompt and cache counts are the prompt's own; a
// second turn that extends the first reuses the cache (virtual prefix
// included) and answers as a fresh session does.
func TestVirtualTokensPrepended(t *testing.T) {
	const P = 3
	s := promptSession(t, 64, P)
	o := Options{MaxTokens: 10, IgnoreEOG: true}
	r, err := s.Generate(context.Background(), prompt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(r.Prompt, prompt) || r.Reused != 0 {
		t.Fatalf("prompt %v reused %d, want the prompt as given and 0", r.Prompt, r.Reused)
	}
	st := s.State
	st.Reset()
	logits, err := st.Forward(append([]int32{-1, -2, -3}, prompt...))
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for range 10 {
		next := int32(slices.Index(logits, slices.Max(logits)))
		want = append(want, next)
		if logits, err = st.Forward([]int32{next}); err != nil {
			t.Fatal(err)
		}
	}
	if !slices.Equal(r.Tokens, want) {
		t.Fatalf("generated %v, want %v", r.Tokens, want)
	}
	plain, err := newSession(t, 64).Generate(context.Background(), prompt, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if slices.Equal(plain.Tokens, r.Tokens) {
		t.Fatalf("the virtual tokens changed nothing: %v", r.Tokens)
	}

	s = promptSession(t, 64, P)
	if _, err := s.Generate(context.Background(), prompt, o, nil); err != nil {
		t.Fatal(err)
	}
	turn2 := append(slices.Clone(prompt), 7, 8, 9)
	r2, err := s.Generate(context.Background(), turn2, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh, err := promptSession(t, 64, P).Generate(context.Background(), turn2, o, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r2.Reused != len(prompt) || !slices.Equal(r2.Tokens, fresh.Tokens) {
		t.Fatalf("second turn reused %d (want %d), generated %v, fresh %v", r2.Reused, len(prompt), r2.Tokens, fresh.Tokens)
	}
}

// TestVirtualTokensTakeContext: the virtual tokens take part of the
// context, which the too-long error says; truncation keeps the prompt
// within what is left.
func TestVirtualTokensTakeContext(t *testing.T) {
	s := promptSession(t, 16, 4)
	long := make([]int32, 12)
	for i := range long {
		long[i] = int32(1 + i)
	}
	_, err := s.Generate(context.Background(), long, Options{MaxTokens: 2}, nil)
	if !errors.Is(err, ErrPromptTooLong) || !strings.Contains(err.Error(), "4 virtual tokens") {
		t.Fatalf("12 tokens + 4 virtual in 16: %v", err)
	}
	r, err := s.Generate(context.Background(), long, Options{MaxTokens: 2, TruncatePrompt: true, IgnoreEOG: true}, nil)
	if err != nil || len(r.Prompt)+4+len(r.Tokens) > 16 || r.Dropped == 0 {
		t.Fatalf("truncated: prompt %d, dropped %d, %d generated, err %v", len(r.Prompt), r.Dropped, len(r.Tokens), err)
	}
	_, err = promptSession(t, 8, 7).Generate(context.Background(), prompt[:1], Options{MaxTokens: 1}, nil)
	if err == nil || !strings.Contains(err.Error(), "leave no room") {
		t.Fatalf("7 virtual tokens in a context of 8: %v", err)
	}
}
