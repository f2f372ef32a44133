// Tests of the API: built-ins, system folding, errors with positions, limits against hostile templates, GGUF loading.

package chat

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
)

var multiTurn = []Message{
	{Role: "system", Content: "Be brief."},
	{Role: "user", Content: "Hello"},
	{Role: "assistant", Content: "Hi there"},
	{Role: "user", Content: "Who are you?"},
}

// TestBuiltins pins each built-in's rendering of a multi-turn conversation
// with a system prompt, with and without the generation prompt.
func TestBuiltins(t *testing.T) {
	cases := []struct{ name, want, gen string }{
		{"chatml",
			"<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n",
			"<|im_start|>assistant\n"},
		{"llama2",
			"<s>[INST] <<SYS>>\nBe brief.\n<</SYS>>\n\nHello [/INST] Hi there </s><s>[INST] Who are you? [/INST]",
			""},
		{"llama3",
			"<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are you?<|eot_id|>",
			"<|start_header_id|>assistant<|end_header_id|>\n\n"},
		{"mistral", // no system role: folded into the first user turn
			"<s>[INST] Be brief.\nHello [/INST]Hi there</s>[INST] Who are you? [/INST]",
			""},
		{"phi3",
			"<|system|>\nBe brief.<|end|>\n<|user|>\nHello<|end|>\n<|assistant|>\nHi there<|end|>\n<|user|>\nWho are you?<|end|>\n",
			"<|assistant|>\n"},
		{"gemma", // no system role either
			"<bos><start_of_turn>user\nBe brief.\nHello<end_of_turn>\n<start_of_turn>model\nHi there<end_of_turn>\n<start_of_turn>user\nWho are you?<end_of_turn>\n",
			"<start_of_turn>model\n"},
		{"zephyr",
			"<|system|>\nBe brief.</s>\n<|user|>\nHello</s>\n<|assistant|>\nHi there</s>\n<|user|>\nWho are you?</s>\n",
			"<|assistant|>\n"},
	}
	if len(cases) != len(BuiltinNames()) {
		t.Errorf("%d cases for %d built-ins %v", len(cases), len(BuiltinNames()), BuiltinNames())
	}
	for _, c := range cases {
		tmpl, err := Builtin(c.name)
		if err != nil {
			t.Fatal(err)
		}
		if tmpl.Name() != c.name || tmpl.Fallback() {
			t.Errorf("%s: Name %q Fallback %v", c.name, tmpl.Name(), tmpl.Fallback())
		}
		for _, gen := range []bool{false, true} {
			got, err := tmpl.Render(multiTurn, Options{AddGenerationPrompt: gen})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			want := c.want
			if gen {
				want += c.gen
			}
			if got != want {
				t.Errorf("%s gen=%v:\n got  %q\n want %q", c.name, gen, got, want)
			}
		}
		// A built-in's family is recognised from its own source.
		if d := Detect(tmpl.Source()); d != c.name {
			t.Errorf("Detect(builtin %s) = %q", c.name, d)
		}
	}
	if _, err := Builtin("nope"); err == nil || !strings.Contains(err.Error(), "chatml") {
		t.Errorf("Builtin(nope) error %v should list the names", err)
	}
}

