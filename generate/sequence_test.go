// Reference: the native request path (request.go, sequence.go) checked against Session.Generate, the
// loop it must agree with, and OpenAI's logprob/logit_bias semantics.

package generate

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
)

// runEvents runs req on s and returns its events.
func runEvents(t *testing.T, s *Session, req *Request, p []int32) ([]Event, *Done, error) {
	t.Helper()
	var evs []Event
	d, err := s.Run(context.Background(), req, p, func(e Event) error {
		evs = append(evs, e)
		return nil
	})
	return evs, d, err
}

// Run and Generate are two drivers of the same decoding: with the same
// options they must give the same tokens, text and stop reason.
func TestRunMatchesGenerate(t *testing.T) {
	for _, o := range []Options{
		{MaxTokens: 16, IgnoreEOG: true},
		{MaxTokens: 30, Sampler: SamplerOptions{Temperature: 1.2, TopK: 20, TopP: 0.9, MinP: 0.02, RepeatPenalty: 1.1, RepeatLastN: 8, Seed: 7}},
		{MaxTokens: 40, Stop: []string{"q", "zz"}, Sampler: SamplerOptions{Temperature: 1, Seed: 3}},
	} {
		want, err := newSession(t, 64).Generate(context.Background(), prompt, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		evs, d, err := runEvents(t, newSession(t, 64), &Request{Tokens: prompt, Options: o}, prompt)
		if err != nil {
			t.Fatal(err)
		}
		var ids []int32
		var text strings.Builder
		for i, e := range evs {
			switch {
			case e.Kind == EventToken:
				if e.Token >= 0 {
					ids = append(ids, e.Token)
				}
				text.WriteString(e.Text)
			case e.Kind == EventDone && i == len(evs)-1:
			default:
				t.Fatalf("event %d of %d: %+v", i, len(evs), e)
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(want.Tokens) || text.String() != want.Text || d.Text != want.Text || d.Stop != want.Stop {
			t.Errorf("options %+v:\nRun      %v %q %s\nGenerate %v %q %s", o, ids, text.String(), d.Stop, want.Tokens, want.Text, want.Stop)
		}
		if d.CompletionTokens != len(want.Tokens) || d.PromptTokens != len(prompt) || evs[len(evs)-1].Done != d {
			t.Errorf("done %+v", d)
		}
	}
}

func TestLogitBiasAndLogprobs(t *testing.T) {
	s := newSession(t, 64)
	o := Options{MaxTokens: 8, IgnoreEOG: true}
	evs, _, err := runEvents(t, s, &Request{Tokens: prompt, Options: o, Logprobs: true, TopLogprobs: 5}, prompt)
	if err != nil {
		t.Fatal(err)
	}
	first := evs[0]
	lp := first.Logprob
	if lp == nil || len(lp.Top) != 5 || lp.ID != first.Token || lp.Top[0].ID != first.Token || lp.Logprob != lp.Top[0].Logprob {
		t.Fatalf("greedy first token %d, logprob %+v", first.Token, lp)
	}
	var mass float64
	for i, x := range lp.Top {
		mass += math.Exp(float64(x.Logprob))
		if x.Logprob > 0 || (i > 0 && x.Logprob > lp.Top[i-1].Logprob) {
			t.Fatalf("top logprobs %+v", lp.Top)
		}
	}
	if mass > 1+1e-5 {
		t.Fatalf("top-5 probability mass %v > 1", mass)
	}
	// -100 bans the greedy choice; +100 forces another token.
	banned := first.Token
	evs, _, err = runEvents(t, newSession(t, 64), &Request{Tokens: prompt, Options: o, LogitBias: map[int32]float32{banned: -100}}, prompt)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range evs {
		if e.Kind == EventToken && e.Token == banned {
			t.Fatalf("banned token %d was generated", banned)
		}
	}
	evs, _, _ = runEvents(t, newSession(t, 64), &Request{Tokens: prompt, Options: o, LogitBias: map[int32]float32{33: 100}}, prompt)
	for _, e := range evs[:8] {
		if e.Token != 33 {
			t.Fatalf("forced token 33, got %d", e.Token)
		}
	}
}

func TestRunRejectsBadRequests(t *testing.T) {
	s := newSession(t, 16)
	long := make([]int32, 16)
	for _, tc := range []struct {
		req  *Request
		p    []int32
		want string
	}{
		{&Request{Tokens: prompt, TopLogprobs: 21}, prompt, "top_logprobs"},
		{&Request{Tokens: prompt, LogitBias: map[int32]float32{1: 200}}, prompt, "logit bias"},
		{&Request{Tokens: prompt, Prompt: "x"}, prompt, "exactly one"},
		{&Request{Tokens: prompt, Options: Options{Sampler: SamplerOptions{TopP: 2}}}, prompt, "top"},
		{&Request{Tokens: long}, long, "the prompt is 16 tokens and the context is 16"},
	} {
		evs, _, err := runEvents(t, s, tc.req, tc.p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want one mentioning %q", tc.req, err, tc.want)
		}
		if len(evs) != 1 || evs[0].Kind != EventError || evs[0].Err != err {
			t.Errorf("events %+v: want one error event", evs)
		}
	}
	if _, _, err := FitPrompt(long, 16, Options{}); !errors.Is(err, ErrPromptTooLong) {
		t.Errorf("FitPrompt: %v", err)
	}
	if p, n, err := FitPrompt(long, 16, Options{TruncatePrompt: true, MaxTokens: 4}); err != nil || n != 4 || len(p) != 12 || p[0] != long[0] {
		t.Errorf("FitPrompt with truncation: %d tokens, %d dropped, %v", len(p), n, err)
	}
}

func TestRunCancelAndConsumerError(t *testing.T) {
	s := newSession(t, 64)
	ctx, cancel := context.WithCancel(context.Background())
	n := 0
	d, err := s.Run(ctx, &Request{Tokens: prompt, Options: Options{IgnoreEOG: true}}, prompt, func(e Event) error {
		if e.Kind != EventToken {
			t.Errorf("event after cancel: %+v", e)
		}
		if n++; n == 3 {
			cancel()
		}
		return nil
	})
	if err != nil || d.Stop != StopCancelled || d.CompletionTokens != 3 {
		t.Fatalf("cancelled run: %+v, %v", d, err)
	}
	boom := errors.New("client gone")
	_, err = s.Run(context.Background(), &Request{Tokens: prompt, Options: Options{IgnoreEOG: true}}, prompt, func(e Event) error { return boom })
	if !errors.Is(err, boom) {
		t.Fatalf("consumer error: %v", err)
	}
	// The session stays usable: its cache matches what it computed.
	if _, _, err := runEvents(t, s, &Request{Tokens: prompt, Options: Options{MaxTokens: 4}}, prompt); err != nil {
		t.Fatal(err)
	}
}
