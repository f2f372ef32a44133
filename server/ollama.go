// Reference: Ollama's docs/api.md (POST /api/generate and /api/chat: NDJSON streaming by default,
// a final object with done, done_reason and durations in nanoseconds, context for generate; an
// empty prompt or message list loads the model, with keep_alive 0 unloads it; errors as
// {"error": "..."}).

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// ollamaRoutes registers the Ollama API (/api/…) on mux, with s.handle so
// that wrong methods get Ollama's 405. Its handlers translate to and from
// the native request path (Loaded.Generate) and run no generation loop of
// their own. The options live in ollama_options.go, the model endpoints in
// ollama_models.go and ollama_create.go, the wire types in ollama_wire.go, and embeddings
// (/api/embed, /api/embeddings) in embed.go.
func (s *Server) ollamaRoutes(mux *http.ServeMux) {
	s.handle("POST /api/generate", s.ollamaGenerate)
	s.handle("POST /api/chat", s.ollamaChat)
	s.handle("GET /api/tags", s.ollamaTags)
	s.handle("POST /api/show", s.ollamaShow)
	s.handle("GET /api/ps", s.ollamaPs)
	s.handle("GET /api/version", s.ollamaVersion)
	s.handle("POST /api/copy", s.ollamaCopy)
	s.handle("DELETE /api/delete", s.ollamaDelete)
	s.handle("POST /api/create", s.ollamaCreate)
}

// ollamaNotFound rewords a missing model as Ollama does, which some clients
// look for; other errors pass unchanged.
func ollamaNotFound(err error, name string) error {
	if errors.Is(err, modelstore.ErrNotFound) {
		return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("model %q not found, try pulling it first", name), Param: "model"}
	}
	return err
}

// ollamaLoadOnly answers a request with no prompt: Ollama's way to load a
// model ahead of use, or with keep_alive 0 to unload it.
func (s *Server) ollamaLoadOnly(w http.ResponseWriter, r *http.Request, model string, keep *ollamaDuration, build func(reason string) any) {
	if keep != nil && keep.d == 0 {
		if err := s.Unload(model); err != nil {
			WriteError(w, r, ollamaNotFound(err, model))
			return
		}
		writeJSON(w, http.StatusOK, build("unload"))
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	_, release, err := s.Acquire(ctx, model, keepAliveOf(keep))
	if err != nil {
		WriteError(w, r, ollamaNotFound(err, model))
		return
	}
	release()
	writeJSON(w, http.StatusOK, build("load"))
}

// ollamaGenerate serves POST /api/generate.
func (s *Server) ollamaGenerate(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req ollamaGenerateRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	if err := req.check(); err != nil {
		WriteError(w, r, err)
		return
	}
	if req.Prompt == "" && len(req.Context) == 0 {
		s.ollamaLoadOnly(w, r, req.Model, req.KeepAlive, func(reason string) any {
			return ollamaGenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Done: true, DoneReason: reason}
		})
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	l, release, err := s.Acquire(ctx, req.Model, keepAliveOf(req.KeepAlive))
	if err != nil {
		WriteError(w, r, ollamaNotFound(err, req.Model))
		return
	}
	defer release()
	noteModel(w, l.Entry.Name)
	loaded := time.Since(start)
	nreq, err := req.native(s, l)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	run := &ollamaRun{s: s, l: l, start: start, load: loaded, stream: req.Stream == nil || *req.Stream}
	run.serve(w, r, nreq, func(text string, lps []ollamaLogprob) any {
		return ollamaGenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Response: text, Logprobs: lps}
	}, func(d *generate.Done, text string, lps []ollamaLogprob, generated []int32) any {
		resp := ollamaGenerateResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Response: text, Done: true,
			DoneReason: ollamaDoneReason(d.Stop), Logprobs: lps, ollamaMetrics: run.metrics(d)}
		if !req.Raw { // as Ollama: raw mode returns no context
			resp.Context = append(promptAsRun(nreq.Tokens, d.Dropped), generated...)
		}
		return resp
	})
}

