// Reference: OpenAI API reference, "Chat" and "Completions (legacy)" (https://platform.openai.com/docs/api-reference/chat,
// /completions): request fields, the chat.completion / chat.completion.chunk / text_completion objects, logprobs;
// llama.cpp tools/server README (the extensions top_k, min_p, repeat_penalty, repeat_last_n).

package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// The wire types of the OpenAI API, apart from the handlers (openai.go)
// that translate them to and from the native request. Every field a client
// may send is named here: the decoder rejects unknown fields, so a typo or a
// feature gptgo lacks is a 400, never silently ignored.

// chatRequest is the body of POST /v1/chat/completions.
type chatRequest struct {
	Model               string             `json:"model"`
	Messages            []chatMessage      `json:"messages"`
	MaxTokens           *int               `json:"max_tokens"`
	MaxCompletionTokens *int               `json:"max_completion_tokens"`
	Temperature         *float32           `json:"temperature"`
	TopP                *float32           `json:"top_p"`
	N                   *int               `json:"n"`
	Stream              *bool              `json:"stream"`
	StreamOptions       *streamOptions     `json:"stream_options"`
	Stop                stopField          `json:"stop"`
	PresencePenalty     *float32           `json:"presence_penalty"`
	FrequencyPenalty    *float32           `json:"frequency_penalty"`
	LogitBias           map[string]float32 `json:"logit_bias"`
	Logprobs            *bool              `json:"logprobs"`
	TopLogprobs         *int               `json:"top_logprobs"`
	Seed                *int64             `json:"seed"`
	User                string             `json:"user"`
	samplingExtensions                     // llama.cpp's
	grammarExtensions                      // llama.cpp's grammar, json_schema (structured.go)
	ignoredFields                          // accepted, no effect
	unsupported                            // 400s, but for response_format, tools and tool_choice (structured.go, tools.go)
	Truncate            *bool              `json:"truncate"` // gptgo: drop the oldest turns to fit the context
}

// samplingExtensions are llama.cpp's sampler fields, which many clients send
// to OpenAI-compatible servers.
type samplingExtensions struct {
	TopK          *int     `json:"top_k"`
	MinP          *float32 `json:"min_p"`
	RepeatPenalty *float32 `json:"repeat_penalty"`
	RepeatLastN   *int     `json:"repeat_last_n"`
}

// ignoredFields are OpenAI fields that do not change what a local model
// generates (billing, storage, routing); accepted so that clients that always
// send them work.
type ignoredFields struct {
	Store             json.RawMessage `json:"store"`
	Metadata          json.RawMessage `json:"metadata"`
	ServiceTier       json.RawMessage `json:"service_tier"`
	PromptCacheKey    json.RawMessage `json:"prompt_cache_key"`
	SafetyIdentifier  json.RawMessage `json:"safety_identifier"`
	ParallelToolCalls json.RawMessage `json:"parallel_tool_calls"` // read with tools (tools.go)
}

// unsupported are fields gptgo cannot honour yet; set (not null, not
// empty), each is a 400 that names it. ResponseFormat, Tools and
// ToolChoice live here for their place in the wire order but are read by
// chatRequest.structured (structured.go, tools.go).
type unsupported struct {
	ResponseFormat   json.RawMessage `json:"response_format"`
	Tools            json.RawMessage `json:"tools"`
	ToolChoice       json.RawMessage `json:"tool_choice"`
	Functions        json.RawMessage `json:"functions"`
	FunctionCall     json.RawMessage `json:"function_call"`
	Audio            json.RawMessage `json:"audio"`
	Modalities       json.RawMessage `json:"modalities"`
	Prediction       json.RawMessage `json:"prediction"`
	WebSearchOptions json.RawMessage `json:"web_search_options"`
	ReasoningEffort  json.RawMessage `json:"reasoning_effort"`
	Verbosity        json.RawMessage `json:"verbosity"`
}

// check reports the first unsupported field that is set.
func (u *unsupported) check() error {
	for _, f := range []struct {
		name string
		raw  json.RawMessage
		why  string
	}{
		{"functions", u.Functions, "the deprecated functions field is not supported; send tools"},
		{"function_call", u.FunctionCall, "the deprecated function_call field is not supported; send tool_choice"},
		{"audio", u.Audio, "audio output is not supported"},
		{"modalities", u.Modalities, "only text output is supported"},
		{"prediction", u.Prediction, "predicted outputs are not supported"},
		{"web_search_options", u.WebSearchOptions, "web search is not supported"},
		{"reasoning_effort", u.ReasoningEffort, "reasoning effort is not supported"},
		{"verbosity", u.Verbosity, "verbosity is not supported"},
	} {
		if isSet(f.raw) && !(f.name == "modalities" && onlyText(f.raw)) {
			return &Error{Kind: KindNotSupported, Param: f.name, Msg: fmt.Sprintf("%s: %s", f.name, f.why)}
		}
	}
	return nil
}

