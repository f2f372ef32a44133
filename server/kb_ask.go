// Reference: issue #22 "Answering"; rag.Ask over the server's native request path
// (Loaded.Generate), so that an answer takes its place in the model's queue like a chat.

package server

import (
	"context"
	"net/http"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// kbAskRequest is POST /v1/kb/ask's body.
type kbAskRequest struct {
	kbSearchRequest
	Question    string   `json:"question"`
	Model       string   `json:"model"`
	MaxTokens   int      `json:"max_tokens,omitempty"`   // default 256, at most a quarter of the model's context
	Temperature *float64 `json:"temperature,omitempty"`  // default 0 (greedy)
	MinCoverage *float64 `json:"min_coverage,omitempty"` // the "not found" threshold, default 0.3; negative: off
	// Stream sends the answer as server-sent events: {"delta": "…"} per
	// piece of text, then the whole KBAnswer, then [DONE].
	Stream bool `json:"stream,omitempty"`
}

// KBAnswer is POST /v1/kb/ask's answer.
type KBAnswer struct {
	Question  string     `json:"question"`
	Answer    string     `json:"answer"`
	NotFound  bool       `json:"not_found"`
	Citations []int      `json:"citations"`         // [n] of the answer that name a source, in order of use
	Invalid   []int      `json:"invalid_citations"` // [n] that name none
	Sources   []KBResult `json:"sources"`           // numbered 1… as in the prompt
}

// loadedGenerator answers through a loaded model's chat template and queue.
type loadedGenerator struct {
	l    *Loaded
	opts generate.Options
}

func (g loadedGenerator) request(system, user string) *generate.Request {
	return &generate.Request{Messages: []chat.Message{{Role: "system", Content: system}, {Role: "user", Content: user}}, Options: g.opts}
}

// fits leaves room for the answer (max_tokens) in the model's context.
func (g loadedGenerator) fits(system, user string) bool {
	ids, err := g.request(system, user).Render(g.l.Tok, g.l.Template)
	if err != nil {
		return false
	}
	return len(ids)+max(1, g.opts.MaxTokens) <= g.l.Ctx
}

func (g loadedGenerator) Generate(ctx context.Context, system, user string, onText func(string) error) error {
	_, err := g.l.Generate(ctx, g.request(system, user), func(ev generate.Event) error {
		if ev.Kind == generate.EventToken && ev.Text != "" {
			return onText(ev.Text)
		}
		return nil
	})
	return err
}

func (s *Server) kbAsk(w http.ResponseWriter, r *http.Request) {
	kb := s.kb(w, r)
	if kb == nil {
		return
	}
	var req kbAskRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	req.Query = req.Question
	if req.Question == "" {
		WriteError(w, r, Errorf(KindBadRequest, "question", "question is empty"))
		return
	}
	q, err := req.query()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if req.MaxTokens < 0 || (s.cfg.MaxTokensLimit > 0 && req.MaxTokens > s.cfg.MaxTokensLimit) {
		WriteError(w, r, Errorf(KindBadRequest, "max_tokens", "max_tokens %d is outside 1…%d (--max-tokens-limit)", req.MaxTokens, s.cfg.MaxTokensLimit))
		return
	}
	opts := generate.Options{MaxTokens: req.MaxTokens}
	if opts.MaxTokens == 0 {
		opts.MaxTokens = 256
		if s.cfg.MaxTokensLimit > 0 {
			opts.MaxTokens = min(opts.MaxTokens, s.cfg.MaxTokensLimit)
		}
	}

	if req.Temperature != nil {
		opts.Sampler.Temperature = float32(*req.Temperature)
	}
	if err := opts.Sampler.Validate(); err != nil {
		WriteError(w, r, Errorf(KindBadRequest, "temperature", "%v", err))
		return
	}
	o := rag.AskOptions{K: q.K, Mode: q.Mode, Filter: q.Filter}
	if req.MinCoverage != nil {
		o.MinCoverage = *req.MinCoverage
		if o.MinCoverage == 0 {
			o.MinCoverage = -1 // 0 asks for no threshold; rag reads 0 as its default
		}
	}
	l, release, err := s.Acquire(r.Context(), req.Model, nil)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	defer release()
	if l.Encoder != nil {
		WriteError(w, r, l.errEncoderGenerate())
		return
	}
	if req.MaxTokens == 0 {
		// The sources need the room more than the answer does: a client
		// that names no max_tokens (the web page) gets an answer of at
		// most a quarter of the model's context.
		opts.MaxTokens = min(opts.MaxTokens, max(16, l.Ctx/4))
	}
	g := loadedGenerator{l: l, opts: opts}
	o.Fits = g.fits
	if !g.fits(rag.SystemPrompt, rag.UserPrompt(req.Question, nil)) {
		WriteError(w, r, Errorf(KindContext, "max_tokens", "the question, the instructions and %d answer tokens do not fit model %s's context of %d tokens", opts.MaxTokens, req.Model, l.Ctx))
		return
	}
	var onText func(string) error
	var sse *sseWriter
	if req.Stream {
		sse = newSSE(w)
		onText = func(t string) error { return sse.send(map[string]string{"delta": t}) }
	}
	a, err := rag.Ask(r.Context(), kb.Store, g, req.Question, o, onText)
	if err != nil {
		if sse != nil && sse.started {
			sse.send(map[string]any{"error": map[string]string{"message": asError(err).Msg}})
			return
		}
		WriteError(w, r, err)
		return
	}
	out := KBAnswer{Question: a.Question, Answer: a.Text, NotFound: a.NotFound, Citations: a.Citations, Invalid: a.Invalid, Sources: kbResults(a.Sources)}
	if out.Citations == nil {
		out.Citations = []int{}
	}
	if out.Invalid == nil {
		out.Invalid = []int{}
	}
	if sse != nil {
		if sse.send(out) == nil {
			sse.done()
		}
		return
	}
	writeJSON(w, http.StatusOK, out)
}
