// Reference: llama.cpp examples/main/main.cpp (prefill, then sample → decode until an end-of-generation
// token, a stop string or the token budget) and examples/server (stop strings held back while streaming).

package generate

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// Vocab is what generation needs of a tokenizer: which tokens end a turn,
// and a decoder that turns a token stream into text without splitting a
// UTF-8 character. *tokenizer.Tokenizer satisfies it through FromTokenizer.
type Vocab interface {
	IsEOG(id int32) bool
	NewTextStream() TextStream
}

// TextStream turns tokens into text one at a time; Flush returns what is
// held back at the end.
type TextStream interface {
	Next(id int32) string
	Flush() string
}

type tokVocab struct{ t *tokenizer.Tokenizer }

func (v tokVocab) IsEOG(id int32) bool       { return v.t.IsEOG(id) }
func (v tokVocab) NewTextStream() TextStream { return v.t.NewStreamDecoder() }

// FromTokenizer adapts a tokenizer to Vocab.
func FromTokenizer(t *tokenizer.Tokenizer) Vocab { return tokVocab{t} }

// Options control one generation.
type Options struct {
	Sampler   SamplerOptions
	MaxTokens int      // most tokens to generate; ≤ 0 means until the context is full
	Stop      []string // generation ends before the first of these strings; it is not part of the text
	IgnoreEOG bool     // keep going past end-of-generation tokens
	// TruncatePrompt drops the oldest prompt tokens (after the first, which
	// is usually BOS) when the prompt does not fit the context with room for
	// MaxTokens (or a quarter of the context when MaxTokens ≤ 0).
	// Without it a prompt that does not fit is an error.
	TruncatePrompt bool
	// Constraint, if set, allows only the tokens it masks in at each step
	// (a grammar or JSON Schema, see generate/grammar); generation ends
	// when it is Done. It is stateful: give each generation its own.
	Constraint Constraint
}

// StopReason says why generation ended.
type StopReason string

const (
	StopEOG       StopReason = "eog"       // the model produced an end-of-generation token
	StopString    StopReason = "stop"      // a stop string appeared
	StopMaxTokens StopReason = "length"    // MaxTokens were generated
	StopContext   StopReason = "context"   // the context is full
	StopCancelled StopReason = "cancelled" // the context.Context was cancelled
)

// Token is one streamed step: the sampled id and the text it completes
// (possibly empty while a multi-byte character or a possible stop string
// is held back).
type Token struct {
	ID   int32
	Text string
}

// Result is the outcome of Generate.
type Result struct {
	Prompt       []int32       // the prompt as run (after any truncation)
	Dropped      int           // prompt tokens dropped by TruncatePrompt
	Reused       int           // prompt tokens whose KV entries were already cached
	Tokens       []int32       // generated tokens, including a final end-of-generation token
	Text         string        // generated text, without the stop string
	Stop         StopReason    //
	PromptTime   time.Duration // prefill of the uncached prompt tokens
	GenerateTime time.Duration // sampling and decoding after the first token
}

// PromptTokensPerSecond is the prefill speed.
func (r *Result) PromptTokensPerSecond() float64 {
	return perSecond(len(r.Prompt)-r.Reused, r.PromptTime)
}

// TokensPerSecond is the decode speed (tokens after the first, which comes
// from the prefill).
func (r *Result) TokensPerSecond() float64 {
	return perSecond(len(r.Tokens)-1, r.GenerateTime)
}

func perSecond(n int, d time.Duration) float64 {
	if n <= 0 || d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// ErrPromptTooLong is returned (wrapped) when a prompt does not fit the
// context and TruncatePrompt is off.
var ErrPromptTooLong = errors.New("prompt too long")

// Session runs generations on one model.State and remembers which tokens
// its KV cache holds, so that a chat's next turn only prefills what is new.
type Session struct {
	State  *model.State
	Vocab  Vocab
	cached []int32
}

// NewSession wraps st; its cache is taken to be empty.
func NewSession(st *model.State, v Vocab) *Session {
	st.Reset()
	return &Session{State: st, Vocab: v}
}

// Reset forgets the cached tokens.
func (s *Session) Reset() {
	s.cached = s.cached[:0]
	s.State.Reset()
}

// Cached returns the tokens whose keys and values the cache holds.
func (s *Session) Cached() []int32 { return s.cached }

// Generate continues prompt. onToken, if not nil, is called for every
// generated token with its text as soon as it is safe to show (a last call
// with ID -1 may carry text held back until the end); an error from it ends
// generation and is returned. Cancelling ctx stops generation with
// StopCancelled and no error: the partial result is returned.
func (s *Session) Generate(ctx context.Context, prompt []int32, o Options, onToken func(Token) error) (*Result, error) {
	if len(prompt) == 0 {
		return nil, fmt.Errorf("generate: empty prompt")
	}
	if err := o.Sampler.Validate(); err != nil {
		return nil, err
	}
	// Fit here rather than in Run, to report the prompt as run; Run then
	// sees a prompt that fits.
	fitted, dropped, err := s.fitPrompt(prompt, o) // virtual.go
	if err != nil {
		return nil, err
	}
	o.TruncatePrompt = false
	r := &Result{Prompt: fitted, Dropped: dropped}
	var onErr error // the callback's own error, returned as Generate always has
	done, err := s.Run(ctx, &Request{Tokens: fitted, Options: o}, fitted, func(ev Event) error {
		if ev.Kind != EventToken {
			return nil
		}
		if ev.Token >= 0 {
			r.Tokens = append(r.Tokens, ev.Token)
		}
		if onToken != nil {
			if onErr = onToken(Token{ID: ev.Token, Text: ev.Text}); onErr != nil {
				return onErr
			}
		}
		return nil
	})
	if done != nil {
		r.Reused, r.Stop, r.Text = done.CachedTokens, done.Stop, done.Text
		r.PromptTime, r.GenerateTime = done.PromptTime, done.GenerateTime
	}
	if onErr != nil {
		return r, onErr
	}
	if err != nil {
		return nil, err
	}
	return r, nil
}

// stopHolder holds back streamed text that might be the start of a stop
// string, so that no part of a stop string is ever shown.
type stopHolder struct {
	stops   []string
	pending string
}

// push adds text and returns what can be shown now; stopped reports that a
// stop string appeared (out is then the text before it).
func (h *stopHolder) push(text string) (out string, stopped bool) {
	h.pending += text
	if len(h.stops) == 0 {
		out, h.pending = h.pending, ""
		return out, false
	}
	cut := -1
	for _, s := range h.stops {
		if s == "" {
			continue
		}
		if i := strings.Index(h.pending, s); i >= 0 && (cut < 0 || i < cut) {
			cut = i
		}
	}
	if cut >= 0 {
		out, h.pending = h.pending[:cut], ""
		return out, true
	}
	// Keep the longest tail that is a prefix of some stop string.
	keep := 0
	for _, s := range h.stops {
		for k := min(len(s)-1, len(h.pending)); k > keep; k-- {
			if strings.HasSuffix(h.pending, s[:k]) {
				keep = k
				break
			}
		}
	}
	out = h.pending[:len(h.pending)-keep]
	h.pending = h.pending[len(h.pending)-keep:]
	return out, false
}

// flush returns whatever is held back.
func (h *stopHolder) flush() string {
	out := h.pending
	h.pending = ""
	return out
}

// flushWith pushes the decoder's tail through the stop check, then flushes.
func (h *stopHolder) flushWith(tail string) string {
	out, stopped := h.push(tail)
	if stopped {
		return out
	}
	return out + h.flush()
}