// check validates what can be checked without the model.
func (g *ollamaGenerateRequest) check() error {
	if g.Model == "" {
		return Errorf(KindBadRequest, "model", "model is required")
	}
	if err := ollamaRefuse(g.Format, g.Think); err != nil {
		return err
	}
	if isSet(g.Images) {
		return Errorf(KindNotSupported, "images", "images: gptgo's models do not support images")
	}
	if g.Suffix != "" {
		return Errorf(KindNotSupported, "suffix", "suffix: fill-in-the-middle (insert) is not supported")
	}
	if g.Raw && (g.Template != "" || g.System != "") {
		return Errorf(KindBadRequest, "raw", "raw: the prompt is sent as it is, so system and template cannot apply; drop them or raw")
	}
	if g.TopLogprobs != 0 && !g.Logprobs {
		return Errorf(KindBadRequest, "top_logprobs", "top_logprobs needs logprobs: true")
	}
	return nil
}

// native translates a checked generate request for the model l. The prompt
// is tokenized here (the template applied unless raw, after the context of
// an earlier answer), so that the final object can return the context.
func (g *ollamaGenerateRequest) native(s *Server, l *Loaded) (*generate.Request, error) {
	o, err := s.ollamaOptions(l, g.Options)
	if err != nil {
		return nil, err
	}
	o.TruncatePrompt = g.Truncate != nil && *g.Truncate
	text := g.Prompt
	if !g.Raw {
		tmpl := l.Template
		if g.Template != "" {
			if err := modelstore.CheckTemplate(g.Template); err != nil {
				return nil, Errorf(KindBadRequest, "template", "template: %v", err)
			}
			if tmpl, err = chat.New(g.Template, l.Template.BOS(), l.Template.EOS()); err != nil {
				return nil, Errorf(KindBadRequest, "template", "template: %v", err)
			}
		}
		var msgs []chat.Message
		system := g.System
		if system == "" {
			system = l.Entry.System
		}
		if system != "" {
			msgs = append(msgs, chat.Message{Role: "system", Content: system})
		}
		msgs = append(msgs, chat.Message{Role: "user", Content: g.Prompt})
		if text, err = tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true, TrimBOSEOS: l.Tok.AddBOS()}); err != nil {
			return nil, Errorf(KindBadRequest, "template", "chat template: %v", err)
		}
	}
	V := l.Tok.VocabSize()
	for i, id := range g.Context {
		if id < 0 || int(id) >= V {
			return nil, Errorf(KindBadRequest, "context", "context[%d] = %d is not a token of %q (0…%d)", i, id, l.Entry.Name, V-1)
		}
	}
	tokens := append([]int32(nil), g.Context...)
	tokens = append(tokens, l.Tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: len(g.Context) == 0, ParseSpecial: true})...)
	r := &generate.Request{Tokens: tokens, Options: o, Logprobs: g.Logprobs, TopLogprobs: g.TopLogprobs}
	if len(tokens) == 0 {
		return nil, Errorf(KindBadRequest, "prompt", "the prompt is empty once tokenized and the model adds no BOS token")
	}
	if r.Options.Constraint, err = l.formatConstraint(g.Format); err != nil { // structured.go
		return nil, err
	}
	return r, nil
}

// promptAsRun is the prompt tokens a generation ran on: all of them, or,
// when TruncatePrompt dropped some, the first (usually BOS) and the rest
// after the dropped ones, as generate.FitPrompt cuts.
func promptAsRun(tokens []int32, dropped int) []int32 {
	if dropped <= 0 || dropped >= len(tokens) {
		return append([]int32(nil), tokens...)
	}
	return append([]int32{tokens[0]}, tokens[1+dropped:]...)
}