// isSet is false for an absent field, null, [] and {}.
func isSet(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t != "" && t != "null" && t != "[]" && t != "{}"
}

// onlyText accepts modalities ["text"].
func onlyText(raw json.RawMessage) bool {
	var m []string
	return json.Unmarshal(raw, &m) == nil && len(m) == 1 && m[0] == "text"
}

type streamOptions struct {
	IncludeUsage       bool `json:"include_usage"`
	IncludeObfuscation bool `json:"include_obfuscation"` // accepted; gptgo adds no obfuscation padding
}

// chatMessage is one message of a chat request.
type chatMessage struct {
	Role       string          `json:"role"`
	Content    messageContent  `json:"content"`
	Name       string          `json:"name"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
	Refusal    *string         `json:"refusal"`
	Audio      json.RawMessage `json:"audio"` // an earlier answer's audio id: not supported if set
}

// wireToolCall is an assistant's earlier tool call, as clients send history back.
type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"`
	} `json:"function"`
}

// messageContent is a message's content: a string, an array of parts, or null.
type messageContent struct {
	Text string
	Set  bool // false for an absent or null content
}

func (c *messageContent) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*c = messageContent{}
		return nil
	case len(b) > 0 && b[0] == '"':
		c.Set = true
		return json.Unmarshal(b, &c.Text)
	case len(b) > 0 && b[0] == '[':
		var parts []json.RawMessage
		if err := json.Unmarshal(b, &parts); err != nil {
			return err
		}
		var sb strings.Builder
		for i, raw := range parts {
			var p struct {
				Type string `json:"type"`
				Text string `json:"text"`
			}
			if err := json.Unmarshal(raw, &p); err != nil {
				return Errorf(KindBadRequest, "content", "content part %d: %v", i, err)
			}
			switch p.Type {
			case "text":
				sb.WriteString(p.Text)
			case "image_url", "input_audio", "file", "image", "refusal":
				return Errorf(KindNotSupported, "content", "content part %d: type %q is not supported (only text)", i, p.Type)
			default:
				return Errorf(KindBadRequest, "content", "content part %d: unknown type %q", i, p.Type)
			}
		}
		c.Text, c.Set = sb.String(), true
		return nil
	}
	return Errorf(KindBadRequest, "content", "content must be a string, an array of content parts or null")
}

// stopField is "stop": a string, an array of strings, or null.
type stopField []string

func (s *stopField) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		*s = nil
		return nil
	case len(b) > 0 && b[0] == '"':
		var one string
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*s = stopField{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return Errorf(KindBadRequest, "stop", "stop must be a string or an array of strings")
	}
	*s = many
	return nil
}

// completionRequest is the body of POST /v1/completions.
type completionRequest struct {
	Model            string             `json:"model"`
	Prompt           promptField        `json:"prompt"`
	MaxTokens        *int               `json:"max_tokens"`
	Temperature      *float32           `json:"temperature"`
	TopP             *float32           `json:"top_p"`
	N                *int               `json:"n"`
	Stream           *bool              `json:"stream"`
	StreamOptions    *streamOptions     `json:"stream_options"`
	Stop             stopField          `json:"stop"`
	PresencePenalty  *float32           `json:"presence_penalty"`
	FrequencyPenalty *float32           `json:"frequency_penalty"`
	LogitBias        map[string]float32 `json:"logit_bias"`
	Logprobs         *int               `json:"logprobs"` // legacy: how many alternatives (0…5)
	Echo             *bool              `json:"echo"`
	Suffix           *string            `json:"suffix"`
	BestOf           *int               `json:"best_of"`
	Seed             *int64             `json:"seed"`
	User             string             `json:"user"`
	samplingExtensions
	grammarExtensions // llama.cpp's grammar, json_schema (structured.go)
}

// promptField is a completion prompt: a string, an array of one string, an
// array of token ids, or an array of one array of token ids.
type promptField struct {
	Text   string
	Tokens []int32
	Set    bool
}

func (p *promptField) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		*p = promptField{Text: s, Set: true}
		return nil
	}
	var ss []string
	if json.Unmarshal(b, &ss) == nil {
		if len(ss) != 1 {
			return Errorf(KindBadRequest, "prompt", "prompt: %d prompts in one request; gptgo takes one", len(ss))
		}
		*p = promptField{Text: ss[0], Set: true}
		return nil
	}
	var ids []int32
	if json.Unmarshal(b, &ids) == nil {
		*p = promptField{Tokens: ids, Set: true}
		return nil
	}
	var idss [][]int32
	if json.Unmarshal(b, &idss) == nil {
		if len(idss) != 1 {
			return Errorf(KindBadRequest, "prompt", "prompt: %d prompts in one request; gptgo takes one", len(idss))
		}
		*p = promptField{Tokens: idss[0], Set: true}
		return nil
	}
	if string(bytes.TrimSpace(b)) == "null" {
		*p = promptField{}
		return nil
	}
	return Errorf(KindBadRequest, "prompt", "prompt must be a string, an array of one string, or an array of token ids")
}

