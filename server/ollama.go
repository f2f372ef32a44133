// Reference: Ollama's docs/api.md (POST /api/generate and /api/chat: NDJSON streaming by default,
// a final object with done, done_reason and durations in nanoseconds, context for generate; an
// empty prompt or message list loads the model, with keep_alive 0 unloads it; GET /api/tags,
// POST /api/show, GET /api/ps, GET /api/version, POST /api/copy, DELETE /api/delete; errors as
// {"error": "..."}) and docs/modelfile.md (options are the PARAMETER names).

package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sort"
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
// their own. Embeddings (/api/embed, /api/embeddings) live in embed.go.
func (s *Server) ollamaRoutes(mux *http.ServeMux) {
	s.handle("POST /api/generate", s.ollamaGenerate)
	s.handle("POST /api/chat", s.ollamaChat)
	s.handle("GET /api/tags", s.ollamaTags)
	s.handle("POST /api/show", s.ollamaShow)
	s.handle("GET /api/ps", s.ollamaPs)
	s.handle("GET /api/version", s.ollamaVersion)
	s.handle("POST /api/copy", s.ollamaCopy)
	s.handle("DELETE /api/delete", s.ollamaDelete)
}

// ollamaNotFound rewords a missing model as Ollama does, which some clients
// look for; other errors pass unchanged.
func ollamaNotFound(err error, name string) error {
	if errors.Is(err, modelstore.ErrNotFound) {
		return &Error{Kind: KindNotFound, Msg: fmt.Sprintf("model %q not found, try pulling it first", name), Param: "model"}
	}
	return err
}

// ollamaRefuse rejects the request fields gptgo cannot honour yet, by name.
func ollamaRefuse(format, think json.RawMessage) error {
	if isSet(format) && string(format) != `""` {
		return Errorf(KindNotSupported, "format", "format: structured output (JSON mode and JSON schemas) is not supported yet")
	}
	if isSet(think) && string(think) != "false" {
		return Errorf(KindNotSupported, "think", "think: gptgo's models do not support thinking")
	}
	return nil
}

// keepAliveOf is the request's keep_alive for Server.Acquire.
func keepAliveOf(k *ollamaDuration) *time.Duration {
	if k == nil {
		return nil
	}
	d := k.d
	return &d
}