// ollamaChat serves POST /api/chat.
func (s *Server) ollamaChat(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var req ollamaChatRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	msgs, err := req.check()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if len(msgs) == 0 {
		s.ollamaLoadOnly(w, r, req.Model, req.KeepAlive, func(reason string) any {
			return ollamaChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: ollamaMessage{Role: "assistant"}, Done: true, DoneReason: reason}
		})
		return
	}
	ctx, cancel := s.requestContext(r)
	defer cancel()
	l, release, err := s.Acquire(ctx, req.Model, keepAliveOf(req.KeepAlive))
	if err != nil {
		WriteError(w, r, ollamaNotFound(err, req.Model))
		return
	}
	defer release()
	noteModel(w, l.Entry.Name)
	loaded := time.Since(start)
	o, err := s.ollamaOptions(l, req.Options)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	o.TruncatePrompt = req.Truncate != nil && *req.Truncate
	if l.Entry.System != "" && msgs[0].Role != "system" {
		msgs = append([]chat.Message{{Role: "system", Content: l.Entry.System}}, msgs...)
	}
	nreq := &generate.Request{Messages: msgs, Options: o, Logprobs: req.Logprobs, TopLogprobs: req.TopLogprobs}
	if nreq.Options.Constraint, err = l.formatConstraint(req.Format); err != nil { // structured.go
		WriteError(w, r, err)
		return
	}
	th, err := l.ollamaTools(req.Tools, nreq) // tools.go
	if err != nil {
		WriteError(w, r, err)
		return
	}
	run := &ollamaRun{s: s, l: l, start: start, load: loaded, stream: req.Stream == nil || *req.Stream}
	run.serve(w, r, nreq, func(text string, lps []ollamaLogprob) any {
		content := th.push(text)
		calls := th.takeCalls() // each call in the chunk where it ends, as Ollama streams them (tools.go)
		return ollamaChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: ollamaMessage{Role: "assistant", Content: content, ToolCalls: calls}, Logprobs: lps}
	}, func(d *generate.Done, text string, lps []ollamaLogprob, _ []int32) any {
		text, calls := th.ollamaFinal(d.Text, run.stream)
		return ollamaChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: ollamaMessage{Role: "assistant", Content: text, ToolCalls: calls}, Done: true,
			DoneReason: ollamaDoneReason(d.Stop), Logprobs: lps, ollamaMetrics: run.metrics(d)}
	})
}

// check validates a chat request and translates its messages.
func (c *ollamaChatRequest) check() ([]chat.Message, error) {
	if c.Model == "" {
		return nil, Errorf(KindBadRequest, "model", "model is required")
	}
	if err := ollamaRefuse(c.Format, c.Think); err != nil {
		return nil, err
	}
	if c.TopLogprobs != 0 && !c.Logprobs {
		return nil, Errorf(KindBadRequest, "top_logprobs", "top_logprobs needs logprobs: true")
	}
	out := make([]chat.Message, 0, len(c.Messages))
	for i, m := range c.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		if isSet(m.Images) {
			return nil, Errorf(KindNotSupported, param+".images", "%s.images: gptgo's models do not support images", param)
		}
		msg := chat.Message{Role: m.Role, Content: m.Content}
		switch m.Role {
		case "system", "user":
		case "assistant":
			for j, tc := range m.ToolCalls {
				args := strings.TrimSpace(string(tc.Function.Arguments))
				if args == "" || args == "null" {
					args = "{}"
				}
				if !json.Valid([]byte(args)) {
					return nil, Errorf(KindBadRequest, fmt.Sprintf("%s.tool_calls[%d]", param, j), "%s.tool_calls[%d].function.arguments is not JSON", param, j)
				}
				msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{Name: tc.Function.Name, Arguments: args})
			}
		case "tool":
			msg.Name = m.ToolName
		case "":
			return nil, Errorf(KindBadRequest, param+".role", "%s: role is required", param)
		default:
			return nil, Errorf(KindBadRequest, param+".role", "%s: unknown role %q (system, user, assistant, tool)", param, m.Role)
		}
		out = append(out, msg)
	}
	return out, nil
}

// ollamaDoneReason maps a stop reason to Ollama's done_reason.
func ollamaDoneReason(s generate.StopReason) string {
	switch s {
	case generate.StopMaxTokens, generate.StopContext:
		return "length"
	}
	return "stop"
}

// ollamaRun streams one generation as Ollama answers: NDJSON objects, one
// per piece of text, then a final object with done: true; or, with stream
// false, only the final object holding the whole text.
type ollamaRun struct {
	s      *Server
	l      *Loaded
	start  time.Time
	load   time.Duration // waiting for the model (its load, if this request caused it)
	stream bool
}