func TestSystemFolding(t *testing.T) {
	got := foldSystemTurns([]Message{
		{Role: "system", Content: "A"}, {Role: "system", Content: "B"},
		{Role: "user", Content: "u"}, {Role: "system", Content: "C"}, {Role: "assistant", Content: "x"},
		{Role: "system", Content: "D"},
	})
	want := []Message{{Role: "user", Content: "A\nB\nu"}, {Role: "user", Content: "C"}, {Role: "assistant", Content: "x"}, {Role: "user", Content: "D"}}
	if len(got) != len(want) {
		t.Fatalf("got %+v", got)
	}
	for i := range want {
		if got[i].Role != want[i].Role || got[i].Content != want[i].Content {
			t.Errorf("turn %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	chatml, _ := Builtin("chatml")
	if !chatml.SupportsSystem() {
		t.Error("chatml should support the system role")
	}
}

func TestTrimBOSEOS(t *testing.T) {
	tmpl, err := New("{{ bos_token }}[{{ messages[0].content }}]{{ eos_token }}", "<s>", "</s>")
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{{Role: "user", Content: "x"}}
	full, _ := tmpl.Render(msgs, Options{})
	trimmed, _ := tmpl.Render(msgs, Options{TrimBOSEOS: true})
	if full != "<s>[x]</s>" || trimmed != "[x]" {
		t.Errorf("full %q trimmed %q", full, trimmed)
	}
}

func TestToolsAndExtra(t *testing.T) {
	tmpl, err := New(`{% for t in tools %}{{ t.function.name }}:{{ t | tojson }};{% endfor %}`+
		`{% for m in messages %}{% for c in m.tool_calls %}{{ c.id }}={{ c.function.arguments.city }}|{{ c.function.arguments | tojson }}{% endfor %}{% endfor %}`+
		`{{ enable_thinking }}{{ list_var | join(',') }}{{ obj.b }}`, "", "")
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]Message{{Role: "assistant", ToolCalls: []ToolCall{{ID: "c1", Name: "w", Arguments: `{"city": "Oslo", "n": 2}`}}}},
		Options{
			Tools: []json.RawMessage{json.RawMessage(`{"type": "function", "function": {"name": "w", "z": 1, "a": 2.5}}`)},
			Extra: map[string]any{"enable_thinking": false, "list_var": []any{"a", 1}, "obj": json.RawMessage(`{"b": "B"}`)},
		})
	if err != nil {
		t.Fatal(err)
	}
	// Key order of the JSON given is kept (z before a), numbers keep their kind.
	want := `w:{"type": "function", "function": {"name": "w", "z": 1, "a": 2.5}};c1=Oslo|{"city": "Oslo", "n": 2}Falsea,1B`
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	if _, err := tmpl.Render(nil, Options{Tools: []json.RawMessage{json.RawMessage(`{bad`)}}); err == nil || !strings.Contains(err.Error(), "Tools[0]") {
		t.Errorf("bad tool JSON: %v", err)
	}
	if _, err := tmpl.Render(nil, Options{Extra: map[string]any{"x": struct{}{}}}); err == nil || !strings.Contains(err.Error(), `Extra["x"]`) {
		t.Errorf("bad Extra: %v", err)
	}
}

func TestRaiseException(t *testing.T) {
	tmpl, err := New("{% for m in messages %}\n  {% if m.role == 'system' %}{{ raise_exception('no system, please') }}{% endif %}{% endfor %}", "", "")
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.SupportsSystem() {
		t.Error("a template that raises on system turns does not support them")
	}
	// Render folds the system turn away, so this renders fine…
	if _, err := tmpl.Render(multiTurn, Options{}); err != nil {
		t.Errorf("folded render: %v", err)
	}
	// …while the raw render shows the template's own error with its position.
	_, err = tmpl.render(multiTurn, Options{}, rawCaps)
	var te *Error
	if !errors.As(err, &te) || !te.Raised || te.Msg != "no system, please" || te.Line != 2 || te.Col != 33 {
		t.Errorf("got %#v (%v)", err, err)
	}
}

func TestSyntaxErrors(t *testing.T) {
	cases := []struct {
		src       string
		line, col int
		msg       string
	}{
		{"{{ 1 + }}", 1, 8, "unexpected end of expression"},
		{"ok\n{% if x %}never closed", 2, 4, "never closed"},
		{"{% for x in y %}{% endif %}", 1, 20, "unexpected {% endif %}"},
		{"a\nb\n  {% frobnicate %}", 3, 6, `unknown tag "frobnicate"`},
		{"{{ 'unterminated }}", 1, 4, "unterminated string"},
		{"{{ x", 1, 1, "unclosed"},
		{"{# no end", 1, 1, "unclosed comment"},
		{"{% endfor %}", 1, 4, "unexpected {% endfor %}"},
		{"{{ a[] }}", 1, 5, "empty subscript"},
		{"{{ f(a=1, 2) }}", 1, 11, "positional argument after keyword"},
		{"{{ 1 $ 2 }}", 1, 6, "unexpected character"},
		{"{% set %}", 1, 8, "expected a name"},
		{"{% raw %}abc", 1, 1, "unclosed raw"},
		{"{{ x is }}", 1, 9, "expected a test name"},
		{"héllo {{ ) }}", 1, 10, "unexpected"},
	}
	for _, c := range cases {
		_, err := New(c.src, "", "")
		var te *Error
		if !errors.As(err, &te) {
			t.Errorf("%q: got %v, want a *Error", c.src, err)
			continue
		}
		if te.Line != c.line || te.Col != c.col || !strings.Contains(te.Msg, c.msg) {
			t.Errorf("%q: got %d:%d %q, want %d:%d containing %q", c.src, te.Line, te.Col, te.Msg, c.line, c.col, c.msg)
		}
	}
}

func TestRuntimeErrors(t *testing.T) {
	cases := []struct{ src, msg string }{
		{"{{ 'a' + 1 }}", "unsupported operand"},
		{"{{ 1 // 0 }}", "division by zero"},
		{"{{ x() }}", "not a function"},
		{"{{ [1] | frob }}", "unknown filter"},
		{"{{ 1 is frob }}", "unknown test"},
		{"{% set x = 1 %}{% set x.y = 2 %}", "only on a namespace"},
		{"{% for a, b in [1] %}{% endfor %}", "cannot unpack"},
		{"{% for x in 5 %}{% endfor %}", "cannot iterate"},
		{"{{ 'abc'[::0] }}", "step cannot be zero"},
		{"{% break %}", "outside a loop"},
	}
	for _, c := range cases {
		tmpl, err := New(c.src, "", "")
		if err != nil {
			t.Errorf("%q: parse: %v", c.src, err)
			continue
		}
		_, err = tmpl.Render(nil, Options{})
		if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.HasPrefix(err.Error(), "chat: template") {
			t.Errorf("%q: got %v, want an error containing %q", c.src, err, c.msg)
		}
	}
}

// TestHostileTemplates: each would hang, overflow the stack or exhaust
// memory without the limits; each must fail quickly with an error.
func TestHostileTemplates(t *testing.T) {
	deep := strings.Repeat("(", 5000) + "1" + strings.Repeat(")", 5000)
	cases := []struct {
		name, src, msg string
		steps, items   int // lower limits, where the mechanism is the same, to keep the test fast
	}{
		{"recursive macro", "{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "nested deeper", 0, 0},
		{"string repetition", "{{ 'a' * 100000000000 }}", "larger than", 0, 0},
		{"list doubling", "{% set ns = namespace(l=[1]) %}{% for i in range(100) %}{% set ns.l = ns.l + ns.l %}{% endfor %}", "list larger than", 0, 1 << 14},
		{"join expansion", "{% set s = 'a' * 10000 %}{{ s | join(s) }}", "larger than", 0, 0},
		{"iterate big string", "{% set s = 'a' * 5000000 %}{{ s | join(s) }}", "too long to iterate", 0, 0},
		{"replace expansion", "{{ ('a' * 1000000) | replace('a', 'a' * 1000) }}", "larger than", 0, 0},
		{"method replace expansion", "{{ ('a' * 1000000).replace('a', 'a' * 1000) }}", "larger than", 0, 0},
		{"indent expansion", "{{ ('\\n' * 1000000) | indent(100, true, true) }}", "larger than", 0, 0},
		{"format width", "{{ '%999999999s' % 'x' }}", "width", 0, 0},
		{"repr of shared big string", "{% set ns = namespace(l=['a' * 5000000]) %}{% for i in range(12) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l }}", "output larger than", 0, 0},
		{"tojson of shared big string", "{% set ns = namespace(l=['a' * 5000000]) %}{% for i in range(12) %}{% set ns.l = ns.l + ns.l %}{% endfor %}{{ ns.l | tojson }}", "tojson: output larger than", 0, 0},
		{"quadratic list build", "{% set ns = namespace(l=[]) %}{% for i in range(200000) %}{% set ns.l = ns.l + [i] %}{% endfor %}", "evaluation steps", 200_000, 0},
		{"huge range", "{% for i in range(100000000000) %}{% endfor %}", "too large", 0, 0},
		{"doubling", "{% set ns = namespace(s='ab') %}{% for i in range(100) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}", "larger than", 0, 0},
		{"nested loops", "{% for a in range(10000) %}{% for b in range(10000) %}{% endfor %}{% endfor %}", "evaluation steps", 20_000, 0},
		{"deep parens", "{{ " + deep + " }}", "nested deeper", 0, 0},
		{"deep ifs", strings.Repeat("{% if 1 %}", 1000) + strings.Repeat("{% endif %}", 1000), "nested deeper", 0, 0},
		{"deep nots", "{{ " + strings.Repeat("not ", 5000) + "1 }}", "nested deeper", 0, 0},
		{"deep lists", "{{ " + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + " }}", "nested deeper", 0, 0},
	}
	for _, c := range cases {
		start := time.Now()
		tmpl, err := New(c.src, "", "")
		if err == nil {
			if c.steps > 0 {
				tmpl.lim.maxSteps = c.steps
			}
			if c.items > 0 {
				tmpl.lim.maxItems = c.items
			}
			_, err = tmpl.Render(nil, Options{})
		}
		if err == nil || !strings.Contains(err.Error(), c.msg) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.msg)
		}
		t.Logf("%s: %v", c.name, time.Since(start))
		if d := time.Since(start); d > 10*time.Second {
			t.Errorf("%s took %v", c.name, d)
		}
	}
}

