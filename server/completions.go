// Reference: OpenAI API reference, "Completions (legacy)": prompt (string, array, token arrays), echo,
// logprobs (an integer: alternatives per token) and the text_completion object, streamed as SSE.

package server

import (
	"net/http"
	"time"

	"github.com/gptgo/gptgo/generate"
)

// check validates what can be checked without the model.
func (c *completionRequest) check() error {
	if !c.Prompt.Set {
		return Errorf(KindBadRequest, "prompt", "prompt is required")
	}
	if c.Suffix != nil && *c.Suffix != "" {
		return Errorf(KindNotSupported, "suffix", "suffix (fill-in-the-middle) is not supported")
	}
	if c.N != nil && *c.N != 1 {
		return Errorf(KindBadRequest, "n", "n = %d: /v1/completions generates one choice per request (n must be 1; /v1/chat/completions takes up to %d)", *c.N, maxChoices)
	}
	if c.BestOf != nil && *c.BestOf != 1 {
		return Errorf(KindBadRequest, "best_of", "best_of = %d: gptgo generates one choice per request (best_of must be 1)", *c.BestOf)
	}
	if c.Logprobs != nil && (*c.Logprobs < 0 || *c.Logprobs > 5) {
		return Errorf(KindBadRequest, "logprobs", "logprobs %d is outside 0…5", *c.Logprobs)
	}
	if c.StreamOptions != nil && (c.Stream == nil || !*c.Stream) {
		return Errorf(KindBadRequest, "stream_options", "stream_options needs stream: true")
	}
	if c.Prompt.Text == "" && len(c.Prompt.Tokens) == 0 {
		return Errorf(KindBadRequest, "prompt", "prompt is empty")
	}
	return nil
}

// native translates a checked completion request for the model l.
func (c *completionRequest) native(l *Loaded, limit int) (*generate.Request, error) {
	f := samplerFields{c.Temperature, c.TopP, c.PresencePenalty, c.FrequencyPenalty, c.Seed, c.LogitBias, c.samplingExtensions, c.Stop, c.N}
	base := l.BaseOptions()
	o, bias, err := f.options(base, l.Tok.VocabSize())
	if err != nil {
		return nil, err
	}
	// The legacy API's default is 16 tokens.
	if c.MaxTokens == nil && base.MaxTokens <= 0 {
		sixteen := 16
		c.MaxTokens = &sixteen
	}
	if o.MaxTokens, err = maxTokens("max_tokens", c.MaxTokens, base.MaxTokens, limit); err != nil {
		return nil, err
	}
	r := &generate.Request{Prompt: c.Prompt.Text, Tokens: c.Prompt.Tokens, Options: o, LogitBias: bias}
	if c.Logprobs != nil {
		r.Logprobs, r.TopLogprobs = true, *c.Logprobs
	}
	if g, err := c.grammarExtensions.compile(); err != nil || g != nil { // structured.go
		if err != nil {
			return nil, err
		}
		if r.Options.Constraint, err = l.constraint(g); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// completions serves POST /v1/completions.
func (s *Server) completions(w http.ResponseWriter, r *http.Request) {
	var req completionRequest
	call := s.beginOpenAI(w, r, &req) // openai.go
	if call == nil {
		return
	}
	defer call.end()
	ctx, l, nreq := call.ctx, call.l, call.nreq
	echo := ""
	if req.Echo != nil && *req.Echo {
		echo = req.Prompt.Text
		if echo == "" {
			echo = l.Tok.Decode(req.Prompt.Tokens)
		}
	}
	id, created := newID("cmpl-"), time.Now().Unix()
	stream := req.Stream != nil && *req.Stream
	lps := &legacyLogprobs{Tokens: []string{}, TokenLogprobs: []float32{}, TopLogprobs: []map[string]float32{}, TextOffset: []int{}}
	offset := len(echo)
	addLogprob := func(lp *generate.TokenLogprob, into *legacyLogprobs) {
		text := l.Tok.TokenBytes(lp.ID)
		top := map[string]float32{}
		for _, t := range lp.Top {
			top[l.Tok.TokenBytes(t.ID)] = t.Logprob
		}
		into.Tokens = append(into.Tokens, text)
		into.TokenLogprobs = append(into.TokenLogprobs, lp.Logprob)
		into.TopLogprobs = append(into.TopLogprobs, top)
		into.TextOffset = append(into.TextOffset, offset)
		offset += len(text)
	}
	if !stream {
		d, err := l.Generate(ctx, nreq, func(ev generate.Event) error {
			if ev.Kind == generate.EventToken && ev.Logprob != nil {
				addLogprob(ev.Logprob, lps)
			}
			return nil
		})
		noteDone(w, d)
		if err == nil && d.Stop == generate.StopCancelled {
			err = cutShort(ctx, r)
			if err == nil {
				return
			}
		}
		if err != nil {
			WriteError(w, r, err)
			return
		}
		fr := finishReason(d.Stop)
		u := usageOf(d)
		ch := textChoice{Text: echo + d.Text, FinishReason: &fr}
		if nreq.Logprobs {
			ch.Logprobs = lps
		}
		writeJSON(w, http.StatusOK, textCompletion{ID: id, Object: "text_completion", Created: created, Model: req.Model,
			SystemFingerprint: fingerprint, Choices: []textChoice{ch}, Usage: &u})
		return
	}

	sse := newSSE(w)
	includeUsage := req.StreamOptions != nil && req.StreamOptions.IncludeUsage
	chunk := func(text string, lp *legacyLogprobs, finish *string) textCompletion {
		return textCompletion{ID: id, Object: "text_completion", Created: created, Model: req.Model, SystemFingerprint: fingerprint,
			Choices: []textChoice{{Text: text, Logprobs: lp, FinishReason: finish}}, nullUsage: includeUsage}
	}
	d, err := l.Generate(ctx, nreq, func(ev generate.Event) error {
		switch ev.Kind {
		case generate.EventToken:
			var lp *legacyLogprobs
			if ev.Logprob != nil {
				lp = &legacyLogprobs{}
				addLogprob(ev.Logprob, lp)
			}
			text := ev.Text
			if echo != "" {
				text, echo = echo+text, ""
			}
			if text == "" && lp == nil {
				return nil
			}
			return sse.send(chunk(text, lp, nil))
		case generate.EventDone:
			if ev.Done.Stop == generate.StopCancelled {
				return nil
			}
			fr := finishReason(ev.Done.Stop)
			if err := sse.send(chunk(echo, nil, &fr)); err != nil {
				return err
			}
			if includeUsage {
				u := usageOf(ev.Done)
				c := chunk("", nil, nil)
				c.Choices, c.Usage = []textChoice{}, &u
				if err := sse.send(c); err != nil {
					return err
				}
			}
			return sse.done()
		}
		return nil
	})
	noteDone(w, d)
	if err == nil && d != nil && d.Stop == generate.StopCancelled {
		err = cutShort(ctx, r)
	}
	s.finishStream(w, r, sse, err)
}