// metrics are the final object's figures.
func (o *ollamaRun) metrics(d *generate.Done) ollamaMetrics {
	eval := d.GenerateTime
	if d.FirstToken > d.PromptTime { // the first token's sampling counts as generation
		eval += d.FirstToken - d.PromptTime
	}
	return ollamaMetrics{
		TotalDuration: int64(time.Since(o.start)), LoadDuration: int64(o.load),
		PromptEvalCount: d.PromptTokens, PromptEvalDuration: int64(d.PromptTime),
		EvalCount: d.CompletionTokens, EvalDuration: int64(eval),
	}
}

func (o *ollamaRun) serve(w http.ResponseWriter, r *http.Request, nreq *generate.Request,
	piece func(text string, lps []ollamaLogprob) any,
	final func(d *generate.Done, text string, lps []ollamaLogprob, generated []int32) any) {
	ctx, cancel := o.s.requestContext(r)
	defer cancel()
	var generated []int32
	var lps []ollamaLogprob
	nd := newNDJSON(w)
	d, err := o.l.Generate(ctx, nreq, func(ev generate.Event) error {
		switch ev.Kind {
		case generate.EventToken:
			if ev.Token >= 0 {
				generated = append(generated, ev.Token)
			}
			var lp []ollamaLogprob
			if ev.Logprob != nil {
				lp = []ollamaLogprob{o.logprob(ev.Logprob)}
			}
			if !o.stream {
				lps = append(lps, lp...)
				return nil
			}
			if ev.Text == "" && lp == nil {
				return nil
			}
			return nd.send(piece(ev.Text, lp))
		case generate.EventDone:
			if ev.Done.Stop == generate.StopCancelled || !o.stream {
				return nil
			}
			return nd.send(final(ev.Done, "", nil, generated))
		}
		return nil
	})
	noteDone(w, d)
	if err == nil && d != nil && d.Stop == generate.StopCancelled && r.Context().Err() == nil {
		// Cancelled while the client still listens: the server is closing.
		err = Errorf(KindUnavailable, "", "the server is shutting down; the generation was cancelled after %d tokens", d.CompletionTokens)
	}
	if !o.stream {
		if err != nil {
			if r.Context().Err() == nil {
				WriteError(w, r, err)
			}
			return
		}
		writeJSON(w, http.StatusOK, final(d, d.Text, lps, generated))
		return
	}
	if err == nil || r.Context().Err() != nil || nd.failed {
		return
	}
	if !nd.started {
		WriteError(w, r, err)
		return
	}
	nd.send(ollamaErrorBody(err))
}

// logprob is a token's logprob in Ollama's shape.
func (o *ollamaRun) logprob(lp *generate.TokenLogprob) ollamaLogprob {
	text := o.l.Tok.TokenBytes(lp.ID)
	out := ollamaLogprob{Token: text, Logprob: lp.Logprob, Bytes: byteInts(text)}
	for _, t := range lp.Top {
		tt := o.l.Tok.TokenBytes(t.ID)
		out.TopLogprobs = append(out.TopLogprobs, ollamaTopLogprob{Token: tt, Logprob: t.Logprob, Bytes: byteInts(tt)})
	}
	return out
}

// ndjsonWriter writes one response as newline-delimited JSON, flushing each
// object. Headers go out with the first object, so that an error before it
// can still be a status.
type ndjsonWriter struct {
	w       http.ResponseWriter
	rc      *http.ResponseController
	started bool
	failed  bool // a write failed: the client is gone
}

func newNDJSON(w http.ResponseWriter) *ndjsonWriter {
	return &ndjsonWriter{w: w, rc: http.NewResponseController(w)}
}

func (n *ndjsonWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	if !n.started {
		n.started = true
		n.w.Header().Set("Content-Type", "application/x-ndjson")
		n.w.Header().Set("X-Accel-Buffering", "no")
		n.w.WriteHeader(http.StatusOK)
	}
	if _, err := n.w.Write(append(b, '\n')); err != nil {
		n.failed = true
		return err
	}
	if err := n.rc.Flush(); err != nil {
		n.failed = true
		return err
	}
	return nil
}
