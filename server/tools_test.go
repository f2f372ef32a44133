// Reference: OpenAI's function-calling reference (tool_choice forms, streamed tool-call deltas).

package server

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

const hermesTmpl = `{%- if tools %}<tools>{{ tools | tojson }}</tools>{% endif %}{%- for m in messages %}<tool_call>{% endfor %}`

func TestPlanTools(t *testing.T) {
	tools := json.RawMessage(`[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},{"type":"function","function":{"name":"ping"}}]`)
	cases := []struct {
		tools, choice, parallel string
		param, want             string
		choiceOut               string
	}{
		{string(tools), ``, ``, "", "", "auto"},
		{string(tools), `"none"`, ``, "", "", "none"},
		{string(tools), `"required"`, `false`, "", "", "required"},
		{string(tools), `{"type":"function","function":{"name":"ping"}}`, ``, "", "", "function"},
		{string(tools), `{"type":"function","function":{"name":"nope"}}`, ``, "tool_choice.function.name", "not among the tools", ""},
		{string(tools), `"sometimes"`, ``, "tool_choice", `"sometimes" is not none`, ""},
		{string(tools), `{"type":"function"}`, ``, "tool_choice", "tool_choice must be", ""},
		{string(tools), ``, `"yes"`, "parallel_tool_calls", "must be a boolean", ""},
		{``, `"auto"`, ``, "tool_choice", "tool_choice needs tools", ""},
		{`{"type":"function"}`, ``, ``, "tools", "must be an array", ""},
		{`[{"type":"retrieval"}]`, ``, ``, "tools[0].type", "only function tools", ""},
		{`[{"type":"function","function":{}}]`, ``, ``, "tools[0].function.name", "is required", ""},
		{`[{"type":"function","function":{"name":"a"}},{"type":"function","function":{"name":"a"}}]`, ``, ``, "tools[1].function.name", "listed twice", ""},
		{`[{"type":"function","function":{"name":"a","parameters":{"type":"object","properties":{"x":{"not":{}}}}}}]`, ``, ``, "tools", "not at /properties/x: keyword not supported", ""},
		{`[{"type":"function","function":{"name":"a","colour":"red"}}]`, ``, ``, "tools[0]", "unknown field", ""},
	}
	for _, c := range cases {
		p, err := planTools(json.RawMessage(c.tools), json.RawMessage(c.choice), json.RawMessage(c.parallel), hermesTmpl)
		if c.want == "" {
			if err != nil || p == nil || p.choice != c.choiceOut {
				t.Errorf("%s %s: plan %+v, err %v; want choice %s", c.tools, c.choice, p, err, c.choiceOut)
			}
			continue
		}
		e, ok := err.(*Error)
		if !ok || e.Param != c.param || !strings.Contains(e.Msg, c.want) || errTable[e.Kind].status != http.StatusBadRequest {
			t.Errorf("%s %s %s: %v; want 400 %s %q", c.tools, c.choice, c.parallel, err, c.param, c.want)
		}
	}
	if p, err := planTools(nil, nil, nil, hermesTmpl); p != nil || err != nil {
		t.Errorf("no tools: %+v %v", p, err)
	}
}

func TestToolAnswerAndDeltas(t *testing.T) {
	p, err := planTools(json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), nil, nil, hermesTmpl)
	if err != nil {
		t.Fatal(err)
	}
	content, calls := p.answer("Let me check.\n<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": \"日本語のテキスト\"}}\n</tool_call>")
	if content != "Let me check." || len(calls) != 1 || calls[0].Function.Name != "f" || calls[0].Function.Arguments != `{"q":"日本語のテキスト"}` || !strings.HasPrefix(calls[0].ID, "call_") {
		t.Fatalf("answer: %q %+v", content, calls)
	}
	ds := deltas(calls, 0, 8)
	if ds[0].ID != calls[0].ID || ds[0].Function.Name != "f" || ds[0].Type != "function" || ds[0].Function.Arguments != "" {
		t.Errorf("first delta %+v", ds[0])
	}
	var args strings.Builder
	for _, d := range ds[1:] {
		if d.ID != "" || d.Function.Name != "" || d.Index != 0 || len(d.Function.Arguments) > 8 || !json.Valid([]byte(`"`+d.Function.Arguments+`"`)) && !strings.ContainsAny(d.Function.Arguments, `{}":`) {
			t.Errorf("later delta %+v", d)
		}
		args.WriteString(d.Function.Arguments)
	}
	if args.String() != calls[0].Function.Arguments {
		t.Errorf("argument pieces join to %q", args.String())
	}
	// A cut-short answer is text.
	if content, calls := p.answer("<tool_call>{\"name\": \"f\", \"argu"); calls != nil || content == "" {
		t.Errorf("cut answer: %q %+v", content, calls)
	}
}

