// Capability probes and polyfills for templates that lack a role or tool support, after llama.cpp's common/minja/chat-template.hpp (behaviour, not code).

package chat

import (
	"bytes"
	"encoding/json"
	"strings"
	"time"
)

// caps records what a template renders by itself, found by rendering
// small conversations that carry needles and looking for them.
type caps struct {
	system        bool // system turns
	tools         bool // the `tools` variable
	toolCalls     bool // assistant tool_calls
	toolResponses bool // "tool" turns
	// stringArgs passes tool-call arguments as JSON text (OpenAI's shape)
	// rather than as a mapping; chosen when the template renders them well
	// that way, as llama.cpp does. Llama 3.1 and Qwen 2.5 need mappings
	// (they apply tojson); DeepSeek R1 and Functionary concatenate strings.
	stringArgs bool
}

// rawCaps renders a conversation as given, with no rewriting, arguments as
// mappings (Hugging Face's convention).
var rawCaps = caps{system: true, tools: true, toolCalls: true, toolResponses: true}

func (t *Template) probe() caps {
	full := t.lim
	t.lim = probeLimits
	defer func() { t.lim = full }()
	tryCaps := func(c caps, msgs []Message, tools []json.RawMessage, needles ...string) bool {
		out, err := t.render(msgs, Options{Tools: tools, Now: time.Unix(0, 0).UTC()}, c)
		if err != nil {
			return false
		}
		for _, n := range needles {
			if strings.Contains(out, n) {
				return true
			}
		}
		return false
	}
	try := func(msgs []Message, tools []json.RawMessage, needles ...string) bool {
		return tryCaps(rawCaps, msgs, tools, needles...)
	}
	user := Message{Role: "user", Content: "Hi"}
	call := Message{Role: "assistant", ToolCalls: []ToolCall{{ID: "call_1___", Name: "probe_tool_fn", Arguments: `{"probe_arg": "x"}`}}}
	var c caps
	c.system = try([]Message{{Role: "system", Content: "<System Needle 7f3a>"}, user}, nil, "<System Needle 7f3a>")
	c.tools = try([]Message{user}, []json.RawMessage{json.RawMessage(
		`{"type": "function", "function": {"name": "probe_tool_fn", "description": "Probe.", "parameters": {"type": "object", "properties": {"arg": {"type": "string"}}, "required": ["arg"]}}}`)}, "probe_tool_fn")
	// A template shows tool calls if the function name or argument comes out.
	// Arguments go in as a mapping when the template lays the mapping out
	// itself (tojson in Qwen and Llama 3.1, one parameter per key in MiniMax
	// and Gemma 4); as JSON text when it only shows a mapping as a Python
	// repr or fails on it but prints text intact (Hermes, DeepSeek R1,
	// Functionary concatenate strings).
	asText := rawCaps
	asText.stringArgs = true
	turn := []Message{user, call}
	render := func(c caps) string {
		out, err := t.render(turn, Options{Now: time.Unix(0, 0).UTC()}, c)
		if err != nil {
			return ""
		}
		return out
	}
	objOut, strOut := render(rawCaps), render(asText)
	c.toolCalls = strings.Contains(objOut+strOut, "probe_tool_fn") || strings.Contains(objOut+strOut, "probe_arg")
	objLaidOut := strings.Contains(objOut, "probe_arg") && !strings.Contains(objOut, "'probe_arg':")
	strIntact := strings.Contains(strOut, `"probe_arg":`)
	c.stringArgs = !objLaidOut && (strIntact || !strings.Contains(objOut, "probe_arg") && strings.Contains(strOut, "probe_arg"))
	withArgs := rawCaps
	withArgs.stringArgs = c.stringArgs
	c.toolResponses = tryCaps(withArgs, []Message{user, call, {Role: "tool", Name: "probe_tool_fn", ToolCallID: "call_1___", Content: "<Tool Needle 9c1e>"}}, nil, "<Tool Needle 9c1e>")
	return c
}

// polyfill rewrites a conversation for what the template cannot render:
// tool definitions become system text, tool calls and tool results become
// JSON text in assistant and user turns, and system text is folded into the
// next user turn. Each rewrite happens only when it is needed.
func polyfill(msgs []Message, tools []json.RawMessage, c caps) ([]Message, error) {
	if c.system && c.tools && c.toolCalls && c.toolResponses {
		return msgs, nil
	}
	if len(tools) > 0 && !c.tools {
		tl := &list{}
		for _, raw := range tools {
			v, err := fromJSON(raw)
			if err != nil {
				return nil, err
			}
			tl.items = append(tl.items, v)
		}
		msgs = addSystem(msgs, "You can call any of the following tools to satisfy the user's requests: "+indentJSON(tl))
	}
	var out []Message
	for _, m := range msgs {
		if len(m.ToolCalls) > 0 && !c.toolCalls {
			m = Message{Role: m.Role, Content: toolCallsText(m)}
		}
		if m.Role == "tool" && !c.toolResponses {
			resp := newDict()
			if m.Name != "" {
				resp.set("tool", m.Name)
			}
			resp.set("content", m.Content)
			if m.ToolCallID != "" {
				resp.set("tool_call_id", m.ToolCallID)
			}
			wrap := newDict()
			wrap.set("tool_response", resp)
			m = Message{Role: "user", Content: indentJSON(wrap)}
		}
		out = append(out, m)
	}
	if !c.system {
		out = foldSystemTurns(out)
	}
	return out, nil
}

// addSystem appends text to the leading system turn, or adds one.
func addSystem(msgs []Message, text string) []Message {
	out := append([]Message{}, msgs...)
	if len(out) > 0 && out[0].Role == "system" {
		out[0].Content += "\n\n" + text
		return out
	}
	return append([]Message{{Role: "system", Content: text}}, out...)
}

func toolCallsText(m Message) string {
	calls := &list{}
	for _, tc := range m.ToolCalls {
		c := newDict()
		c.set("name", tc.Name)
		var args any = tc.Arguments
		if v, err := fromJSON([]byte(tc.Arguments)); err == nil {
			args = v
		}
		c.set("arguments", args)
		if tc.ID != "" {
			c.set("id", tc.ID)
		}
		calls.items = append(calls.items, c)
	}
	obj := newDict()
	obj.set("tool_calls", calls)
	if m.Content != "" {
		obj.set("content", m.Content)
	}
	return indentJSON(obj)
}

func indentJSON(v any) string {
	var b bytes.Buffer
	if err := toJSON(&b, v, defaultJSONStyle("  "), 0); err != nil {
		return ""
	}
	return b.String()
}
