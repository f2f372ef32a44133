// Reference: OpenAI API reference (chat completions, legacy completions, models; streaming as
// server-sent events: "data: {json}\n\n" chunks, role in the first delta, finish_reason null until
// the last chunk, stream_options.include_usage → a final chunk with empty choices, then "data: [DONE]").

package server

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// maxChoices bounds n: each choice is a whole generation.
const maxChoices = 8

// fingerprint is OpenAI's system_fingerprint: which backend made the answer.
const fingerprint = "gptgo"

// samplerFields are the sampling fields both request kinds share.
type samplerFields struct {
	temperature, topP, presence, frequency *float32
	seed                                   *int64
	logitBias                              map[string]float32
	ext                                    samplingExtensions
	stop                                   stopField
	n                                      *int
}

// options applies a request's fields over the model's base options.
func (f samplerFields) options(base generate.Options, vocab int) (generate.Options, map[int32]float32, error) {
	o := base
	s := &o.Sampler
	setF := func(dst *float32, v *float32) {
		if v != nil {
			*dst = *v
		}
	}
	setF(&s.Temperature, f.temperature)
	setF(&s.TopP, f.topP)
	setF(&s.PresencePenalty, f.presence)
	setF(&s.FrequencyPenalty, f.frequency)
	setF(&s.MinP, f.ext.MinP)
	setF(&s.RepeatPenalty, f.ext.RepeatPenalty)
	if f.ext.TopK != nil {
		s.TopK = *f.ext.TopK
	}
	if f.ext.RepeatLastN != nil {
		s.RepeatLastN = *f.ext.RepeatLastN
	}
	if f.seed != nil {
		s.Seed = uint64(*f.seed)
	}
	if f.temperature != nil && (*f.temperature < 0 || *f.temperature > 2) {
		return o, nil, Errorf(KindBadRequest, "temperature", "temperature %v is outside 0…2", *f.temperature)
	}
	for _, p := range []struct {
		name string
		v    *float32
	}{{"presence_penalty", f.presence}, {"frequency_penalty", f.frequency}} {
		if p.v != nil && (*p.v < -2 || *p.v > 2) {
			return o, nil, Errorf(KindBadRequest, p.name, "%s %v is outside -2…2", p.name, *p.v)
		}
	}
	if err := s.Validate(); err != nil {
		return o, nil, Errorf(KindBadRequest, "", "%v", err)
	}
	if f.n != nil && (*f.n < 1 || *f.n > maxChoices) {
		return o, nil, Errorf(KindBadRequest, "n", "n = %d: choices per request are 1…%d", *f.n, maxChoices)
	}
	if len(f.stop) > 16 {
		return o, nil, Errorf(KindBadRequest, "stop", "stop: %d strings, at most 16", len(f.stop))
	}
	if len(f.stop) > 0 {
		o.Stop = append(append([]string(nil), base.Stop...), f.stop...)
	}
	var bias map[int32]float32
	for k, v := range f.logitBias {
		id, err := strconv.ParseInt(k, 10, 32)
		if err != nil || id < 0 || int(id) >= vocab {
			return o, nil, Errorf(KindBadRequest, "logit_bias", "logit_bias: %q is not a token id of this model (0…%d)", k, vocab-1)
		}
		if v < -100 || v > 100 || v != v {
			return o, nil, Errorf(KindBadRequest, "logit_bias", "logit_bias[%s] = %v is outside -100…100", k, v)
		}
		if bias == nil {
			bias = map[int32]float32{}
		}
		bias[int32(id)] = v
	}
	return o, bias, nil
}