// ollamaOptions applies a request's options over the model's base options.
// Every name is checked against modelstore.Params: unknown names are one
// 400 that lists them, hardware hints are accepted and have no effect, and
// samplers gptgo lacks are refused unless set to their off value.
func (s *Server) ollamaOptions(l *Loaded, opts map[string]json.RawMessage) (generate.Options, error) {
	o := l.BaseOptions()
	var unknown []string
	for name := range opts {
		if _, ok := modelstore.Params[name]; !ok {
			unknown = append(unknown, name)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return o, Errorf(KindBadRequest, "options", "unknown options: %s (the names are Ollama's PARAMETERs: num_ctx, num_predict, temperature, top_k, top_p, min_p, seed, stop, repeat_penalty, repeat_last_n, presence_penalty, frequency_penalty, …)", strings.Join(unknown, ", "))
	}
	names := make([]string, 0, len(opts))
	for name := range opts {
		names = append(names, name)
	}
	sort.Strings(names)
	maxTok := o.MaxTokens
	askedMax := false
	for _, name := range names {
		raw := opts[name]
		if !isSet(raw) && string(raw) != "[]" {
			continue // null: the model's value stays
		}
		p := modelstore.Params[name]
		values, err := optionValues(name, p.Kind, raw)
		if err != nil {
			return o, err
		}
		var norm []string
		for _, v := range values {
			n, err := modelstore.CheckParam(name, v)
			if err != nil {
				return o, Errorf(KindBadRequest, "options."+name, "options.%v", err)
			}
			norm = append(norm, n)
		}
		if p.Use != modelstore.Applied {
			continue
		}
		one := map[string][]string{name: norm}
		sm := &o.Sampler
		switch name {
		case "temperature":
			sm.Temperature = paramFloat(one, name, 0)
		case "top_k":
			sm.TopK = paramInt(one, name, 0)
		case "top_p":
			sm.TopP = paramFloat(one, name, 0)
		case "min_p":
			sm.MinP = paramFloat(one, name, 0)
		case "repeat_penalty":
			sm.RepeatPenalty = paramFloat(one, name, 0)
		case "repeat_last_n":
			sm.RepeatLastN = paramInt(one, name, 0)
		case "presence_penalty":
			sm.PresencePenalty = paramFloat(one, name, 0)
		case "frequency_penalty":
			sm.FrequencyPenalty = paramFloat(one, name, 0)
		case "seed":
			if n := paramInt(one, name, -1); n >= 0 { // Ollama: -1 is a random seed
				sm.Seed = uint64(n)
			}
		case "stop":
			o.Stop = norm // the request's stop strings replace the model's
		case "num_predict":
			maxTok, askedMax = paramInt(one, name, 0), true
		case "num_ctx":
			if n := paramInt(one, name, 0); n > l.Ctx {
				return o, Errorf(KindBadRequest, "options.num_ctx", "options.num_ctx %d is more than the %d tokens of context %q is loaded with (set PARAMETER num_ctx in its Modelfile, or start gptgo serve with --ctx)", n, l.Ctx, l.Entry.Name)
			} else if n < 1 {
				return o, Errorf(KindBadRequest, "options.num_ctx", "options.num_ctx %d: must be at least 1", n)
			}
		}
	}
	if len(o.Stop) > 16 {
		return o, Errorf(KindBadRequest, "options.stop", "options.stop: %d strings, at most 16", len(o.Stop))
	}
	if askedMax {
		switch {
		case maxTok == 0:
			return o, Errorf(KindBadRequest, "options.num_predict", "options.num_predict 0: ask for at least 1 token, or -1 for no limit but the context")
		case maxTok < 0: // -1: no limit, -2: fill the context
			n, err := maxTokens("options.num_predict", nil, 0, s.cfg.MaxTokensLimit)
			if err != nil {
				return o, err
			}
			o.MaxTokens = n
		default:
			n, err := maxTokens("options.num_predict", &maxTok, o.MaxTokens, s.cfg.MaxTokensLimit)
			if err != nil {
				return o, err
			}
			o.MaxTokens = n
		}
	} else {
		n, err := maxTokens("options.num_predict", nil, o.MaxTokens, s.cfg.MaxTokensLimit)
		if err != nil {
			return o, err
		}
		o.MaxTokens = n
	}
	if err := o.Sampler.Validate(); err != nil {
		return o, Errorf(KindBadRequest, "options", "options: %v", err)
	}
	return o, nil
}

// optionValues turns one option's JSON into the text values CheckParam
// reads: numbers and booleans as written, strings for "stop" (a string or
// an array of them).
func optionValues(name string, kind modelstore.Kind, raw json.RawMessage) ([]string, error) {
	bad := func(want string) error {
		return Errorf(KindBadRequest, "options."+name, "options.%s: expected %s, got %s", name, want, strings.TrimSpace(string(raw)))
	}
	switch kind {
	case modelstore.String:
		var one string
		if json.Unmarshal(raw, &one) == nil {
			return []string{one}, nil
		}
		var many []string
		if err := json.Unmarshal(raw, &many); err != nil {
			return nil, bad("a string or an array of strings")
		}
		for _, v := range many {
			if v == "" {
				return nil, Errorf(KindBadRequest, "options."+name, "options.%s: an empty string", name)
			}
		}
		return many, nil
	case modelstore.Bool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, bad("true or false")
		}
		return []string{fmt.Sprint(b)}, nil
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil || strings.HasPrefix(strings.TrimSpace(string(raw)), `"`) {
		if kind == modelstore.Int {
			return nil, bad("an integer")
		}
		return nil, bad("a number")
	}
	return []string{n.String()}, nil
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
	run := &ollamaRun{s: s, l: l, start: start, load: loaded, stream: req.Stream == nil || *req.Stream}
	run.serve(w, r, nreq, func(text string, lps []ollamaLogprob) any {
		return ollamaChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: ollamaMessage{Role: "assistant", Content: text}, Logprobs: lps}
	}, func(d *generate.Done, text string, lps []ollamaLogprob, _ []int32) any {
		return ollamaChatResponse{Model: req.Model, CreatedAt: time.Now().UTC(), Message: ollamaMessage{Role: "assistant", Content: text}, Done: true,
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
	if isSet(c.Tools) {
		return nil, Errorf(KindNotSupported, "tools", "tools: tool calling is not supported yet")
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
	if !o.stream {
		if err != nil {
			WriteError(w, r, err)
			return
		}
		if d.Stop != generate.StopCancelled {
			writeJSON(w, http.StatusOK, final(d, d.Text, lps, generated))
		}
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

// ollamaDetailsOf is an entry's details in Ollama's shape.
func ollamaDetailsOf(e modelstore.Entry) ollamaDetails {
	d := ollamaDetails{Format: e.Details.Format, Family: e.Details.Family, QuantizationLevel: e.Details.QuantizationLevel}
	if d.Family != "" {
		d.Families = []string{d.Family}
	}
	if e.Details.ParameterCount > 0 {
		d.ParameterSize = e.Details.ParameterSize()
	}
	return d
}

// ollamaModelOf is an entry as /api/tags lists it. The digest identifies
// the file's version (name, size and modification time), not its content:
// hashing gigabytes on every listing would be too slow.
func ollamaModelOf(e modelstore.Entry) ollamaModel {
	return ollamaModel{Name: e.Name, Model: e.Name, ModifiedAt: e.Modified, Size: e.Size,
		Digest: digestOf(e), Details: ollamaDetailsOf(e)}
}

// ollamaTags serves GET /api/tags.
func (s *Server) ollamaTags(w http.ResponseWriter, r *http.Request) {
	entries, err := s.cfg.Models.List()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := struct {
		Models []ollamaModel `json:"models"`
	}{[]ollamaModel{}}
	for _, e := range entries {
		if e.Err == nil {
			out.Models = append(out.Models, ollamaModelOf(e))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// ollamaPs serves GET /api/ps. A model kept forever gets Ollama's far
// future expiry (about 292 years ahead) so that clients parse a time.
func (s *Server) ollamaPs(w http.ResponseWriter, r *http.Request) {
	out := struct {
		Models []ollamaRunning `json:"models"`
	}{[]ollamaRunning{}}
	for _, m := range s.Running() {
		exp := m.ExpiresAt
		if exp.IsZero() {
			exp = time.Now().Add(math.MaxInt64)
		}
		om := ollamaModelOf(m.Entry)
		om.Size = m.Bytes
		out.Models = append(out.Models, ollamaRunning{ollamaModel: om, ExpiresAt: exp.UTC(), ContextLength: m.Ctx})
	}
	writeJSON(w, http.StatusOK, out)
}

// ollamaVersion serves GET /api/version.
func (s *Server) ollamaVersion(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"version": s.cfg.Version})
}

// ollamaShow serves POST /api/show.
func (s *Server) ollamaShow(w http.ResponseWriter, r *http.Request) {
	var req ollamaShowRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if name == "" {
		WriteError(w, r, Errorf(KindBadRequest, "model", "model is required"))
		return
	}
	e, err := s.cfg.Models.Resolve(name)
	if err == nil && e.Err != nil {
		err = e.Err
	}
	if errors.Is(err, modelstore.ErrNotFound) {
		err = &Error{Kind: KindNotFound, Msg: fmt.Sprintf("model '%s' not found", name), Param: "model"}
	}
	if err != nil {
		WriteError(w, r, err)
		return
	}
	f, err := e.Open()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	defer f.Close()
	mf := modelstore.ModelfileOf(e, f)
	text, err := mf.Format()
	if err != nil {
		text = "# " + err.Error() + "\n"
	}
	resp := ollamaShowResponse{
		Modelfile:    "# Modelfile generated by \"gptgo show\"\n# To build a new model from this one: gptgo create NEWNAME -f Modelfile\n" + text,
		System:       e.System,
		Details:      ollamaDetailsOf(e),
		ModelInfo:    modelstore.Info(f, e, req.Verbose),
		Capabilities: []string{"completion"},
		ModifiedAt:   e.Modified,
	}
	if mf.Template != nil {
		resp.Template = *mf.Template
	}
	if len(mf.License) > 0 {
		resp.License = mf.License[0]
	}
	var lines []string
	for _, p := range mf.Parameters {
		v := p.Value
		if p.Name == "stop" {
			v = fmt.Sprintf("%q", v)
		}
		lines = append(lines, fmt.Sprintf("%-30s %s", p.Name, v))
	}
	resp.Parameters = strings.Join(lines, "\n")
	writeJSON(w, http.StatusOK, resp)
}

// ollamaCopy serves POST /api/copy: 200 with no body, as Ollama answers.
func (s *Server) ollamaCopy(w http.ResponseWriter, r *http.Request) {
	var req ollamaCopyRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	if req.Source == "" || req.Destination == "" {
		WriteError(w, r, Errorf(KindBadRequest, "source", "source and destination are required"))
		return
	}
	if _, err := s.cfg.Models.Copy(req.Source, req.Destination); err != nil {
		if errors.Is(err, modelstore.ErrNotFound) {
			err = &Error{Kind: KindNotFound, Msg: fmt.Sprintf("model '%s' not found", req.Source), Param: "source"}
		}
		WriteError(w, r, modelError(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// ollamaDelete serves DELETE /api/delete. The model is removed from the
// directory; a loaded copy keeps serving until it unloads.
func (s *Server) ollamaDelete(w http.ResponseWriter, r *http.Request) {
	var req ollamaDeleteRequest
	if err := decodeBody(r, &req); err != nil {
		WriteError(w, r, err)
		return
	}
	name := req.Model
	if name == "" {
		name = req.Name
	}
	if name == "" {
		WriteError(w, r, Errorf(KindBadRequest, "model", "model is required"))
		return
	}
	if err := s.cfg.Models.Remove(name); err != nil {
		if errors.Is(err, modelstore.ErrNotFound) {
			err = &Error{Kind: KindNotFound, Msg: fmt.Sprintf("model '%s' not found", name), Param: "model"}
		}
		WriteError(w, r, modelError(err))
		return
	}
	w.WriteHeader(http.StatusOK)
}

// modelError makes the store's refusals (the read-only default) 400s.
func modelError(err error) error {
	if errors.Is(err, modelstore.ErrReadOnly) {
		return &Error{Kind: KindBadRequest, Msg: err.Error(), Param: "model"}
	}
	return err
}
