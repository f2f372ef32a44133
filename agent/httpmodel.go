// Reference: OpenAI's chat-completions API (POST {base}/chat/completions with messages, tools,
// tool_choice; choices[0].message.content/tool_calls; usage; the error envelope), as gptgo serve,
// Ollama and llama.cpp's server implement it.

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"time"
)

// HTTPModel is a model behind an OpenAI-compatible endpoint. It sends the
// tools natively; when the server refuses tools (a 400 that names them, as
// servers without tool calling do), or the prompt with the server's
// rendering of the tools does not fit the context but ReAct's shorter one
// does, it switches to the ReAct text protocol for the rest of the run.
//
// Under ReAct it sends the ReAct grammar (reactGBNF) as llama.cpp's
// "grammar" field, which gptgo serve and llama.cpp's server honour, so the
// reply cannot leave the protocol. A server that refuses the field (a 400
// naming it, as OpenAI's API answers unknown fields) gets the request again
// without it, for the rest of the run; parseReAct stays lenient for such
// unconstrained replies.
type HTTPModel struct {
	BaseURL     string // e.g. http://127.0.0.1:11434/v1
	Model       string
	APIKey      string
	MaxTokens   int      // per turn (0: the server's default)
	Temperature *float64 // nil: the server's default
	Client      *http.Client

	react     atomic.Bool
	noGrammar atomic.Bool // the server refused the "grammar" field
}

// ReAct reports whether the model has fallen back to the text protocol.
func (m *HTTPModel) ReAct() bool { return m.react.Load() }

type wireMessage struct {
	Role       string         `json:"role"`
	Content    string         `json:"content"`
	ToolCalls  []wireToolCall `json:"tool_calls,omitempty"`
	ToolCallID string         `json:"tool_call_id,omitempty"`
}

type wireToolCall struct {
	ID       string `json:"id"`
	Type     string `json:"type"`
	Function struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"` // JSON text, as OpenAI sends it
	} `json:"function"`
}

type wireTool struct {
	Type     string   `json:"type"`
	Function ToolSpec `json:"function"`
}

type wireRequest struct {
	Model       string        `json:"model,omitempty"`
	Messages    []wireMessage `json:"messages"`
	Tools       []wireTool    `json:"tools,omitempty"`
	ToolChoice  string        `json:"tool_choice,omitempty"`
	MaxTokens   int           `json:"max_tokens,omitempty"`
	Temperature *float64      `json:"temperature,omitempty"`
	Stop        []string      `json:"stop,omitempty"`
	Grammar     string        `json:"grammar,omitempty"` // llama.cpp's GBNF extension
}

type wireResponse struct {
	Choices []struct {
		Message struct {
			Content   *string        `json:"content"`
			ToolCalls []wireToolCall `json:"tool_calls"`
		} `json:"message"`
	} `json:"choices"`
	Usage Usage `json:"usage"`
}

// apiError is a non-200 answer.
type apiError struct {
	status int
	Body   struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    any    `json:"code"`
		Param   any    `json:"param"`
	} `json:"error"`
}

// refusesTools tells a server that cannot take tools from other errors.
func (e *apiError) refusesTools() bool {
	if e.status != http.StatusBadRequest {
		return false
	}
	s := strings.ToLower(fmt.Sprint(e.Body.Message, " ", e.Body.Code, " ", e.Body.Param))
	return strings.Contains(s, "tool")
}

// refusesGrammar tells a server that does not know the "grammar" field.
func (e *apiError) refusesGrammar() bool {
	if e.status != http.StatusBadRequest {
		return false
	}
	s := strings.ToLower(fmt.Sprint(e.Body.Message, " ", e.Body.Code, " ", e.Body.Param))
	return strings.Contains(s, "grammar")
}

// Complete implements Model.
func (m *HTTPModel) Complete(ctx context.Context, req Request) (*Reply, error) {
	if len(req.Tools) > 0 && !m.react.Load() {
		r, err := m.native(ctx, req)
		var ae *apiError
		switch {
		case errors.As(err, &ae) && ae.refusesTools():
			m.react.Store(true)
		case errors.Is(err, ErrContextFull):
			// The server's rendering of the tools (whole JSON Schemas in
			// the prompt) may not fit a small context where ReAct's
			// one-line signatures do: try those, and keep them if they fit.
			r, terr := m.text(ctx, req)
			if terr != nil {
				return nil, err
			}
			m.react.Store(true)
			return r, nil
		default:
			return r, err
		}
	}
	return m.text(ctx, req)
}