// maxTokens picks the token budget: the request's, else the model's
// num_predict, capped by --max-tokens-limit (a request over it is a 400).
func maxTokens(param string, asked *int, base, limit int) (int, error) {
	n := base
	if asked != nil {
		if *asked < 1 {
			return 0, Errorf(KindBadRequest, param, "%s %d: must be at least 1", param, *asked)
		}
		n = *asked
		if limit > 0 && n > limit {
			return 0, Errorf(KindBadRequest, param, "%s %d is over this server's limit of %d (--max-tokens-limit)", param, n, limit)
		}
	}
	if limit > 0 && (n <= 0 || n > limit) {
		n = limit
	}
	return n, nil
}

// check validates what can be checked without the model.
func (c *chatRequest) check() error {
	if err := c.unsupported.check(); err != nil {
		return err
	}
	if len(c.Messages) == 0 {
		return Errorf(KindBadRequest, "messages", "messages: at least one message is required")
	}
	if c.MaxTokens != nil && c.MaxCompletionTokens != nil && *c.MaxTokens != *c.MaxCompletionTokens {
		return Errorf(KindBadRequest, "max_tokens", "max_tokens and max_completion_tokens disagree (%d, %d); send one", *c.MaxTokens, *c.MaxCompletionTokens)
	}
	if c.TopLogprobs != nil && (c.Logprobs == nil || !*c.Logprobs) {
		return Errorf(KindBadRequest, "top_logprobs", "top_logprobs needs logprobs: true")
	}
	if c.TopLogprobs != nil && (*c.TopLogprobs < 0 || *c.TopLogprobs > generate.MaxTopLogprobs) {
		return Errorf(KindBadRequest, "top_logprobs", "top_logprobs %d is outside 0…%d", *c.TopLogprobs, generate.MaxTopLogprobs)
	}
	if c.StreamOptions != nil && (c.Stream == nil || !*c.Stream) {
		return Errorf(KindBadRequest, "stream_options", "stream_options needs stream: true")
	}
	_, err := c.messages()
	return err
}

// messages translates the conversation. developer is OpenAI's new name for
// system; assistant content may be null (a turn of tool calls).
func (c *chatRequest) messages() ([]chat.Message, error) {
	out := make([]chat.Message, 0, len(c.Messages))
	for i, m := range c.Messages {
		param := fmt.Sprintf("messages[%d]", i)
		if isSet(m.Audio) {
			return nil, Errorf(KindNotSupported, param+".audio", "%s.audio: audio is not supported", param)
		}
		msg := chat.Message{Role: m.Role, Content: m.Content.Text, Name: m.Name}
		switch m.Role {
		case "system", "developer":
			msg.Role = "system"
		case "user":
			if !m.Content.Set {
				return nil, Errorf(KindBadRequest, param+".content", "%s: a user message needs content", param)
			}
		case "assistant":
			for _, tc := range m.ToolCalls {
				msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: tc.Function.Arguments})
			}
		case "tool":
			msg.ToolCallID = m.ToolCallID
		case "":
			return nil, Errorf(KindBadRequest, param+".role", "%s: role is required", param)
		default:
			return nil, Errorf(KindBadRequest, param+".role", "%s: unknown role %q (system, developer, user, assistant, tool)", param, m.Role)
		}
		out = append(out, msg)
	}
	return out, nil
}

// native translates a checked chat request for the model l.
func (c *chatRequest) native(l *Loaded, limit int) (*generate.Request, error) {
	msgs, err := c.messages()
	if err != nil {
		return nil, err
	}
	if l.Entry.System != "" && (len(msgs) == 0 || msgs[0].Role != "system") {
		msgs = append([]chat.Message{{Role: "system", Content: l.Entry.System}}, msgs...)
	}
	f := samplerFields{c.Temperature, c.TopP, c.PresencePenalty, c.FrequencyPenalty, c.Seed, c.LogitBias, c.samplingExtensions, c.Stop, c.N}
	base := l.BaseOptions()
	o, bias, err := f.options(base, l.Tok.VocabSize())
	if err != nil {
		return nil, err
	}
	asked, param := c.MaxCompletionTokens, "max_completion_tokens"
	if asked == nil {
		asked, param = c.MaxTokens, "max_tokens"
	}
	if o.MaxTokens, err = maxTokens(param, asked, base.MaxTokens, limit); err != nil {
		return nil, err
	}
	o.TruncatePrompt = c.Truncate != nil && *c.Truncate
	r := &generate.Request{Messages: msgs, Options: o, LogitBias: bias}
	if c.Logprobs != nil && *c.Logprobs {
		r.Logprobs = true
		if c.TopLogprobs != nil {
			r.TopLogprobs = *c.TopLogprobs
		}
	}
	return r, nil
}

