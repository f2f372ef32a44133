package agent

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// defaultLocalModel is the embedded default model in a context of 256
// tokens, with the chat template tmpl, or its own when tmpl is "". The
// test's cleanup closes it.
func defaultLocalModel(t *testing.T, tmpl string) *LocalModel {
	t.Helper()
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Ctx: 256})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var ct *chat.Template
	if tmpl == "" {
		ct, err = chat.FromGGUF(m.File())
	} else {
		ct, err = chat.New(tmpl, "", "")
	}
	if err != nil {
		t.Fatal(err)
	}
	return &LocalModel{Session: generate.NewSession(st, generate.FromTokenizer(tok)), Tok: tok, Template: ct}
}

// TestLocalModelGrammar runs the embedded default model (a tiny model
// with no tool format) through the ReAct grammar: whatever it writes, each
// answer is a Final Answer or a call of a real tool with arguments that
// fit its schema. Its quality is not under test.
func TestLocalModelGrammar(t *testing.T) {
	lm := defaultLocalModel(t, "") // its own template: no tool format
	lm.Options.MaxTokens = 96      // the model's context is 256 tokens
	lm.Options.Sampler.Temperature = 0
	var msgs []Message
	for _, force := range []bool{false, true} {
		lm.ForceCalls = force
		// Forced calls go to a tool without arguments: the tiny model
		// fills string arguments until the token budget ends, so only
		// such a call completes within 96 tokens.
		ts := basicTools(t)
		if force {
			ts = Tools{}
		}
		ts.Add(&FuncTool{ToolSpec: ToolSpec{Name: "coin", Description: "Toss a coin.", Parameters: json.RawMessage(`{"type":"object","properties":{}}`)},
			Fn: func(context.Context, json.RawMessage) (string, error) { return "heads", nil }})
		a := &Agent{Model: lm, Tools: ts, Limits: Limits{Steps: 3}, System: "Be brief."}
		res, err := a.Run(context.Background(), "Toss a coin.")
		if err != nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrContextFull) { // a 256-token context fills in a step or two
			t.Fatal(err)
		}
		msgs = append(msgs, res.Messages...)
	}
	calls := 0
	for _, msg := range msgs {
		if msg.Role == "tool" && (strings.Contains(msg.Content, "no tool") || strings.Contains(msg.Content, "not a JSON object") || strings.Contains(msg.Content, "bad arguments")) {
			t.Errorf("a call escaped the grammar: %s", msg.Content)
		}
		for _, c := range msg.Calls {
			if c.Name != "" {
				calls++
			}
		}
		if msg.Role == "tool" && strings.Contains(msg.Content, "could not be read") && !strings.Contains(msg.Content, "stopped (length)") /* cut by the token budget */ {
			t.Errorf("a call escaped the grammar: %s", msg.Content)
		}
		for _, c := range msg.Calls {
			if c.Name != "" && c.Name != "calculator" && c.Name != "time" && c.Name != "coin" {
				t.Errorf("call of %q", c.Name)
			}
		}
	}
	if calls == 0 {
		t.Fatal("no call was read: the ReAct call path did not run")
	}
}

// hermesTemplate is a small Jinja chat template in the Hermes/Qwen2.5
// manner (tools listed in the system turn, calls as <tool_call> JSON,
// results as tool_response), written for this test.
const hermesTemplate = `{% if tools %}<|im_start|>system
Tools: {% for t in tools %}{{ t.function.name }} {% endfor %}
Call one as <tool_call>{"name": ..., "arguments": {...}}</tool_call><|im_end|>
{% endif %}{% for m in messages %}<|im_start|>{{ m.role }}
{% if m.role == 'tool' %}<tool_response>{{ m.content }}</tool_response>{% else %}{{ m.content }}{% for c in m.tool_calls %}<tool_call>{"name": "{{ c.function.name }}", "arguments": {{ c.function.arguments | tojson }}}</tool_call>{% endfor %}{% endif %}<|im_end|>
{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant
{% endif %}`

// TestLocalModelNativeTools runs the default model under a template
// with a tool format: the native path, its calls under the Hermes tool
// grammar. Every answer is text or calls that parse (a call cut by the
// token budget is reported as such); the model's quality is not tested.
func TestLocalModelNativeTools(t *testing.T) {
	lm := defaultLocalModel(t, hermesTemplate)
	lm.Options.MaxTokens = 64
	if !lm.native() || grammar.DetectToolFormat(lm.Template.Source()) != grammar.ToolsHermes {
		t.Fatalf("the test template is not taken as a Hermes tool template (native %v)", lm.native())
	}
	var nCalls, nText int
	for seed := range 4 {
		lm.ForceCalls = seed%2 == 1 // the model never starts a call by itself
		lm.Options.Sampler.Seed = uint64(seed)
		lm.Options.Sampler.Temperature = 1
		a := &Agent{Model: lm, Tools: basicTools(t), Limits: Limits{Steps: 2}, System: "Be brief."}
		res, err := a.Run(context.Background(), "What is 12*7?")
		if err != nil && !errors.Is(err, ErrLimit) && !errors.Is(err, ErrContextFull) { // a 256-token context fills in a step or two
			t.Fatal(err)
		}
		for _, msg := range res.Messages {
			if msg.Role == "tool" && (strings.Contains(msg.Content, "could not be read") && !strings.Contains(msg.Content, "stopped (length)") ||
				strings.Contains(msg.Content, "no tool") || strings.Contains(msg.Content, "not a JSON object") || strings.Contains(msg.Content, "bad arguments")) {
				t.Errorf("seed %d: an answer escaped the grammar: %s", seed, msg.Content)
			}
			if msg.Role == "assistant" {
				nCalls += len(msg.Calls)
				if len(msg.Calls) == 0 {
					nText++
				}
			}
			if msg.Role == "assistant" && len(msg.Calls) == 0 && strings.Contains(msg.Content, "<tool_call>") {
				t.Errorf("seed %d: a call left in the text: %q", seed, msg.Content)
			}
		}
	}
	if nCalls == 0 || nText == 0 {
		t.Fatalf("%d calls and %d text answers: both paths should have run", nCalls, nText)
	}
}

// TestLocalModelBudget makes forced calls with a string argument under a
// max_tokens far below what the tiny model would write into the string:
// the grammar's token budget (set as the server sets it) closes the call
// in time, so each answer is a complete call with JSON arguments, never
// one cut by the token limit.
func TestLocalModelBudget(t *testing.T) {
	const maxTokens = 100
	lm := defaultLocalModel(t, hermesTemplate)
	lm.ForceCalls = true
	lm.Options.Sampler.Temperature = 1
	tools := []ToolSpec{Calculator().Spec()}
	for seed := range 3 {
		lm.Options.Sampler.Seed = uint64(seed)
		r, err := lm.Complete(context.Background(), Request{Messages: []Message{{Role: "user", Content: "What is 12*7?"}}, Tools: tools, MaxTokens: maxTokens})
		if err != nil {
			t.Fatal(err)
		}
		if r.Usage.Completion > maxTokens {
			t.Errorf("seed %d: %d tokens, max_tokens %d", seed, r.Usage.Completion, maxTokens)
		}
		if len(r.Calls) == 0 {
			t.Errorf("seed %d: no call in %q", seed, r.Content)
		}
		for _, c := range r.Calls {
			var args map[string]any
			if c.Name != "calculator" || json.Unmarshal(c.Arguments, &args) != nil {
				t.Errorf("seed %d: the call is not complete: %q %s (answer %q)", seed, c.Name, c.Arguments, r.Content)
			}
		}
	}
}
