// Reference: ../shared/ARCHITECTURE.md ("generate owns a request … and a stream of events"), OpenAI's
// chat-completions API (logprobs, logit_bias, usage) and Ollama's api/types.go (done_reason, durations).

package generate

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Request is one generation in gptgo's native form. The OpenAI and Ollama
// APIs in package server only translate to it and from its events; so can
// any in-process caller. Exactly one of Messages, Prompt or Tokens gives
// the prompt.
type Request struct {
	Messages []chat.Message // a conversation, rendered with the model's chat template
	Prompt   string         // text continued as it is (no template); special tokens are parsed
	Tokens   []int32        // a prompt already tokenized (Ollama's context, OpenAI's token-array prompt)

	Options Options // sampler settings, token budget, stop strings, truncation

	// Tools are OpenAI-style tool definitions the chat template shows the
	// model (its `tools` variable); used with Messages only.
	Tools []json.RawMessage

	// LogitBias is added to the logits of the given tokens before sampling
	// (OpenAI's logit_bias: -100 bans a token, 100 all but forces it).
	LogitBias map[int32]float32
	// Logprobs asks for the log-probability of every generated token, and
	// TopLogprobs (0…MaxTopLogprobs) for that many most likely alternatives.
	Logprobs    bool
	TopLogprobs int
}

// MaxTopLogprobs bounds Request.TopLogprobs, as OpenAI does (20).
const MaxTopLogprobs = 20

// Validate checks what a client can get wrong, naming the field.
func (r *Request) Validate() error {
	n := 0
	if len(r.Messages) > 0 {
		n++
	}
	if r.Prompt != "" {
		n++
	}
	if len(r.Tokens) > 0 {
		n++
	}
	if n != 1 {
		return fmt.Errorf("generate: a request needs exactly one of messages, prompt or tokens (it has %d)", n)
	}
	if err := r.Options.Sampler.Validate(); err != nil {
		return err
	}
	if r.TopLogprobs < 0 || r.TopLogprobs > MaxTopLogprobs {
		return fmt.Errorf("generate: top_logprobs %d is outside 0…%d", r.TopLogprobs, MaxTopLogprobs)
	}
	for id, b := range r.LogitBias {
		if math.IsNaN(float64(b)) || b < -100 || b > 100 {
			return fmt.Errorf("generate: logit bias %v for token %d is outside -100…100", b, id)
		}
	}
	return nil
}

// Render turns the request's prompt into tokens: Messages through tmpl
// (which must not be nil then), Prompt as text, Tokens as they are. Tokens
// outside the vocabulary are an error here, before any compute.
func (r *Request) Render(tok *tokenizer.Tokenizer, tmpl *chat.Template) ([]int32, error) {
	switch {
	case len(r.Messages) > 0:
		if tmpl == nil {
			return nil, errors.New("generate: messages need a chat template")
		}
		text, err := tmpl.Render(r.Messages, chat.Options{AddGenerationPrompt: true, TrimBOSEOS: tok.AddBOS(), Tools: r.Tools})
		if err != nil {
			return nil, fmt.Errorf("generate: chat template: %w", err)
		}
		return tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}), nil
	case r.Prompt != "":
		return tok.Encode(r.Prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}), nil
	}
	V := tok.VocabSize()
	for i, id := range r.Tokens {
		if id < 0 || int(id) >= V {
			return nil, fmt.Errorf("generate: token %d at index %d is outside the vocabulary of %d", id, i, V)
		}
	}
	return r.Tokens, nil
}

// EventKind says what an Event carries.
type EventKind uint8

const (
	EventToken EventKind = iota + 1 // one generated token (Text may be "" while held back)
	EventDone                       // the last event of a successful generation: Done is set
	EventError                      // the last event of a failed generation: Err is set
)

// Event is one step of a generation's stream. A stream is zero or more
// EventToken, then exactly one EventDone or EventError.
type Event struct {
	Kind    EventKind
	Token   int32         // EventToken: the sampled id (-1 for text flushed at the end)
	Text    string        // EventToken: text that is now safe to show
	Logprob *TokenLogprob // EventToken, when the request asked for logprobs
	Done    *Done         // EventDone
	Err     error         // EventError
}

// TokenLogprob is the log-probability of a sampled token and, if asked,
// its most likely alternatives (most likely first). Logprobs are those of
// the model's distribution after logit_bias, before the penalties,
// temperature and the truncating samplers: what the model itself says.
type TokenLogprob struct {
	ID      int32
	Logprob float32
	Top     []TopLogprob
}

// TopLogprob is one alternative of a TokenLogprob.
type TopLogprob struct {
	ID      int32
	Logprob float32
}

// Done is the summary that ends a successful stream.
type Done struct {
	Stop             StopReason
	PromptTokens     int           // tokens of the prompt as run (after any truncation)
	CachedTokens     int           // prompt tokens whose KV entries were already cached
	CompletionTokens int           // generated tokens, a final end-of-generation token included
	Dropped          int           // prompt tokens dropped by TruncatePrompt
	Text             string        // the whole generated text, without the stop string
	PromptTime       time.Duration // prefill of the uncached prompt tokens
	FirstToken       time.Duration // from the start of the prefill to the first token's event
	GenerateTime     time.Duration // decoding after the first token
}
