package grammar_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// callID is a call id of nine letters and digits, as Mistral's templates
// demand.
func callID(n int) string { return fmt.Sprintf("call%05d", n) }

// conversation is one dataset conversation as chat messages, tools included.
type conversation struct {
	msgs  []chat.Message
	tools []json.RawMessage
}

// glaiveConversations reads glaive_toolcall (ShareGPT style: human, gpt,
// function_call, observation; tools as a JSON string).
func glaiveConversations(t *testing.T) []conversation {
	b, err := os.ReadFile(testkit.Shared(t, "data", "8-function-calling", "glaive_toolcall_en_demo.json"))
	if err != nil {
		t.Fatal(err)
	}
	var raw []struct {
		Conversations []struct{ From, Value string }
		Tools         string
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatal(err)
	}
	var out []conversation
	for _, r := range raw {
		var c conversation
		var tools []json.RawMessage
		if json.Unmarshal([]byte(r.Tools), &tools) == nil {
			for _, tl := range tools {
				c.tools = append(c.tools, json.RawMessage(`{"type":"function","function":`+string(tl)+`}`))
			}
		}
		for i, m := range r.Conversations {
			switch m.From {
			case "human":
				c.msgs = append(c.msgs, chat.Message{Role: "user", Content: m.Value})
			case "gpt":
				c.msgs = append(c.msgs, chat.Message{Role: "assistant", Content: m.Value})
			case "function_call":
				var call struct {
					Name      string
					Arguments json.RawMessage
				}
				if json.Unmarshal([]byte(m.Value), &call) != nil {
					continue
				}
				c.msgs = append(c.msgs, chat.Message{Role: "assistant", ToolCalls: []chat.ToolCall{{ID: callID(i), Name: call.Name, Arguments: string(call.Arguments)}}})
			case "observation":
				c.msgs = append(c.msgs, chat.Message{Role: "tool", Content: m.Value, ToolCallID: callID(i - 1)})
			}
		}
		out = append(out, c)
	}
	return out
}

// reasonConversations reads reason_tool_use (messages of typed parts:
// text, reasoning, tool_call, tool_response).
func reasonConversations(t *testing.T) []conversation {
	f, err := os.Open(testkit.Shared(t, "data", "8-function-calling", "reason_tool_use_demo_50.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []conversation
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r struct {
			Messages []struct {
				Role    string
				Content []struct {
					Type  string
					Value json.RawMessage
				}
			}
			Tools json.RawMessage
		}
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		var c conversation
		var tools []json.RawMessage
		var toolsStr string
		if json.Unmarshal(r.Tools, &toolsStr) == nil {
			json.Unmarshal([]byte(toolsStr), &tools)
		} else {
			json.Unmarshal(r.Tools, &tools)
		}
		for _, tl := range tools {
			if strings.Contains(string(tl), `"function"`) {
				c.tools = append(c.tools, tl)
			} else {
				c.tools = append(c.tools, json.RawMessage(`{"type":"function","function":`+string(tl)+`}`))
			}
		}
		n := 0
		for _, m := range r.Messages {
			msg := chat.Message{Role: m.Role}
			for _, part := range m.Content {
				var s string
				if json.Unmarshal(part.Value, &s) != nil {
					s = string(part.Value)
				}
				switch part.Type {
				case "text":
					msg.Content += s
				case "tool_call":
					var call struct {
						Name      string
						Arguments json.RawMessage
					}
					if json.Unmarshal([]byte(s), &call) == nil {
						n++
						msg.ToolCalls = append(msg.ToolCalls, chat.ToolCall{ID: callID(n), Name: call.Name, Arguments: string(call.Arguments)})
					}
				case "tool_response":
					msg.Content += s
				}
			}
			c.msgs = append(c.msgs, msg)
		}
		out = append(out, c)
	}
	return out
}

// TestTemplateCallsParseBack: every assistant turn with tool calls in
// glaive_toolcall and reason_tool_use, rendered through Hermes/Qwen2.5,
// Llama 3.x and Mistral templates, parses back (ParseToolCalls with the
// format DetectToolFormat picks from the template) to the same calls.
func TestTemplateCallsParseBack(t *testing.T) {
	convs := append(glaiveConversations(t), reasonConversations(t)...)
	templates := []struct {
		file, bos, eos string
		format         grammar.ToolFormat
		single         bool // the format carries one call per turn
	}{
		{"Qwen-Qwen2.5-7B-Instruct.jinja", "", "<|im_end|>", grammar.ToolsHermes, false},
		{"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja", "<|begin_of_text|>", "<|im_end|>", grammar.ToolsHermes, false},
		{"meta-llama-Llama-3.2-3B-Instruct.jinja", "<|begin_of_text|>", "<|eot_id|>", grammar.ToolsLlama3, true},
		{"mistralai-Mistral-Nemo-Instruct-2407.jinja", "<s>", "</s>", grammar.ToolsMistral, false},
	}
	ends := []string{"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "</s>"}
	for _, tc := range templates {
		src, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(), "tokenizer", "chat", "testdata", "templates", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := chat.New(string(src), tc.bos, tc.eos)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if got := grammar.DetectToolFormat(string(src)); got != tc.format {
			t.Errorf("%s: detected %s, want %s", tc.file, got, tc.format)
		}
		checked, skipped := 0, 0
		for ci, c := range convs {
			for k, m := range c.msgs {
				if len(m.ToolCalls) == 0 || tc.single && len(m.ToolCalls) > 1 {
					continue
				}
				opt := chat.Options{Tools: c.tools}
				prefixOpt := opt
				prefixOpt.AddGenerationPrompt = true
				prefix, err1 := tmpl.Render(c.msgs[:k], prefixOpt)
				full, err2 := tmpl.Render(c.msgs[:k+1], opt)
				if err1 != nil || err2 != nil {
					skipped++ // the template refuses this conversation (e.g. nesting limits)
					continue
				}
				if !strings.HasPrefix(full, prefix) {
					continue // the template rewrites earlier turns once a later one exists
				}
				turn := full[len(prefix):]
				for _, e := range ends {
					if i := strings.Index(turn, e); i >= 0 {
						turn = turn[:i]
					}
				}
				content, calls, err := grammar.ParseToolCalls(turn, tc.format)
				if err != nil {
					t.Errorf("%s conversation %d turn %d: %q: %v", tc.file, ci, k, turn, err)
					continue
				}
				if len(calls) != len(m.ToolCalls) {
					t.Errorf("%s conversation %d turn %d: %q parsed to %d calls (content %q), want %d", tc.file, ci, k, turn, len(calls), content, len(m.ToolCalls))
					continue
				}
				for i, call := range calls {
					var got, want any
					json.Unmarshal(call.Arguments, &got)
					json.Unmarshal([]byte(m.ToolCalls[i].Arguments), &want)
					if call.Name != m.ToolCalls[i].Name || !reflect.DeepEqual(got, want) {
						t.Errorf("%s conversation %d turn %d: call %d is %s %s, want %s %s", tc.file, ci, k, i, call.Name, call.Arguments, m.ToolCalls[i].Name, m.ToolCalls[i].Arguments)
					}
				}
				checked++
			}
		}
		t.Logf("%s: %d tool-call turns parsed back, %d conversations the template would not render", tc.file, checked, skipped)
		if checked == 0 {
			t.Errorf("%s: no turn checked", tc.file)
		}
	}
}