func (m *HTTPModel) base(req Request) wireRequest {
	mt := req.MaxTokens
	if mt == 0 {
		mt = m.MaxTokens
	}
	return wireRequest{Model: m.Model, MaxTokens: mt, Temperature: m.Temperature}
}

func (m *HTTPModel) native(ctx context.Context, req Request) (*Reply, error) {
	w := m.base(req)
	for _, msg := range req.Messages {
		wm := wireMessage{Role: msg.Role, Content: msg.Content, ToolCallID: msg.CallID}
		for _, c := range msg.Calls {
			var wc wireToolCall
			wc.ID, wc.Type = c.ID, "function"
			wc.Function.Name, wc.Function.Arguments = c.Name, string(c.Arguments)
			wm.ToolCalls = append(wm.ToolCalls, wc)
		}
		w.Messages = append(w.Messages, wm)
	}
	for _, t := range req.Tools {
		w.Tools = append(w.Tools, wireTool{Type: "function", Function: t})
	}
	w.ToolChoice = "auto"
	resp, err := m.post(ctx, w)
	if err != nil {
		return nil, err
	}
	msg := resp.Choices[0].Message
	r := &Reply{Usage: resp.Usage}
	if msg.Content != nil {
		r.Content = *msg.Content
	}
	for _, c := range msg.ToolCalls {
		args := json.RawMessage(c.Function.Arguments)
		if !json.Valid(args) {
			// Kept as a JSON string, so the agent reports the bad
			// arguments to the model as an observation.
			args, _ = json.Marshal(c.Function.Arguments)
		}
		r.Calls = append(r.Calls, ToolCall{ID: c.ID, Name: c.Function.Name, Arguments: args})
	}
	return r, nil
}

func (m *HTTPModel) text(ctx context.Context, req Request) (*Reply, error) {
	w := m.base(req)
	for _, msg := range reactMessages(req.Messages, req.Tools) {
		w.Messages = append(w.Messages, wireMessage{Role: msg.Role, Content: msg.Content})
	}
	if len(req.Tools) > 0 {
		w.Stop = []string{"\nObservation:"}
		if !m.noGrammar.Load() {
			g, err := reactGBNF(req.Tools, false)
			if err != nil {
				return nil, fmt.Errorf("agent: the tools' ReAct grammar: %w", err)
			}
			w.Grammar = g
		}
	}
	resp, err := m.post(ctx, w)
	var ae *apiError
	if w.Grammar != "" && errors.As(err, &ae) && ae.refusesGrammar() {
		m.noGrammar.Store(true)
		w.Grammar = ""
		resp, err = m.post(ctx, w)
	}
	if err != nil {
		return nil, err
	}
	text := ""
	if c := resp.Choices[0].Message.Content; c != nil {
		text = *c
	}
	r := &Reply{Content: text, Usage: resp.Usage}
	if len(req.Tools) == 0 {
		return r, nil
	}
	content, calls, err := parseReAct(text)
	if err != nil {
		return &Reply{Content: text, Usage: resp.Usage, Calls: []ToolCall{badAction(err)}}, nil
	}
	r.Content, r.Calls = content, calls
	return r, nil
}

func (m *HTTPModel) post(ctx context.Context, w wireRequest) (*wireResponse, error) {
	body, err := json.Marshal(w)
	if err != nil {
		return nil, err
	}
	url := strings.TrimRight(m.BaseURL, "/") + "/chat/completions"
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("agent: --url %s: %w", m.BaseURL, err)
	}
	hr.Header.Set("Content-Type", "application/json")
	if m.APIKey != "" {
		hr.Header.Set("Authorization", "Bearer "+m.APIKey)
	}
	c := m.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Minute}
	}
	resp, err := c.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("agent: %s: %w", url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return nil, fmt.Errorf("agent: %s: reading the answer: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		ae := &apiError{status: resp.StatusCode}
		if json.Unmarshal(b, ae) != nil || ae.Body.Message == "" {
			ae.Body.Message = strings.TrimSpace(string(b))
		}
		if fmt.Sprint(ae.Body.Code) == "context_length_exceeded" {
			return nil, fmt.Errorf("%w: %v", ErrContextFull, ae)
		}
		return nil, ae
	}
	var out wireResponse
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, fmt.Errorf("agent: %s: not a chat completion: %v", url, err)
	}
	if len(out.Choices) == 0 {
		return nil, fmt.Errorf("agent: %s: the answer has no choices", url)
	}
	return &out, nil
}

func (e *apiError) Error() string {
	return fmt.Sprintf("agent: the model server answered %d: %s", e.status, e.Body.Message)
}
