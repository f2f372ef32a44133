// Reference: LLaMA-Factory data/README.md (the Alpaca format with instruction/input/output/system/history and
// the ShareGPT format with conversations of from/value, roles human/gpt/system/function_call/observation,
// and tools); OpenAI's chat "messages" (role, content as a string or text parts, tool_calls).

package train

import (
	"cmp"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/gptgo/gptgo/tokenizer/chat"
)

// Conversation is one SFT example: its messages in order, in the shape the
// chat templates take, and the tool definitions its turns may call.
type Conversation struct {
	Messages []chat.Message
	Tools    []json.RawMessage // OpenAI tool definitions; nil: none
	Where    string            // "file:record" for messages about it
}

// ReadConversations reads SFT examples from path: a JSON array of records
// or JSONL (one record per line). Each record is recognised by its keys:
//
//	Alpaca    {"instruction", "input", "output", "system"?, "history"?: [[user, assistant], …]}
//	ShareGPT  {"conversations": [{"from", "value"}, …], "system"?, "tools"?}
//	OpenAI    {"messages": [{"role", "content", "tool_calls"?}, …], "tools"?}
//
// A record that fits none of them, or breaks its format, is an error
// naming the file and the record (1-based; the line for JSONL).
func ReadConversations(path string) ([]Conversation, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("train: sft data: %w", err)
	}
	var out []Conversation
	add := func(raw json.RawMessage, where string) error {
		c, err := parseRecord(raw)
		if err != nil {
			return fmt.Errorf("train: sft data %s: %w", where, err)
		}
		c.Where = where
		out = append(out, c)
		return nil
	}
	if err := forEachRecord(b, "train: sft data", path, add); err != nil { // pref.go
		return nil, err
	}
	return out, nil
}

// record holds every key the three formats use; which are set says the format.
type record struct {
	Instruction   *string           `json:"instruction"`
	Input         string            `json:"input"`
	Output        json.RawMessage   `json:"output"`
	System        string            `json:"system"`
	History       [][]string        `json:"history"`
	Conversations []json.RawMessage `json:"conversations"`
	Messages      []json.RawMessage `json:"messages"`
	Tools         json.RawMessage   `json:"tools"`
}

func parseRecord(raw json.RawMessage) (Conversation, error) {
	var r record
	if err := json.Unmarshal(raw, &r); err != nil {
		return Conversation{}, fmt.Errorf("not a record of the Alpaca, ShareGPT or OpenAI format: %w", err)
	}
	var c Conversation
	var err error
	switch {
	case r.Conversations != nil:
		c, err = shareGPT(r)
	case r.Messages != nil:
		c, err = openAI(r)
	case r.Instruction != nil:
		c, err = alpaca(r)
	default:
		return c, fmt.Errorf("no \"instruction\", \"conversations\" or \"messages\" key: not a record of the Alpaca, ShareGPT or OpenAI format")
	}
	if err != nil {
		return c, err
	}
	if c.Tools, err = toolList(r.Tools); err != nil {
		return c, err
	}
	return c, checkTurns(c.Messages)
}

// alpaca turns a record into system?, (user, assistant) per history pair,
// then the instruction (with its input on the next line, as LLaMA-Factory
// joins them) and the output.
func alpaca(r record) (Conversation, error) {
	var out string
	if err := json.Unmarshal(r.Output, &out); err != nil {
		return Conversation{}, fmt.Errorf("alpaca \"output\" must be a string")
	}
	var c Conversation
	if r.System != "" {
		c.Messages = append(c.Messages, chat.Message{Role: "system", Content: r.System})
	}
	for i, h := range r.History {
		if len(h) != 2 {
			return c, fmt.Errorf("alpaca \"history\" item %d has %d strings, want [instruction, response]", i+1, len(h))
		}
		c.Messages = append(c.Messages, chat.Message{Role: "user", Content: h[0]}, chat.Message{Role: "assistant", Content: h[1]})
	}
	q := *r.Instruction
	if r.Input != "" {
		q += "\n" + r.Input
	}
	c.Messages = append(c.Messages, chat.Message{Role: "user", Content: q}, chat.Message{Role: "assistant", Content: out})
	return c, nil
}

// shareGPTRoles maps ShareGPT's speakers to chat roles, as LLaMA-Factory's
// defaults do; function_call is an assistant turn that calls a tool and
// observation the tool's answer.
var shareGPTRoles = map[string]string{
	"human": "user", "user": "user", "gpt": "assistant", "assistant": "assistant",
	"system": "system", "function_call": "assistant", "observation": "tool", "tool": "tool",
}

