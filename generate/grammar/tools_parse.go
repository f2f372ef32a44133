// Reference: the call formats of tools.go (Hermes/Qwen2.5, Llama 3.1, Mistral, plain JSON) and OpenAI's
// chat-completions message (content beside tool_calls with a name and JSON-text arguments).

package grammar

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// ToolCall is one parsed call: a function name and its arguments object.
type ToolCall struct {
	Name      string
	Arguments json.RawMessage // compact JSON text of an object
}

// DetectToolFormat picks the call format a chat template uses from its
// source: the markers its tool instructions and tool-call rendering use.
func DetectToolFormat(template string) ToolFormat {
	switch {
	case strings.Contains(template, "<tool_call>"):
		return ToolsHermes
	case strings.Contains(template, "[TOOL_CALLS]"):
		return ToolsMistral
	case strings.Contains(template, "<|python_tag|>") || strings.Contains(template, "ipython"):
		return ToolsLlama3
	}
	return ToolsJSON
}

// ParseToolCalls splits a model's answer in format f into its text (with
// the calls cut out, trimmed) and its calls. Text that only looks like a
// call but does not parse is an error naming what is wrong; an answer
// without any call is all content.
func ParseToolCalls(text string, f ToolFormat) (content string, calls []ToolCall, err error) {
	switch f {
	case ToolsHermes:
		var rest strings.Builder
		s := text
		for {
			i := strings.Index(s, "<tool_call>")
			if i < 0 {
				rest.WriteString(s)
				break
			}
			rest.WriteString(s[:i])
			s = s[i+len("<tool_call>"):]
			j := strings.Index(s, "</tool_call>")
			body := s
			if j >= 0 {
				body, s = s[:j], s[j+len("</tool_call>"):]
			} else {
				s = ""
			}
			c, err := parseCall(body, f)
			if err != nil {
				return "", nil, err
			}
			calls = append(calls, c)
		}
		return strings.TrimSpace(rest.String()), calls, nil
	case ToolsMistral:
		i := strings.Index(text, "[TOOL_CALLS]")
		if i < 0 {
			return strings.TrimSpace(text), nil, nil
		}
		calls, err := parseCallList(text[i+len("[TOOL_CALLS]"):], f)
		return strings.TrimSpace(text[:i]), calls, err
	}
	t := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "<|python_tag|>"))
	switch {
	case strings.HasPrefix(t, "{"):
		c, err := parseCall(t, f)
		if err != nil {
			return "", nil, err
		}
		return "", []ToolCall{c}, nil
	case strings.HasPrefix(t, "[") && f == ToolsJSON:
		calls, err := parseCallList(t, f)
		if err != nil {
			return "", nil, err
		}
		return "", calls, nil
	}
	return strings.TrimSpace(text), nil, nil
}

func parseCallList(s string, f ToolFormat) ([]ToolCall, error) {
	var raw []json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &raw); err != nil {
		return nil, fmt.Errorf("grammar: tool calls are not a JSON array: %w", err)
	}
	calls := make([]ToolCall, 0, len(raw))
	for _, r := range raw {
		c, err := parseCall(string(r), f)
		if err != nil {
			return nil, err
		}
		calls = append(calls, c)
	}
	return calls, nil
}

// parseCall reads {"name": …, "arguments"|"parameters": {…}}; arguments
// given as a JSON string holding an object are accepted too.
func parseCall(s string, f ToolFormat) (ToolCall, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(strings.TrimSpace(s)), &m); err != nil {
		return ToolCall{}, fmt.Errorf("grammar: a %s tool call is not a JSON object: %w", f, err)
	}
	var c ToolCall
	if err := json.Unmarshal(m["name"], &c.Name); err != nil || c.Name == "" {
		return ToolCall{}, fmt.Errorf("grammar: a %s tool call has no name", f)
	}
	args, ok := m["arguments"]
	if !ok {
		args, ok = m["parameters"]
	}
	if !ok {
		args = json.RawMessage(`{}`)
	}
	var str string
	if json.Unmarshal(args, &str) == nil {
		args = json.RawMessage(str)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(args, &obj); err != nil {
		return ToolCall{}, fmt.Errorf("grammar: the arguments of tool call %q are not a JSON object: %w", c.Name, err)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, args); err != nil {
		return ToolCall{}, err
	}
	c.Arguments = buf.Bytes()
	return c, nil
}