// Responses.

type usage struct {
	PromptTokens        int           `json:"prompt_tokens"`
	CompletionTokens    int           `json:"completion_tokens"`
	TotalTokens         int           `json:"total_tokens"`
	PromptTokensDetails *tokenDetails `json:"prompt_tokens_details,omitempty"`
}

type tokenDetails struct {
	CachedTokens int `json:"cached_tokens"`
}

type chatCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"` // "chat.completion"
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []chatChoice `json:"choices"`
	Usage             usage        `json:"usage"`
	Truncated         int          `json:"truncated_tokens,omitempty"` // gptgo: prompt tokens dropped by "truncate"
}

type chatChoice struct {
	Index        int           `json:"index"`
	Message      assistantMsg  `json:"message"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason string        `json:"finish_reason"`
}

type assistantMsg struct {
	Role      string        `json:"role"`
	Content   string        `json:"content"`
	Refusal   *string       `json:"refusal"`
	ToolCalls []toolCallOut `json:"tool_calls,omitempty"` // tools.go
}

type chatChunk struct {
	ID                string        `json:"id"`
	Object            string        `json:"object"` // "chat.completion.chunk"
	Created           int64         `json:"created"`
	Model             string        `json:"model"`
	SystemFingerprint string        `json:"system_fingerprint"`
	Choices           []chunkChoice `json:"choices"`
	Usage             *usage        `json:"usage,omitempty"`
	nullUsage         bool          // with include_usage, every chunk but the last has "usage": null
}

func (c chatChunk) MarshalJSON() ([]byte, error) {
	type plain chatChunk
	return withNullUsage(json.Marshal(plain(c)))(c.nullUsage && c.Usage == nil)
}

// withNullUsage appends "usage":null to a marshalled object when add is set,
// as OpenAI sends it on the chunks before the usage chunk.
func withNullUsage(b []byte, err error) func(add bool) ([]byte, error) {
	return func(add bool) ([]byte, error) {
		if err != nil || !add || len(b) < 2 {
			return b, err
		}
		return append(b[:len(b)-1], `,"usage":null}`...), nil
	}
}

type chunkChoice struct {
	Index        int           `json:"index"`
	Delta        chunkDelta    `json:"delta"`
	Logprobs     *chatLogprobs `json:"logprobs"`
	FinishReason *string       `json:"finish_reason"`
}

type chunkDelta struct {
	Role      string          `json:"role,omitempty"`
	Content   *string         `json:"content,omitempty"`
	ToolCalls []toolCallDelta `json:"tool_calls,omitempty"` // tools.go
}

type chatLogprobs struct {
	Content []tokenLogprob `json:"content"`
	Refusal []tokenLogprob `json:"refusal"`
}

type tokenLogprob struct {
	Token       string       `json:"token"`
	Logprob     float32      `json:"logprob"`
	Bytes       []int        `json:"bytes"`
	TopLogprobs []topLogprob `json:"top_logprobs"`
}

type topLogprob struct {
	Token   string  `json:"token"`
	Logprob float32 `json:"logprob"`
	Bytes   []int   `json:"bytes"`
}

type textCompletion struct {
	ID                string       `json:"id"`
	Object            string       `json:"object"` // "text_completion"
	Created           int64        `json:"created"`
	Model             string       `json:"model"`
	SystemFingerprint string       `json:"system_fingerprint"`
	Choices           []textChoice `json:"choices"`
	Usage             *usage       `json:"usage,omitempty"`
	nullUsage         bool         // as chatChunk's
}

func (c textCompletion) MarshalJSON() ([]byte, error) {
	type plain textCompletion
	return withNullUsage(json.Marshal(plain(c)))(c.nullUsage && c.Usage == nil)
}

type textChoice struct {
	Text         string          `json:"text"`
	Index        int             `json:"index"`
	Logprobs     *legacyLogprobs `json:"logprobs"`
	FinishReason *string         `json:"finish_reason"`
}

// legacyLogprobs is the completions API's logprobs object.
type legacyLogprobs struct {
	Tokens        []string             `json:"tokens"`
	TokenLogprobs []float32            `json:"token_logprobs"`
	TopLogprobs   []map[string]float32 `json:"top_logprobs"`
	TextOffset    []int                `json:"text_offset"`
}

type modelObject struct {
	ID      string `json:"id"`
	Object  string `json:"object"` // "model"
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

type modelList struct {
	Object string        `json:"object"` // "list"
	Data   []modelObject `json:"data"`
}