func shareGPT(r record) (Conversation, error) {
	var c Conversation
	if r.System != "" {
		c.Messages = append(c.Messages, chat.Message{Role: "system", Content: r.System})
	}
	for i, raw := range r.Conversations {
		var t struct {
			From  string  `json:"from"`
			Value *string `json:"value"`
		}
		if err := json.Unmarshal(raw, &t); err != nil || t.Value == nil {
			return c, fmt.Errorf("sharegpt turn %d: want {\"from\": ROLE, \"value\": TEXT}", i+1)
		}
		role, ok := shareGPTRoles[t.From]
		if !ok {
			return c, fmt.Errorf("sharegpt turn %d: unknown speaker %q (human, gpt, system, function_call, observation)", i+1, t.From)
		}
		m := chat.Message{Role: role, Content: *t.Value}
		if t.From == "function_call" {
			tc, err := parseCall(*t.Value)
			if err != nil {
				return c, fmt.Errorf("sharegpt turn %d: function_call: %w", i+1, err)
			}
			m = chat.Message{Role: "assistant", ToolCalls: tc}
		}
		c.Messages = append(c.Messages, m)
	}
	return c, nil
}

// parseCall reads a function_call value: {"name", "arguments"} or a list of them.
func parseCall(v string) ([]chat.ToolCall, error) {
	type call struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	}
	var list []call
	if err := json.Unmarshal([]byte(v), &list); err != nil {
		var one call
		if err := json.Unmarshal([]byte(v), &one); err != nil {
			return nil, fmt.Errorf("want {\"name\", \"arguments\"} JSON: %w", err)
		}
		list = []call{one}
	}
	var out []chat.ToolCall
	for _, c := range list {
		if c.Name == "" {
			return nil, fmt.Errorf("a call has no name")
		}
		args := string(c.Arguments)
		var s string
		if json.Unmarshal(c.Arguments, &s) == nil { // arguments given as a JSON string
			args = s
		}
		out = append(out, chat.ToolCall{Name: c.Name, Arguments: cmp.Or(args, "{}")})
	}
	return out, nil
}

func openAI(r record) (Conversation, error) {
	var c Conversation
	for i, raw := range r.Messages {
		var m struct {
			Role      string          `json:"role"`
			Content   json.RawMessage `json:"content"`
			Name      string          `json:"name"`
			ID        string          `json:"tool_call_id"`
			ToolCalls []struct {
				ID       string `json:"id"`
				Function struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				} `json:"function"`
			} `json:"tool_calls"`
		}
		if err := json.Unmarshal(raw, &m); err != nil {
			return c, fmt.Errorf("message %d: %w", i+1, err)
		}
		switch m.Role {
		case "system", "user", "assistant", "tool":
		default:
			return c, fmt.Errorf("message %d: unknown role %q (system, user, assistant, tool)", i+1, m.Role)
		}
		text, err := contentText(m.Content)
		if err != nil {
			return c, fmt.Errorf("message %d: %w", i+1, err)
		}
		msg := chat.Message{Role: m.Role, Content: text, Name: m.Name, ToolCallID: m.ID}
		for _, tc := range m.ToolCalls {
			args := string(tc.Function.Arguments)
			var s string
			if json.Unmarshal(tc.Function.Arguments, &s) == nil {
				args = s
			}
			msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: tc.ID, Name: tc.Function.Name, Arguments: cmp.Or(args, "{}")})
		}
		c.Messages = append(c.Messages, msg)
	}
	return c, nil
}

// contentText reads a message's content: a string, null, or a list of
// text parts ({"type": "text", "text"|"value": …}, joined).
func contentText(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var parts []struct {
		Type  string  `json:"type"`
		Text  *string `json:"text"`
		Value *string `json:"value"`
	}
	if err := json.Unmarshal(raw, &parts); err != nil {
		return "", fmt.Errorf("content is neither a string nor a list of parts")
	}
	var b strings.Builder
	for i, p := range parts {
		t := p.Text
		if t == nil {
			t = p.Value
		}
		if p.Type != "text" || t == nil {
			return "", fmt.Errorf("content part %d is of type %q; only text parts are trained on", i+1, p.Type)
		}
		b.WriteString(*t)
	}
	return b.String(), nil
}

// toolList reads "tools": a JSON list, or a string holding one (ShareGPT
// keeps it as text). A bare function schema is wrapped as OpenAI's
// {"type": "function", "function": …}.
func toolList(raw json.RawMessage) ([]json.RawMessage, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if strings.TrimSpace(s) == "" {
			return nil, nil
		}
		raw = json.RawMessage(s)
	}
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, fmt.Errorf("\"tools\" must be a JSON list of tool definitions: %w", err)
	}
	for i, t := range list {
		var probe struct {
			Type string `json:"type"`
		}
		if err := json.Unmarshal(t, &probe); err != nil {
			return nil, fmt.Errorf("tool %d: %w", i+1, err)
		}
		if probe.Type == "" {
			list[i] = json.RawMessage(`{"type":"function","function":` + string(t) + `}`)
		}
	}
	return list, nil
}

// checkTurns refuses a conversation SFT cannot learn from: no assistant
// turn, or a system turn anywhere but first.
func checkTurns(ms []chat.Message) error {
	asst := false
	for i, m := range ms {
		if m.Role == "system" && i > 0 {
			return fmt.Errorf("turn %d: a system turn after the first", i+1)
		}
		asst = asst || m.Role == "assistant"
	}
	if !asst {
		return fmt.Errorf("no assistant turn to learn from")
	}
	return nil
}
