// Reference: OpenAI's chat-completions API (messages with role, content, tool_calls and
// tool_call_id; usage), the shape both models translate to and from.

package agent

import (
	"context"
	"encoding/json"
)

// Message is one turn of the conversation in OpenAI's roles: system, user,
// assistant (text and/or Calls) and tool (the result of the call CallID).
type Message struct {
	Role    string     `json:"role"`
	Content string     `json:"content"`
	Calls   []ToolCall `json:"tool_calls,omitempty"`
	CallID  string     `json:"tool_call_id,omitempty"`
	Name    string     `json:"name,omitempty"` // the tool's name, on a tool message
}

// ToolCall is one call the model asked for.
type ToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"` // a JSON object
}

// ToolSpec is what the model is told about a tool.
type ToolSpec struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"` // JSON Schema of the arguments object
}

// Request is one turn asked of a model.
type Request struct {
	Messages  []Message
	Tools     []ToolSpec // empty: the model must answer in text
	MaxTokens int        // 0: the model's default
}

// Usage counts the tokens of one turn. Prompt is what the model read, so
// the agent knows how near the context it is.
type Usage struct {
	Prompt     int `json:"prompt_tokens"`
	Completion int `json:"completion_tokens"`
}

// Reply is a model's answer: text, calls, or both.
type Reply struct {
	Content string
	Calls   []ToolCall
	Usage   Usage
}

// Model is what the agent needs of a language model: one completion of a
// conversation, with the tools it may call. HTTPModel, LocalModel and the
// tests' scripted model satisfy it.
type Model interface {
	Complete(ctx context.Context, req Request) (*Reply, error)
}
