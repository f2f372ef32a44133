// Reference: Ollama's docs/api.md (generate, chat, tags, show, ps, version; durations in
// nanoseconds; NDJSON streaming) and api/types.go (field names; keep_alive as a duration string
// or a number of seconds, negative meaning forever; logprobs and top_logprobs).

package server

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"time"
)

// The wire types of the Ollama API, apart from its handlers (ollama.go).
// Every field an Ollama client may send is named here: the decoder rejects
// unknown fields, and the fields gptgo cannot honour are refused by name.

// ollamaGenerateRequest is the body of POST /api/generate.
type ollamaGenerateRequest struct {
	Model       string                     `json:"model"`
	Prompt      string                     `json:"prompt"`
	Suffix      string                     `json:"suffix"`   // fill-in-the-middle: refused
	System      string                     `json:"system"`   // replaces the model's SYSTEM
	Template    string                     `json:"template"` // replaces the chat template (Jinja)
	Context     []int32                    `json:"context"`  // the tokens of an earlier answer's conversation
	Stream      *bool                      `json:"stream"`   // default true
	Raw         bool                       `json:"raw"`      // the prompt as it is, no template
	Format      json.RawMessage            `json:"format"`   // "json" or a JSON schema (structured.go)
	KeepAlive   *ollamaDuration            `json:"keep_alive"`
	Images      json.RawMessage            `json:"images"` // refused: no vision models
	Options     map[string]json.RawMessage `json:"options"`
	Think       json.RawMessage            `json:"think"` // refused when true: no thinking models
	Truncate    *bool                      `json:"truncate"`
	Logprobs    bool                       `json:"logprobs"`
	TopLogprobs int                        `json:"top_logprobs"`
}

// ollamaChatRequest is the body of POST /api/chat.
type ollamaChatRequest struct {
	Model       string                     `json:"model"`
	Messages    []ollamaMessage            `json:"messages"`
	Stream      *bool                      `json:"stream"`
	Format      json.RawMessage            `json:"format"`
	KeepAlive   *ollamaDuration            `json:"keep_alive"`
	Tools       json.RawMessage            `json:"tools"` // OpenAI's shape (tools.go)
	Options     map[string]json.RawMessage `json:"options"`
	Think       json.RawMessage            `json:"think"`
	Truncate    *bool                      `json:"truncate"` // gptgo: drop the oldest turns to fit the context
	Logprobs    bool                       `json:"logprobs"`
	TopLogprobs int                        `json:"top_logprobs"`
}

// ollamaMessage is one turn of /api/chat.
type ollamaMessage struct {
	Role      string           `json:"role"`
	Content   string           `json:"content"`
	Thinking  string           `json:"thinking,omitempty"`
	Images    json.RawMessage  `json:"images,omitempty"`
	ToolCalls []ollamaToolCall `json:"tool_calls,omitempty"`
	ToolName  string           `json:"tool_name,omitempty"`
}