// ggufBytes assembles a minimal GGUF v3 file with string, u32 and
// string-array metadata and no tensors.
func ggufBytes(kv map[string]any) []byte {
	var b bytes.Buffer
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { w(uint64(len(s))); b.WriteString(s) }
	b.WriteString("GGUF")
	w(uint32(3))
	w(uint64(0))
	w(uint64(len(kv)))
	for _, k := range sortedKeys(kv) {
		str(k)
		switch v := kv[k].(type) {
		case string:
			w(uint32(8))
			str(v)
		case uint32:
			w(uint32(4))
			w(v)
		case []string:
			w(uint32(9))
			w(uint32(8))
			w(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		}
	}
	return b.Bytes()
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

func TestFromGGUFSynthetic(t *testing.T) {
	vocab := []string{"<unk>", "<s>", "</s>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>", "hello"}
	parse := func(kv map[string]any) *gguf.File {
		f, err := gguf.Parse(ggufBytes(kv))
		if err != nil {
			t.Fatal(err)
		}
		return f
	}
	// With a template: tokens come from the vocabulary by id.
	f := parse(map[string]any{"tokenizer.ggml.tokens": vocab, "tokenizer.ggml.bos_token_id": uint32(1), "tokenizer.ggml.eos_token_id": uint32(5),
		"tokenizer.chat_template": "{{ bos_token }}{% for m in messages %}{{ m.content }}{% endfor %}{{ eos_token }}"})
	tmpl, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Fallback() || tmpl.BOS() != "<s>" || tmpl.EOS() != "<|eot_id|>" {
		t.Errorf("fallback %v bos %q eos %q", tmpl.Fallback(), tmpl.BOS(), tmpl.EOS())
	}
	if got, _ := tmpl.Render([]Message{{Role: "user", Content: "x"}}, Options{}); got != "<s>x<|eot_id|>" {
		t.Errorf("render %q", got)
	}
	// Without one: a built-in chosen from the special tokens, flagged.
	f = parse(map[string]any{"tokenizer.ggml.tokens": vocab, "tokenizer.ggml.bos_token_id": uint32(1), "tokenizer.ggml.eos_token_id": uint32(5)})
	if tmpl, err = FromGGUF(f); err != nil {
		t.Fatal(err)
	}
	if !tmpl.Fallback() || tmpl.Name() != "llama3" || tmpl.BOS() != "<s>" {
		t.Errorf("fallback %v name %q bos %q", tmpl.Fallback(), tmpl.Name(), tmpl.BOS())
	}
	// A vocabulary with no known markers falls back to ChatML.
	f = parse(map[string]any{"tokenizer.ggml.tokens": []string{"a", "b"}})
	if tmpl, err = FromGGUF(f); err != nil || tmpl.Name() != "chatml" || !tmpl.Fallback() {
		t.Errorf("plain vocab: %v %v", tmpl, err)
	}
	// A named variant, and a missing one.
	f = parse(map[string]any{"tokenizer.ggml.tokens": vocab, "tokenizer.ggml.bos_token_id": uint32(1),
		"tokenizer.chat_template": "default", "tokenizer.chat_template.tool_use": "{{ bos_token }}tools"})
	if tmpl, err = FromGGUFNamed(f, "tool_use"); err != nil {
		t.Fatal(err)
	}
	if got, _ := tmpl.Render(nil, Options{}); got != "<s>tools" {
		t.Errorf("named variant rendered %q", got)
	}
	if _, err := FromGGUFNamed(f, "rag"); err == nil || !strings.Contains(err.Error(), "tokenizer.chat_template.rag") {
		t.Errorf("missing variant: %v", err)
	}
	// Errors name the key.
	f = parse(map[string]any{"tokenizer.ggml.tokens": vocab, "tokenizer.ggml.eos_token_id": uint32(99)})
	if _, err := FromGGUF(f); err == nil || !strings.Contains(err.Error(), "eos_token_id") {
		t.Errorf("bad eos id: %v", err)
	}
	f = parse(map[string]any{"tokenizer.chat_template": "{% if %}"})
	if _, err := FromGGUF(f); err == nil || !strings.Contains(err.Error(), "tokenizer.chat_template") || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("bad template: %v", err)
	}
}

// TestFromGGUFTinyQwen2 renders the ChatML template of the reference model.
func TestFromGGUFTinyQwen2(t *testing.T) {
	f, err := gguf.Open(testkit.Shared(t, "reference", "models", "tiny-qwen2-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tmpl, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	if tmpl.Fallback() || tmpl.Name() != "chatml" {
		t.Errorf("fallback %v name %q", tmpl.Fallback(), tmpl.Name())
	}
	got, err := tmpl.Render(multiTurn, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you?<|im_end|>\n<|im_start|>assistant\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// TestReferenceChatPrompt: the chat prompt of the reference outputs (made
// with llama.cpp, ../shared/reference/outputs) is what the tiny-qwen2
// model's own template renders for that one user turn.
func TestReferenceChatPrompt(t *testing.T) {
	f, err := gguf.Open(testkit.Shared(t, "reference", "models", "tiny-qwen2-f32.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	data, err := os.ReadFile(testkit.Shared(t, "reference", "outputs", "tiny-qwen2-f32.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var want string
	for _, line := range strings.Split(string(data), "\n") {
		var rec struct {
			Prompt string `json:"prompt"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil && strings.Contains(rec.Prompt, "<|im_start|>") {
			want = rec.Prompt
		}
	}
	if want == "" {
		t.Fatal("no chat prompt in the reference outputs")
	}
	tmpl, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := tmpl.Render([]Message{{Role: "user", Content: "What is LoRA?"}}, Options{AddGenerationPrompt: true})
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
}

// TestMinimindTemplate renders the Qwen3-style template of MiniMind's
// tokenizer_config.json (reasoning split, tool calls, namespace scans);
// the expected strings come from Python Jinja2.
func TestMinimindTemplate(t *testing.T) {
	b, err := os.ReadFile(testkit.Shared(t, "data", "5-models-tokenizers", "minimind_tokenizer_config.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		ChatTemplate string `json:"chat_template"`
		BOS          string `json:"bos_token"`
		EOS          string `json:"eos_token"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		t.Fatal(err)
	}
	tmpl, err := New(cfg.ChatTemplate, cfg.BOS, cfg.EOS)
	if err != nil {
		t.Fatal(err)
	}
	msgs := []Message{
		{Role: "system", Content: "S"},
		{Role: "user", Content: "Q1"},
		{Role: "assistant", Content: "<think>\nhmm\n</think>\n\nA1"},
		{Role: "user", Content: "Q2"},
	}
	got, err := tmpl.Render(msgs, Options{AddGenerationPrompt: true})
	if err != nil {
		t.Fatal(err)
	}
	want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n<think>\nhmm\n</think>\n\nA1<|im_end|>\n<|im_start|>user\nQ2<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
	got, err = tmpl.Render(msgs[:2], Options{AddGenerationPrompt: true, Extra: map[string]any{"open_thinking": true}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "<|im_start|>system\nS<|im_end|>\n<|im_start|>user\nQ1<|im_end|>\n<|im_start|>assistant\n<think>\n"; got != want {
		t.Errorf("open_thinking: got %q\nwant %q", got, want)
	}
}

// FuzzTemplate: no source and no conversation may panic or run unbounded.
func FuzzTemplate(f *testing.F) {
	for _, c := range jinjaCases {
		f.Add(c.src, "hi")
	}
	for _, name := range BuiltinNames() {
		f.Add(builtins[name].source, "x")
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "templates", "*.jinja"))
	for _, name := range files {
		if src, err := os.ReadFile(name); err == nil {
			f.Add(string(src), "hello")
		}
	}
	f.Add("{% for m in messages %}{{ m.content[::-1] | tojson(indent=1) }}{% endfor %}", "{\"a\": [1]}")
	f.Add("{{ (1, 2) }}{% set a, b = 1, 2 %}{{ a ~ b }}", "")
	f.Fuzz(func(t *testing.T, src, content string) {
		tmpl, err := New(src, "<s>", "</s>")
		if err != nil {
			var te *Error
			if !errors.As(err, &te) {
				t.Fatalf("parse error of type %T: %v", err, err)
			}
			return
		}
		msgs := []Message{{Role: "system", Content: content}, {Role: "user", Content: content}}
		_, _ = tmpl.render(msgs, Options{AddGenerationPrompt: true, Now: goldenNow}, rawCaps)
	})
}

// TestRenderDelta: the delta of one more user turn is what llama.cpp's
// tests/test-chat-template.cpp expects from common_chat_format_single
// (without its leading "\n", which it re-adds for text the model did not
// generate), and a template that rewrites history is reported.
func TestRenderDelta(t *testing.T) {
	past := []Message{{Role: "system", Content: "You are a helpful assistant"}, {Role: "user", Content: "Hello"}, {Role: "assistant", Content: "I am assistant"}}
	next := []Message{{Role: "user", Content: "How are you"}}
	cases := map[string]string{
		"chatml": "<|im_start|>user\nHow are you<|im_end|>\n<|im_start|>assistant\n",
		"llama3": "<|start_header_id|>user<|end_header_id|>\n\nHow are you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n",
		"gemma":  "<start_of_turn>user\nHow are you<end_of_turn>\n<start_of_turn>model\n",
		"llama2": "<s>[INST] How are you [/INST]",
	}
	for name, want := range cases {
		tmpl, _ := Builtin(name)
		got, err := tmpl.RenderDelta(past, next, Options{AddGenerationPrompt: true})
		if err != nil || got != want {
			t.Errorf("%s: got %q, %v; want %q", name, got, err, want)
		}
	}
	// Like Qwen3, this template keeps the reasoning of the latest assistant
	// turn only, so adding a turn rewrites the past.
	qwen3ish, err := New(`{% for m in messages %}{% if m.role == 'assistant' and not loop.last %}[A:{{ m.content.split('</think>')[-1] }}]`+
		`{% elif m.role == 'assistant' %}[A:{{ m.content }}]{% else %}[U:{{ m.content }}]{% endif %}{% endfor %}`, "", "")
	if err != nil {
		t.Fatal(err)
	}
	past = []Message{{Role: "user", Content: "q"}, {Role: "assistant", Content: "<think>hmm</think>a"}}
	if _, err := qwen3ish.RenderDelta(past, next, Options{}); err == nil || !strings.Contains(err.Error(), "differently") {
		t.Errorf("history rewrite: %v", err)
	}
}

// TestConcurrentRender renders one Template from many goroutines; each
// result must equal the sequential one (Render shares no mutable state).
func TestConcurrentRender(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "templates", "Qwen-Qwen2.5-7B-Instruct.jinja"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := New(string(src), "", "<|im_end|>")
	if err != nil {
		t.Fatal(err)
	}
	c := conversations(t)["tools"]
	opt := Options{Tools: c.Tools, AddGenerationPrompt: true}
	want, err := tmpl.Render(c.msgs(), opt)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 8)
	for range 8 {
		go func() {
			for range 50 {
				got, err := tmpl.Render(c.msgs(), opt)
				if err == nil && got != want {
					err = errors.New("concurrent render differs")
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}
