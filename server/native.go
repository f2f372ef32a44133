// Reference: ../shared/ARCHITECTURE.md ("one native request path": the APIs translate to and from
// generate's request and events) and ollama server/prompt.go (truncation by whole turns).

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Generate runs req on the model and streams its events to emit, in order:
// EventToken for each token, then EventDone (or EventError). Everything a
// client can get wrong (bad options, a prompt that does not fit the
// context) is returned as an error before the request joins the model's
// queue and before any event, so that a handler can still answer with a
// status. Once generation started, an error is both the last event and
// the return value. Cancelling ctx (the client went away) ends the
// generation at the next token and frees the session at once.
func (l *Loaded) Generate(ctx context.Context, req *generate.Request, emit func(generate.Event) error) (*generate.Done, error) {
	if l.Encoder != nil { // bert generates nothing (encoder.go)
		return nil, l.errEncoderGenerate()
	}
	if err := req.Validate(); err != nil {
		return nil, &Error{Kind: KindBadRequest, Msg: err.Error()}
	}
	dropped := 0
	if req.Options.TruncatePrompt && len(req.Messages) > 0 {
		var err error
		if dropped, err = l.fitTurns(req); err != nil {
			return nil, err
		}
	}
	param := "prompt"
	if len(req.Messages) > 0 {
		param = "messages"
	}
	prompt, err := req.Render(l.Tok, l.Template)
	if err != nil {
		return nil, &Error{Kind: KindBadRequest, Msg: err.Error(), Param: param}
	}
	if len(prompt) == 0 {
		return nil, Errorf(KindBadRequest, param, "the prompt is empty and the model adds no BOS token")
	}
	fit, _, err := generate.FitPrompt(prompt, l.Ctx, req.Options)
	if err != nil {
		return nil, &Error{Kind: KindContext, Msg: err.Error(), Param: param}
	}
	fitMaxTokens(req, l.Ctx-len(fit)) // structured.go

	if l.metrics != nil {
		// Inter-token latency as the client sees it: the time between two
		// tokens' events, the handler's write of the first included.
		obs := l.metrics.tokenLatency.WithLabelValues(l.Entry.Name)
		inner, last := emit, time.Time{}
		emit = func(ev generate.Event) error {
			if ev.Kind == generate.EventToken && ev.Token >= 0 {
				now := time.Now()
				if !last.IsZero() {
					obs.Observe(now.Sub(last).Seconds())
				}
				last = now
			}
			return inner(ev)
		}
	}
	if l.sched != nil { // continuous batching (sched.go)
		return l.generateBatched(ctx, req, prompt, emit, dropped)
	}
	queued := time.Now()
	sess, err := l.run.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer l.run.release(sess)
	wait := time.Since(queued)
	d, err := l.runGuarded(ctx, sess, req, prompt, emit)
	if d != nil {
		d.Dropped += dropped
		l.observe(d, wait)
	}
	return d, err
}

// runGuarded runs one generation so that a panic in it (a bug in a
// sampler, a template, a handler's emit) fails this request alone: the
// session is reset, so the next request finds a consistent cache, and the
// panic becomes a server error; its stack goes to the log.
func (l *Loaded) runGuarded(ctx context.Context, sess *generate.Session, req *generate.Request, prompt []int32, emit func(generate.Event) error) (d *generate.Done, err error) {
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			sess.Reset()
			if l.log != nil {
				l.log.Error("panic in generation", "model", l.Entry.Name, "panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			}
			d, err = nil, Errorf(KindServer, "", "server: generation failed: %v", p)
		}
	}()
	return sess.Run(ctx, req, prompt, emit)
}

// fitTurns drops the oldest turns of req.Messages until the rendered
// conversation leaves room for the answer (generate.PromptBudget), and
// returns how many prompt tokens that saved.
func (l *Loaded) fitTurns(req *generate.Request) (int, error) {
	full := -1
	count := func(msgs []chat.Message) (int, error) {
		r := generate.Request{Messages: msgs}
		ids, err := r.Render(l.Tok, l.Template)
		if full < 0 {
			full = len(ids)
		}
		return len(ids), err
	}
	drop, err := generate.FitTurns(req.Messages, count, generate.PromptBudget(l.Ctx, req.Options.MaxTokens))
	if err != nil {
		if errors.Is(err, generate.ErrPromptTooLong) {
			return 0, err
		}
		return 0, &Error{Kind: KindBadRequest, Msg: err.Error(), Param: "messages"}
	}
	if drop == 0 {
		return 0, nil
	}
	req.Messages = generate.DropTurns(req.Messages, drop)
	n, err := count(req.Messages)
	if err != nil {
		return 0, err
	}
	return full - n, nil
}

// WithSession runs fn with one of the model's sessions, taken in its turn
// from the model's queue, for work other than a generation (embeddings run
// the model's forward pass on it). fn owns the session's state for its
// duration and should Reset the session if it leaves the KV cache in a
// state that does not match the session's cached tokens. Under the batch
// scheduler the first call makes the model's one session (runner.ensure).
func (l *Loaded) WithSession(ctx context.Context, fn func(*generate.Session) error) error {
	if l.Encoder != nil { // an encoder has no sessions (encoder.go)
		return l.errEncoderGenerate()
	}
	sess, err := l.run.acquire(ctx)
	if err != nil {
		return err
	}
	defer l.run.release(sess)
	return fn(sess)
}

// observe records a finished generation's figures.
func (l *Loaded) observe(d *generate.Done, wait time.Duration) {
	m := l.metrics
	if m == nil {
		return
	}
	name := l.Entry.Name
	m.promptTokens.WithLabelValues(name).Add(float64(d.PromptTokens))
	m.completionTokens.WithLabelValues(name).Add(float64(d.CompletionTokens))
	m.queueWait.WithLabelValues(name).Observe(wait.Seconds())
	if d.CompletionTokens > 0 && d.FirstToken > 0 {
		m.ttft.WithLabelValues(name).Observe((wait + d.FirstToken).Seconds())
	}
}