// finishReason maps a stop reason to OpenAI's finish_reason.
func finishReason(s generate.StopReason) string {
	switch s {
	case generate.StopMaxTokens, generate.StopContext:
		return "length"
	}
	return "stop"
}

func usageOf(d *generate.Done) usage {
	u := usage{PromptTokens: d.PromptTokens, CompletionTokens: d.CompletionTokens, TotalTokens: d.PromptTokens + d.CompletionTokens}
	if d.CachedTokens > 0 {
		u.PromptTokensDetails = &tokenDetails{CachedTokens: d.CachedTokens}
	}
	return u
}

// openAIRequest is the body of /v1/chat/completions or /v1/completions.
type openAIRequest interface {
	check() error // what can be checked without the model
	modelName() string
	native(l *Loaded, limit int) (*generate.Request, error)
}

func (c *chatRequest) modelName() string       { return c.Model }
func (c *completionRequest) modelName() string { return c.Model }

// openAICall is an OpenAI request past the preamble both endpoints share:
// its body decoded into req and checked, its model acquired, and the
// native request built for that model.
type openAICall struct {
	ctx  context.Context // the request's, bounded by the server's timeout
	l    *Loaded
	nreq *generate.Request
	end  func() // releases the model, then the context; the handler defers it
}

// beginOpenAI runs the preamble: decode → check → acquire → native. When a
// step fails it has written the error (and let go of what it held) and
// returns nil.
func (s *Server) beginOpenAI(w http.ResponseWriter, r *http.Request, req openAIRequest) *openAICall {
	if err := decodeBody(r, req); err != nil {
		WriteError(w, r, err)
		return nil
	}
	if err := req.check(); err != nil {
		WriteError(w, r, err)
		return nil
	}
	ctx, cancel := s.requestContext(r)
	l, release, err := s.Acquire(ctx, req.modelName(), nil)
	if err != nil {
		WriteError(w, r, err)
		cancel()
		return nil
	}
	end := func() { release(); cancel() }
	noteModel(w, l.Entry.Name)
	nreq, err := req.native(l, s.cfg.MaxTokensLimit)
	if err != nil {
		WriteError(w, r, err)
		end()
		return nil
	}
	return &openAICall{ctx: ctx, l: l, nreq: nreq, end: end}
}

// chatCompletions serves POST /v1/chat/completions.
func (s *Server) chatCompletions(w http.ResponseWriter, r *http.Request) {
	var req chatRequest
	call := s.beginOpenAI(w, r, &req)
	if call == nil {
		return
	}
	defer call.end()
	ctx, l, nreq := call.ctx, call.l, call.nreq
	st, err := req.structured(l, nreq) // response_format, tools (structured.go)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	j := &chatJob{s: s, l: l, req: &req, nreq: nreq, st: st, ctx: ctx, id: newID("chatcmpl-"), created: time.Now().Unix(), n: 1}
	if req.N != nil {
		j.n = *req.N
	}
	j.seed = nreq.Options.Sampler.Seed
	if req.Stream != nil && *req.Stream {
		j.stream(w, r)
	} else {
		j.plain(w, r)
	}
}

// chatJob is one chat completion being answered: its n choices are
// generated one after another on the model's queue, each with the next
// seed; the prompt's KV entries are reused after the first.
type chatJob struct {
	s       *Server
	l       *Loaded
	req     *chatRequest
	nreq    *generate.Request
	st      *structured // response_format or tools; nil for neither
	ctx     context.Context
	id      string
	created int64
	n       int
	seed    uint64
	usage   usage // summed over the choices so far (the prompt counted once)
}

