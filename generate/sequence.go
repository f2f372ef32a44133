// Reference: vLLM's v1 Request/scheduler split (a request's decoding state kept apart from the compute
// that feeds it logits) and llama.cpp examples/server (n_probs, logit_bias, stop strings held back).

package generate

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"
)

// Sequence is one request's decoding state: its sampler, history, stop
// strings and text stream, kept apart from the model's compute. Whatever
// drives the model (Session.Run today for one sequence; a batching
// scheduler that feeds many sequences from one forward pass later) hands
// each sequence the logits of its next position through Step. A grammar
// constraint will be one more step here, masking logits before the draw.
type Sequence struct {
	req     *Request
	vocab   Vocab
	emit    func(Event) error
	sampler *Sampler
	history []int32 // prompt and generated tokens, for the penalties
	stream  TextStream
	hold    stopHolder
	text    strings.Builder
	done    Done
	start   time.Time // when the sequence was made: the clock for FirstToken
	first   time.Time // when the first token was emitted
	ended   bool
	mask    []uint64 // the constraint's allowed tokens, reused
}

// NewSequence starts decoding req after prompt (as rendered by
// Request.Render). emit receives the sequence's events in order; an error
// from it ends the sequence.
func NewSequence(req *Request, prompt []int32, v Vocab, emit func(Event) error) *Sequence {
	return &Sequence{
		req: req, vocab: v, emit: emit,
		sampler: NewSampler(req.Options.Sampler),
		history: append(make([]int32, 0, len(prompt)+64), prompt...),
		stream:  v.NewTextStream(),
		hold:    stopHolder{stops: req.Options.Stop},
		start:   time.Now(),
		done:    Done{PromptTokens: len(prompt)},
	}
}

// Generated is the number of tokens sampled so far.
func (q *Sequence) Generated() int { return q.done.CompletionTokens }

// Step samples the next token from logits [V] (which it may change: the
// logit bias is added in place), emits its event, and reports whether the
// sequence has ended; the caller then computes the token's successor only
// when it has not.
func (q *Sequence) Step(logits []float32) (tok int32, ended bool, err error) {
	if q.ended {
		return -1, true, fmt.Errorf("generate: step after the sequence ended")
	}
	for id, b := range q.req.LogitBias {
		if id >= 0 && int(id) < len(logits) {
			logits[id] += b
		}
	}
	c := q.req.Options.Constraint
	if c != nil {
		if err := constrain(c, logits, &q.mask); err != nil {
			return -1, true, q.Fail(err)
		}
	}
	tok = q.sampler.Sample(logits, q.history)
	if c != nil {
		if err := c.Accept(tok); err != nil {
			return tok, true, q.Fail(fmt.Errorf("generate: constraint: %w", err))
		}
	}
	q.history = append(q.history, tok)
	q.done.CompletionTokens++
	var lp *TokenLogprob
	if q.req.Logprobs {
		lp = logprobOf(logits, tok, q.req.TopLogprobs)
	}
	o := &q.req.Options
	if !o.IgnoreEOG && q.vocab.IsEOG(tok) {
		q.done.Stop = StopEOG
		return tok, true, q.token(tok, q.hold.flush()+q.stream.Flush(), lp)
	}
	out, stopped := q.hold.push(q.stream.Next(tok))
	if stopped {
		q.done.Stop = StopString
		return tok, true, q.token(tok, out, lp)
	}
	if err := q.token(tok, out, lp); err != nil {
		return tok, true, err
	}
	if c != nil && c.Done() {
		// The constraint is complete: nothing else may follow, so the
		// sequence ends as at an end-of-generation token, text flushed.
		q.done.Stop = StopEOG
		if tail := q.hold.flushWith(q.stream.Flush()); tail != "" {
			return tok, true, q.token(-1, tail, nil)
		}
		return tok, true, nil
	}
	if o.MaxTokens > 0 && q.done.CompletionTokens >= o.MaxTokens {
		q.done.Stop = StopMaxTokens
		return tok, true, nil
	}
	return tok, false, nil
}

// token emits one token event and keeps its text.
func (q *Sequence) token(id int32, text string, lp *TokenLogprob) error {
	q.text.WriteString(text)
	if q.first.IsZero() && id >= 0 {
		q.first = time.Now()
		q.done.FirstToken = q.first.Sub(q.start)
	}
	return q.emit(Event{Kind: EventToken, Token: id, Text: text, Logprob: lp})
}

// Finish ends the sequence for reason (which is kept if Step already ended
// it), flushing held-back text, and emits EventDone (not for
// StopCancelled: nobody is listening then).
func (q *Sequence) Finish(reason StopReason) (*Done, error) {
	if q.done.Stop == "" {
		q.done.Stop = reason
	}
	if q.done.Stop != StopEOG && q.done.Stop != StopString && q.done.Stop != StopCancelled {
		if tail := q.hold.flushWith(q.stream.Flush()); tail != "" {
			if err := q.token(-1, tail, nil); err != nil {
				return nil, err
			}
		}
	}
	q.ended = true
	q.done.Text = q.text.String()
	d := q.done
	if !q.first.IsZero() {
		d.GenerateTime = time.Since(q.first)
	}
	if q.done.Stop == StopCancelled {
		return &d, nil // nobody is listening
	}
	return &d, q.emit(Event{Kind: EventDone, Done: &d})
}

