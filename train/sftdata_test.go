// Reference: LLaMA-Factory data/README.md (Alpaca and ShareGPT formats); OpenAI chat messages; the real
// samples in ../shared/data/3-sft and 8-function-calling.

package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

func writeFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func roles(ms []chat.Message) string {
	var r []string
	for _, m := range ms {
		r = append(r, m.Role)
	}
	return strings.Join(r, ",")
}

func TestReadConversationsFormats(t *testing.T) {
	alpaca := writeFile(t, "a.json", `[
 {"instruction": "Add.", "input": "2 and 3", "output": "5", "system": "Be brief.", "history": [["hi", "hello"]]},
 {"instruction": "Name a colour.", "input": "", "output": "Blue."}
]`)
	cs, err := ReadConversations(alpaca)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || roles(cs[0].Messages) != "system,user,assistant,user,assistant" || roles(cs[1].Messages) != "user,assistant" {
		t.Fatalf("alpaca: %d conversations, roles %q", len(cs), roles(cs[0].Messages))
	}
	if cs[0].Messages[3].Content != "Add.\n2 and 3" || cs[0].Messages[4].Content != "5" || cs[1].Messages[0].Content != "Name a colour." {
		t.Fatalf("alpaca: turns %+v", cs[0].Messages)
	}

	share := writeFile(t, "s.jsonl", `{"conversations": [{"from": "human", "value": "Weather?"}, {"from": "function_call", "value": "{\"name\": \"weather\", \"arguments\": {\"city\": \"Oslo\"}}"}, {"from": "observation", "value": "{\"t\": 3}"}, {"from": "gpt", "value": "3 degrees."}], "system": "S", "tools": "[{\"name\": \"weather\", \"parameters\": {}}]"}

{"conversations": [{"from": "human", "value": "a"}, {"from": "gpt", "value": "b"}]}
`)
	cs, err = ReadConversations(share)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 || roles(cs[0].Messages) != "system,user,assistant,tool,assistant" {
		t.Fatalf("sharegpt: %d conversations, roles %q", len(cs), roles(cs[0].Messages))
	}
	if tc := cs[0].Messages[2].ToolCalls; len(tc) != 1 || tc[0].Name != "weather" || tc[0].Arguments != `{"city": "Oslo"}` {
		t.Fatalf("sharegpt function_call: %+v", cs[0].Messages[2])
	}
	if len(cs[0].Tools) != 1 || !strings.HasPrefix(string(cs[0].Tools[0]), `{"type":"function","function":{"name"`) {
		t.Fatalf("sharegpt tools: %s", cs[0].Tools)
	}
	if cs[1].Where != share+":3" {
		t.Fatalf("JSONL record after a blank line is %q, want line 3", cs[1].Where)
	}

	oa := writeFile(t, "o.jsonl", `{"messages": [{"role": "system", "content": "S"}, {"role": "user", "content": [{"type": "text", "text": "x"}, {"type": "text", "value": "y"}]}, {"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{\"a\":1}"}}]}, {"role": "tool", "tool_call_id": "c1", "content": "1"}, {"role": "assistant", "content": "done"}]}`)
	cs, err = ReadConversations(oa)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 1 || roles(cs[0].Messages) != "system,user,assistant,tool,assistant" || cs[0].Messages[1].Content != "xy" ||
		cs[0].Messages[2].ToolCalls[0].Arguments != `{"a":1}` || cs[0].Messages[3].ToolCallID != "c1" {
		t.Fatalf("openai: %+v", cs)
	}
}

func TestReadConversationsErrors(t *testing.T) {
	for _, c := range []struct{ body, want string }{
		{`[{"text": "no format"}]`, `record 1: no "instruction", "conversations" or "messages" key`},
		{`[{"instruction": "q", "output": ["a", "b"]}]`, `alpaca "output" must be a string`},
		{`[{"instruction": "q", "output": "a", "history": [["only one"]]}]`, `"history" item 1 has 1 strings`},
		{`{"conversations": [{"from": "bot", "value": "x"}]}`, `:1: sharegpt turn 1: unknown speaker "bot"`},
		{`{"conversations": [{"from": "human", "value": "x"}]}`, `no assistant turn`},
		{"{\"messages\": [{\"role\": \"user\", \"content\": \"x\"}, {\"role\": \"assistant\", \"content\": \"y\"}]}\n{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"image_url\"}]}]}", `:2: message 1: content part 1 is of type "image_url"`},
		{`{"messages": [{"role": "user", "content": "x"}, {"role": "system", "content": "s"}, {"role": "assistant", "content": "y"}]}`, `turn 2: a system turn after the first`},
		{`[{"instruction": "q"`, `not a JSON array of records`},
		{`{"conversations": [{"from": "function_call", "value": "not json"}, {"from": "gpt", "value": "y"}]}`, `function_call: want {"name", "arguments"} JSON`},
	} {
		_, err := ReadConversations(writeFile(t, "d.json", c.body))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.body, err, c.want)
		}
	}
	if _, err := ReadConversations(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("a missing file: %v", err)
	}
}

// TestReadConversationsShared reads the real samples beside the
// repository: every record, in the counts their README gives.
func TestReadConversationsShared(t *testing.T) {
	dir := testkit.SharedDir(t)
	for _, c := range []struct {
		path      string
		n         int
		multiTurn int // records with more than one assistant turn, at least
	}{
		{"data/3-sft/alpaca_en_demo.json", 999, 0},
		{"data/3-sft/alpaca_zh_demo.json", 1000, 0},
		{"data/3-sft/identity.json", 91, 0},
		{"data/3-sft/lima.json", 1029, 29},
		{"data/3-sft/oaast_sft_zh.json", 689, 1},
		{"data/8-function-calling/glaive_toolcall_en_demo.json", 300, 1},
		{"data/4-preference/kto_en_demo.json", 300, 0},
	} {
		p := filepath.Join(dir, c.path)
		if _, err := os.Stat(p); err != nil {
			t.Logf("skipping %s: absent", c.path)
			continue
		}
		cs, err := ReadConversations(p)
		if err != nil {
			t.Fatal(err)
		}
		multi := 0
		for _, cv := range cs {
			if strings.Count(roles(cv.Messages), "assistant") > 1 {
				multi++
			}
		}
		if len(cs) != c.n || multi < c.multiTurn {
			t.Errorf("%s: %d conversations (%d multi-turn), want %d (≥ %d)", c.path, len(cs), multi, c.n, c.multiTurn)
		}
	}
}