// generate runs choice i.
func (j *chatJob) generate(i int, emit func(generate.Event) error) (*generate.Done, error) {
	j.nreq.Options.Sampler.Seed = j.seed + uint64(i)
	c, err := j.st.constraint(j.l) // a fresh one per choice
	if err != nil {
		return nil, err
	}
	j.nreq.Options.Constraint = c
	d, err := j.l.Generate(j.ctx, j.nreq, emit)
	if err == nil && d != nil && d.Stop != generate.StopCancelled {
		if i == 0 {
			j.usage = usageOf(d)
		} else {
			j.usage.CompletionTokens += d.CompletionTokens
			j.usage.TotalTokens += d.CompletionTokens
		}
	}
	return d, err
}

// plain answers with one chat.completion object.
func (j *chatJob) plain(w http.ResponseWriter, r *http.Request) {
	resp := chatCompletion{ID: j.id, Object: "chat.completion", Created: j.created, Model: j.req.Model, SystemFingerprint: fingerprint, Choices: []chatChoice{}}
	for i := range j.n {
		var lps []tokenLogprob
		d, err := j.generate(i, func(ev generate.Event) error {
			if ev.Kind == generate.EventToken && ev.Logprob != nil {
				lps = append(lps, j.s.chatLogprob(j.l, ev.Logprob))
			}
			return nil
		})
		noteDone(w, d)
		if err == nil && d.Stop == generate.StopCancelled {
			if err = cutShort(j.ctx, r); err == nil {
				return // the client left
			}
		}
		if err != nil {
			WriteError(w, r, err)
			return
		}
		content, calls, finish := j.st.answer(d)
		c := chatChoice{Index: i, Message: assistantMsg{Role: "assistant", Content: content, ToolCalls: calls}, FinishReason: finish}
		if j.nreq.Logprobs {
			c.Logprobs = &chatLogprobs{Content: nonNil(lps)}
		}
		resp.Choices = append(resp.Choices, c)
		resp.Truncated = d.Dropped
	}
	resp.Usage = j.usage
	writeJSON(w, http.StatusOK, resp)
}