// Fail ends the sequence with err, emitting EventError (unless the
// consumer itself failed), and returns err.
func (q *Sequence) Fail(err error) error {
	q.ended = true
	_ = q.emit(Event{Kind: EventError, Err: err})
	return err
}

// logprobOf returns tok's log-probability under softmax(logits) and the
// top k alternatives. It costs one pass over the vocabulary for the
// normaliser and, for k > 0, one bounded insertion pass.
func logprobOf(logits []float32, tok int32, k int) *TokenLogprob {
	m := float32(math.Inf(-1))
	for _, v := range logits {
		m = max(m, v)
	}
	var sum float64
	for _, v := range logits {
		sum += math.Exp(float64(v - m))
	}
	lse := float64(m) + math.Log(sum)
	lp := &TokenLogprob{ID: tok, Logprob: float32(float64(logits[tok]) - lse)}
	if k <= 0 {
		return lp
	}
	top := make([]TopLogprob, 0, k+1)
	for i, v := range logits {
		if len(top) == k && v <= top[k-1].Logprob || math.IsInf(float64(v), -1) {
			continue // -Inf: a token a constraint masked out is no alternative
		}
		j := len(top)
		if j < k {
			top = append(top, TopLogprob{})
		} else {
			j = k - 1
		}
		for j > 0 && top[j-1].Logprob < v {
			top[j] = top[j-1]
			j--
		}
		top[j] = TopLogprob{ID: int32(i), Logprob: v}
	}
	for i := range top {
		top[i].Logprob = float32(float64(top[i].Logprob) - lse)
	}
	lp.Top = top
	return lp
}

// Run generates req after prompt on the session's state, reusing the
// cached prefix as Generate does, and streams events to emit: tokens, then
// EventDone, or EventError on failure (the error is also returned). A
// prompt that does not fit the context is ErrPromptTooLong (wrapped, with
// its length and the limit) unless req.Options.TruncatePrompt is set.
// Cancelling ctx ends the generation at once with StopCancelled and emits
// nothing more.
func (s *Session) Run(ctx context.Context, req *Request, prompt []int32, emit func(Event) error) (*Done, error) {
	fail := func(err error) (*Done, error) {
		_ = emit(Event{Kind: EventError, Err: err})
		return nil, err
	}
	if len(prompt) == 0 {
		return fail(fmt.Errorf("generate: empty prompt"))
	}
	if err := req.Validate(); err != nil {
		return fail(err)
	}
	st := s.State
	T := st.Ctx()
	prompt, dropped, err := s.fitPrompt(prompt, req.Options) // FitPrompt to T less a prompt-tuning adapter's virtual tokens (virtual.go)
	if err != nil {
		return fail(err)
	}
	q := NewSequence(req, prompt, s.Vocab, emit)
	q.done.Dropped = dropped
	prompt = s.withVirtual(prompt) // the sequence's history keeps the real tokens only

	n := 0
	for n < len(s.cached) && n < len(prompt)-1 && s.cached[n] == prompt[n] {
		n++
	}
	if err := st.Truncate(n); err != nil {
		s.Reset()
		return fail(err)
	}
	s.cached = s.cached[:n]
	q.done.CachedTokens = max(0, n-st.VirtualTokens()) // of the prompt's own tokens

	var logits []float32
	for i := n; i < len(prompt); {
		if ctx.Err() != nil {
			return q.Finish(StopCancelled)
		}
		j := min(len(prompt), i+st.Batch())
		if logits, err = st.Forward(prompt[i:j]); err != nil {
			s.Reset()
			return nil, q.Fail(err)
		}
		s.cached = append(s.cached, prompt[i:j]...)
		i = j
	}
	q.done.PromptTime = time.Since(q.start)
	for {
		if ctx.Err() != nil {
			return q.Finish(StopCancelled)
		}
		tok, ended, err := q.Step(logits)
		if err != nil {
			return nil, err // the consumer failed: it cannot take an error event either
		}
		if ended {
			return q.Finish("")
		}
		if st.Pos() >= T {
			return q.Finish(StopContext)
		}
		if logits, err = st.Forward([]int32{tok}); err != nil {
			s.Reset()
			return nil, q.Fail(err)
		}
		s.cached = append(s.cached, tok)
	}
}

// FitPrompt checks that prompt fits a context of T tokens with room to
// generate, as Generate does: without o.TruncatePrompt a prompt of T or
// more tokens is ErrPromptTooLong, naming its length and the limit; with
// it, the oldest tokens after the first are dropped and counted.
func FitPrompt(prompt []int32, T int, o Options) ([]int32, int, error) {
	room := o.MaxTokens
	if room <= 0 {
		room = max(1, T/4)
	}
	if len(prompt) < T && (!o.TruncatePrompt || len(prompt)+room <= T) {
		return prompt, 0, nil
	}
	if !o.TruncatePrompt {
		return nil, 0, fmt.Errorf("generate: %w: the prompt is %d tokens and the context is %d", ErrPromptTooLong, len(prompt), T)
	}
	keep := max(2, T-min(room, T/2))
	dropped := len(prompt) - keep
	if dropped <= 0 {
		return prompt, 0, nil
	}
	return append([]int32{prompt[0]}, prompt[1+dropped:]...), dropped, nil
}