// ollamaToolCall is a call an assistant turn made (arguments are an object).
type ollamaToolCall struct {
	Function struct {
		Index     int             `json:"index,omitempty"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// ollamaDuration is keep_alive: a Go duration string ("5m", "-1h"), a number
// of seconds (300, -1), or a string holding such a number ("-1"). A negative
// value keeps the model loaded forever, 0 unloads it after the request.
type ollamaDuration struct{ d time.Duration }

func (k *ollamaDuration) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if string(b) == "null" {
		return nil
	}
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	s = strings.TrimSpace(s)
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		switch {
		case math.IsNaN(f):
			return Errorf(KindBadRequest, "keep_alive", "keep_alive: %s is not a duration", s)
		case f < 0:
			k.d = -1
		case f*float64(time.Second) > math.MaxInt64:
			k.d = -1 // longer than 292 years: forever
		default:
			k.d = time.Duration(f * float64(time.Second))
		}
		return nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return Errorf(KindBadRequest, "keep_alive", "keep_alive: %q is neither a duration (\"5m\", \"1h30m\") nor a number of seconds", s)
	}
	if d < 0 {
		d = -1
	}
	k.d = d
	return nil
}

// ollamaMetrics are the figures of a final object, in nanoseconds.
type ollamaMetrics struct {
	TotalDuration      int64 `json:"total_duration,omitempty"`
	LoadDuration       int64 `json:"load_duration,omitempty"`
	PromptEvalCount    int   `json:"prompt_eval_count,omitempty"`
	PromptEvalDuration int64 `json:"prompt_eval_duration,omitempty"`
	EvalCount          int   `json:"eval_count,omitempty"`
	EvalDuration       int64 `json:"eval_duration,omitempty"`
}

// ollamaGenerateResponse is one object of /api/generate's answer.
type ollamaGenerateResponse struct {
	Model      string          `json:"model"`
	CreatedAt  time.Time       `json:"created_at"`
	Response   string          `json:"response"`
	Done       bool            `json:"done"`
	DoneReason string          `json:"done_reason,omitempty"`
	Context    []int32         `json:"context,omitempty"`
	Logprobs   []ollamaLogprob `json:"logprobs,omitempty"`
	ollamaMetrics
}

// ollamaChatResponse is one object of /api/chat's answer.
type ollamaChatResponse struct {
	Model      string          `json:"model"`
	CreatedAt  time.Time       `json:"created_at"`
	Message    ollamaMessage   `json:"message"`
	Done       bool            `json:"done"`
	DoneReason string          `json:"done_reason,omitempty"`
	Logprobs   []ollamaLogprob `json:"logprobs,omitempty"`
	ollamaMetrics
}

// ollamaLogprob is a generated token's log-probability and its most likely
// alternatives.
type ollamaLogprob struct {
	Token       string             `json:"token"`
	Logprob     float32            `json:"logprob"`
	Bytes       []int              `json:"bytes,omitempty"`
	TopLogprobs []ollamaTopLogprob `json:"top_logprobs,omitempty"`
}

type ollamaTopLogprob struct {
	Token   string  `json:"token"`
	Logprob float32 `json:"logprob"`
	Bytes   []int   `json:"bytes,omitempty"`
}

// ollamaDetails is a model's summary in /api/tags, /api/ps and /api/show.
type ollamaDetails struct {
	ParentModel       string   `json:"parent_model"`
	Format            string   `json:"format"`
	Family            string   `json:"family"`
	Families          []string `json:"families"`
	ParameterSize     string   `json:"parameter_size"`
	QuantizationLevel string   `json:"quantization_level"`
}

// ollamaModel is one model of GET /api/tags.
type ollamaModel struct {
	Name       string        `json:"name"`
	Model      string        `json:"model"`
	ModifiedAt time.Time     `json:"modified_at"`
	Size       int64         `json:"size"`
	Digest     string        `json:"digest"`
	Details    ollamaDetails `json:"details"`
}

// ollamaRunning is one model of GET /api/ps.
type ollamaRunning struct {
	ollamaModel
	ExpiresAt     time.Time `json:"expires_at"`
	SizeVRAM      int64     `json:"size_vram"` // always 0: gptgo runs on the CPU
	ContextLength int       `json:"context_length"`
}

// ollamaShowRequest is the body of POST /api/show ("name" is the field's
// older spelling, which older clients still send).
type ollamaShowRequest struct {
	Model   string `json:"model"`
	Name    string `json:"name"`
	Verbose bool   `json:"verbose"`
}

// ollamaShowResponse is the answer of POST /api/show.
type ollamaShowResponse struct {
	License      string         `json:"license,omitempty"`
	Modelfile    string         `json:"modelfile"`
	Parameters   string         `json:"parameters,omitempty"`
	Template     string         `json:"template,omitempty"`
	System       string         `json:"system,omitempty"`
	Details      ollamaDetails  `json:"details"`
	ModelInfo    map[string]any `json:"model_info"`
	Capabilities []string       `json:"capabilities"`
	ModifiedAt   time.Time      `json:"modified_at"`
}

// ollamaCopyRequest is the body of POST /api/copy.
type ollamaCopyRequest struct {
	Source      string `json:"source"`
	Destination string `json:"destination"`
}

// ollamaDeleteRequest is the body of DELETE /api/delete.
type ollamaDeleteRequest struct {
	Model string `json:"model"`
	Name  string `json:"name"`
}