func TestToolTextHoldsCalls(t *testing.T) {
	p, _ := planTools(json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), nil, nil, hermesTmpl)
	h := toolText{plan: p}
	var out strings.Builder
	for _, piece := range []string{"Sure", ", I will <", "tool", "_ca", "ll>\n{\"name\"", ": \"f\"}"} {
		out.WriteString(h.push(piece))
	}
	if out.String() != "Sure, I will " {
		t.Errorf("streamed %q", out.String())
	}
	h = toolText{plan: p}
	if got := h.push("a <b> <tool"); got != "a <b> " {
		t.Errorf("partial marker: %q", got)
	}
	if got := h.push("box"); got != "<toolbox" {
		t.Errorf("not a marker after all: %q", got)
	}
	pj, _ := planTools(json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), nil, nil, "{{ messages }}")
	h = toolText{plan: pj}
	if got := h.push("  "); got != "" {
		t.Errorf("leading space decided too early: %q", got)
	}
	if got := h.push("{\"name\""); got != "" {
		t.Errorf("a JSON call streamed as text: %q", got)
	}
	h = toolText{plan: pj}
	if got := h.push(" Hello"); got != " Hello" {
		t.Errorf("text: %q", got)
	}
	pr, _ := planTools(json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), json.RawMessage(`"required"`), nil, hermesTmpl)
	h = toolText{plan: pr}
	if got := h.push("anything"); got != "" {
		t.Errorf("forced call streamed as text: %q", got)
	}
}

func TestToolTextFinish(t *testing.T) {
	p, _ := planTools(json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), nil, nil, hermesTmpl)
	text := "Hi <tool_call>{\"name\": \"f\", \"arguments\": {}}</tool_call>"
	h := toolText{plan: p}
	sent := h.push(text[:5]) + h.push(text[5:])
	live := h.takeDeltas()
	rest, ds, fr := h.finish(text, "stop")
	if sent != "Hi " || rest != "" || len(live) != 2 || live[0].Function.Name != "f" || live[1].Function.Arguments != "{}" || ds != nil || fr != "tool_calls" {
		t.Errorf("call: sent %q rest %q live %+v deltas %+v finish %q", sent, rest, live, ds, fr)
	}
	h = toolText{plan: p}
	text = "Hi <tool_call>{\"name\": \"f\", \"argu" // cut by max_tokens
	sent = h.push(text)
	rest, ds, fr = h.finish(text, "length")
	if sent+rest != text || ds != nil || fr != "length" {
		t.Errorf("cut call: sent %q rest %q deltas %+v finish %q", sent, rest, ds, fr)
	}
	h = toolText{}
	if got := h.push("plain"); got != "plain" {
		t.Errorf("no tools: %q", got)
	}
	if rest, ds, fr := h.finish("plain", "stop"); rest != "" || ds != nil || fr != "stop" {
		t.Errorf("no tools finish: %q %+v %q", rest, ds, fr)
	}
}

func TestOllamaFinal(t *testing.T) {
	p, _ := planTools(json.RawMessage(`[{"type":"function","function":{"name":"f"}}]`), nil, nil, hermesTmpl)
	text := "Sure. <tool_call>{\"name\": \"f\", \"arguments\": {\"x\": [1]}}</tool_call>"
	h := toolText{plan: p}
	content, calls := h.ollamaFinal(text, false)
	if content != "Sure." || len(calls) != 1 || calls[0].Function.Name != "f" || string(calls[0].Function.Arguments) != `{"x":[1]}` {
		t.Errorf("plain: %q %+v", content, calls)
	}
	h = toolText{plan: p}
	sent := h.push(text[:20])
	early := h.takeCalls()
	sent += h.push(text[20:])
	live := h.takeCalls()
	content, calls = h.ollamaFinal(text, true)
	if sent != "Sure. " || early != nil || len(live) != 1 || string(live[0].Function.Arguments) != `{"x":[1]}` || content != "" || calls != nil {
		t.Errorf("streamed: sent %q, early %+v, live %+v, final %q %+v", sent, early, live, content, calls)
	}
	h = toolText{}
	sent = h.push("just text")
	if content, calls = h.ollamaFinal("just text", true); sent != "just text" || content != "" || calls != nil {
		t.Errorf("no tools: %q %q %+v", sent, content, calls)
	}
}
