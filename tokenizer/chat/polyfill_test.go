// Tests of the capability probes and the polyfills that follow from them.

package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCapabilities pins what the probes find in real templates; each row
// is checked by reading the template (see the comments).
func TestCapabilities(t *testing.T) {
	want := map[string]caps{
		// Renders tools, calls (with tojson on mappings) and results.
		"Qwen-Qwen2.5-7B-Instruct.jinja":         {system: true, tools: true, toolCalls: true, toolResponses: true},
		"meta-llama-Llama-3.1-8B-Instruct.jinja": {system: true, tools: true, toolCalls: true, toolResponses: true},
		// Prints text as it is and mappings with tojson: the same output.
		"NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja": {system: true, tools: true, toolCalls: true, toolResponses: true},
		// Writes a mapping as key:value pairs of its own syntax; given text it
		// would paste JSON into that syntax.
		"gemma4.jinja": {system: true, tools: true, toolCalls: true, toolResponses: true},
		// Raises on system turns and on anything but user/assistant.
		"google-gemma-2-2b-it.jinja": {},
		// Has no tool syntax; its tool-call branch needs string arguments
		// and is taken only for assistant turns with null content.
		"deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja": {system: true, toolResponses: true, toolCalls: true, stringArgs: true},
		// Renders each key of a mapping argument as a <parameter>; JSON text
		// would lose them.
		"unsloth-MiniMax-M2.jinja": {system: true, tools: true, toolCalls: true, toolResponses: true},
		// Only user/assistant/system; tool turns and tools are dropped.
		"microsoft-Phi-3.5-mini-instruct.jinja": {system: true},
	}
	for name, w := range want {
		src, err := os.ReadFile(filepath.Join("testdata", "templates", name))
		if err != nil {
			t.Fatal(err)
		}
		tmpl, err := New(string(src), "<s>", "</s>")
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.caps != w {
			t.Errorf("%s: caps %+v, want %+v", name, tmpl.caps, w)
		}
		if tmpl.SupportsSystem() != w.system || tmpl.SupportsTools() != w.tools || tmpl.SupportsToolCalls() != (w.toolCalls && w.toolResponses) {
			t.Errorf("%s: Supports* disagree with caps", name)
		}
	}
}

// TestPolyfillTools renders tools, a tool call and its result through a
// template that knows none of them: everything reaches the prompt as text.
func TestPolyfillTools(t *testing.T) {
	tmpl, err := Builtin("phi3")
	if err != nil {
		t.Fatal(err)
	}
	c := conversations(t)["tools"]
	got, err := tmpl.Render(append([]Message{{Role: "system", Content: "Sys."}}, c.msgs()...), Options{Tools: c.Tools, AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|system|>\nSys.\n\nYou can call any of the following tools to satisfy the user's requests: [\n" +
		"  {\n    \"type\": \"function\",\n    \"function\": {\n      \"name\": \"get_weather\",\n      \"description\": \"Get the weather\",\n" +
		"      \"parameters\": {\n        \"type\": \"object\",\n        \"properties\": {\n          \"city\": {\n            \"type\": \"string\",\n" +
		"            \"description\": \"City name\"\n          },\n          \"days\": {\n            \"type\": \"integer\"\n          }\n        },\n" +
		"        \"required\": [\n          \"city\"\n        ]\n      }\n    }\n  }\n]<|end|>\n" +
		"<|user|>\nWeather in Paris?<|end|>\n" +
		"<|assistant|>\n{\n  \"tool_calls\": [\n    {\n      \"name\": \"get_weather\",\n      \"arguments\": {\n        \"city\": \"Paris\",\n        \"days\": 2\n      },\n      \"id\": \"call_1___\"\n    }\n  ]\n}<|end|>\n" +
		"<|user|>\n{\n  \"tool_response\": {\n    \"tool\": \"get_weather\",\n    \"content\": \"sunny\",\n    \"tool_call_id\": \"call_1___\"\n  }\n}<|end|>\n" +
		"<|assistant|>\nIt is sunny.<|end|>\n<|assistant|>\n"
	if got != want {
		t.Errorf("%s", firstDiff(got, want))
	}
	// A template that renders tools itself gets them untouched.
	src, _ := os.ReadFile(filepath.Join("testdata", "templates", "Qwen-Qwen2.5-7B-Instruct.jinja"))
	qwen, err := New(string(src), "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err = qwen.Render(c.msgs(), Options{Tools: c.Tools})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(got, "You can call any") || !strings.Contains(got, `<tool_call>
{"name": "get_weather", "arguments": {"city": "Paris", "days": 2}}
</tool_call>`) {
		t.Errorf("qwen: %q", got)
	}
}

// TestStringArguments: DeepSeek R1's template concatenates the arguments,
// so they must reach it as JSON text, once, unescaped.
func TestStringArguments(t *testing.T) {
	src, _ := os.ReadFile(filepath.Join("testdata", "templates", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja"))
	tmpl, err := New(string(src), "<s>", "</s>")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render(conversations(t)["tools"].msgs(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(got, `{"city": "Paris", "days": 2}`); n != 1 {
		t.Errorf("arguments appear %d times in %q", n, got)
	}
	// Arguments that start like a JSON object but do not parse are an error.
	msgs := []Message{{Role: "user", Content: "x"}, {Role: "assistant", ToolCalls: []ToolCall{{Name: "f", Arguments: `{"unclosed": `}}}}
	if _, err := tmpl.Render(msgs, Options{}); err == nil || !strings.Contains(err.Error(), "tool_calls[0]") {
		t.Errorf("broken arguments: %v", err)
	}
	if _, err := tmpl.Render(msgs, Options{Tools: []json.RawMessage{json.RawMessage(`[`)}}); err == nil {
		t.Error("broken tool JSON accepted")
	}
}