// stream answers with server-sent chat.completion.chunk events: per choice
// a role chunk, content chunks and a finish chunk; then, if asked, the
// usage chunk; then [DONE].
func (j *chatJob) stream(w http.ResponseWriter, r *http.Request) {
	sse := newSSE(w)
	includeUsage := j.req.StreamOptions != nil && j.req.StreamOptions.IncludeUsage
	chunk := func(i int, delta chunkDelta, lp *chatLogprobs, finish *string) chatChunk {
		return chatChunk{ID: j.id, Object: "chat.completion.chunk", Created: j.created, Model: j.req.Model, SystemFingerprint: fingerprint,
			Choices: []chunkChoice{{Index: i, Delta: delta, Logprobs: lp, FinishReason: finish}}, nullUsage: includeUsage}
	}
	for i := range j.n {
		th := j.st.streamer() // holds back text that may be a tool call
		begun := false
		begin := func() error {
			if begun {
				return nil
			}
			begun = true
			empty := ""
			return sse.send(chunk(i, chunkDelta{Role: "assistant", Content: &empty}, nil, nil))
		}
		d, err := j.generate(i, func(ev generate.Event) error {
			switch ev.Kind {
			case generate.EventToken:
				if err := begin(); err != nil {
					return err
				}
				var lp *chatLogprobs
				if ev.Logprob != nil {
					lp = &chatLogprobs{Content: []tokenLogprob{j.s.chatLogprob(j.l, ev.Logprob)}}
				}
				text := th.push(ev.Text)
				ds := th.takeDeltas() // tool-call pieces as the call is generated (tools_live.go)
				if text != "" || lp != nil && len(ds) == 0 {
					if err := sse.send(chunk(i, chunkDelta{Content: &text}, lp, nil)); err != nil {
						return err
					}
					lp = nil
				}
				for _, d := range ds {
					if err := sse.send(chunk(i, chunkDelta{ToolCalls: []toolCallDelta{d}}, lp, nil)); err != nil {
						return err
					}
					lp = nil
				}
				return nil
			case generate.EventDone:
				if ev.Done.Stop == generate.StopCancelled {
					return nil
				}
				if err := begin(); err != nil {
					return err
				}
				rest, calls, fr := th.finish(ev.Done.Text, finishReason(ev.Done.Stop))
				if rest != "" {
					if err := sse.send(chunk(i, chunkDelta{Content: &rest}, nil, nil)); err != nil {
						return err
					}
				}
				for _, d := range calls {
					if err := sse.send(chunk(i, chunkDelta{ToolCalls: []toolCallDelta{d}}, nil, nil)); err != nil {
						return err
					}
				}
				return sse.send(chunk(i, chunkDelta{}, nil, &fr))
			}
			return nil
		})
		noteDone(w, d)
		if err == nil && d.Stop == generate.StopCancelled {
			err = cutShort(j.ctx, r)
		}
		if err != nil || d.Stop == generate.StopCancelled {
			j.s.finishStream(w, r, sse, err)
			return
		}
	}
	if includeUsage {
		c := chunk(0, chunkDelta{}, nil, nil)
		c.Choices, c.Usage = []chunkChoice{}, &j.usage
		if sse.send(c) != nil {
			return
		}
	}
	sse.done()
}

// finishStream reports err: as the status if nothing was sent yet, else as
// a final error event (the client may have gone, in which case nothing can
// be sent and nothing is).
func (s *Server) finishStream(w http.ResponseWriter, r *http.Request, sse *sseWriter, err error) {
	if err == nil || r.Context().Err() != nil || sse.failed {
		return
	}
	if !sse.started {
		WriteError(w, r, err)
		return
	}
	sse.send(openAIErrorBody(err))
}

// chatLogprob is a token's logprob in the chat shape.
func (s *Server) chatLogprob(l *Loaded, lp *generate.TokenLogprob) tokenLogprob {
	text := l.Tok.TokenBytes(lp.ID)
	out := tokenLogprob{Token: text, Logprob: lp.Logprob, Bytes: byteInts(text), TopLogprobs: []topLogprob{}}
	for _, t := range lp.Top {
		tt := l.Tok.TokenBytes(t.ID)
		out.TopLogprobs = append(out.TopLogprobs, topLogprob{Token: tt, Logprob: t.Logprob, Bytes: byteInts(tt)})
	}
	return out
}

func byteInts(s string) []int {
	out := make([]int, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int(s[i])
	}
	return out
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// listModels serves GET /v1/models: every model in the store.
func (s *Server) listModels(w http.ResponseWriter, r *http.Request) {
	entries, err := s.cfg.Models.List()
	if err != nil {
		WriteError(w, r, err)
		return
	}
	out := modelList{Object: "list", Data: []modelObject{}}
	for _, e := range entries {
		if e.Err == nil {
			out.Data = append(out.Data, modelOf(e))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// getModel serves GET /v1/models/{id}.
func (s *Server) getModel(w http.ResponseWriter, r *http.Request) {
	e, err := s.cfg.Models.Resolve(r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, modelOf(e))
}

// modelOf is a model's OpenAI object; created is the file's modification
// time (0 when unknown, as for a default model built without VCS stamps).
func modelOf(e modelstore.Entry) modelObject {
	created := int64(0)
	if !e.Modified.IsZero() {
		created = e.Modified.Unix()
	}
	return modelObject{ID: e.Name, Object: "model", Created: created, OwnedBy: "gptgo"}
}
