// Reference: tools_live.go; the joined pieces are held to grammar.ParseToolCalls' reading of the
// finished answer.

package server

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestLiveCalls: fed the text of calls a byte or a few bytes at a time, in
// every format, the live reader sends each call's name once it is complete
// and its arguments in pieces that join into the finished answer's
// (compacted) arguments; text of another shape turns it off.
func TestLiveCalls(t *testing.T) {
	tools := json.RawMessage(`[{"type":"function","function":{"name":"f"}},{"type":"function","function":{"name":"g\"h"}}]`)
	for _, c := range []struct{ tmpl, text string }{
		{hermesTmpl, "<tool_call>\n{\"name\": \"f\", \"arguments\": {\"q\": \"a } \\\" ] {\", \"n\": [1, {\"x\": null}]}}\n</tool_call>\n<tool_call>\n{\"name\":\"g\\\"h\",\"arguments\":{}}\n</tool_call>"},
		{"[TOOL_CALLS]", "[TOOL_CALLS] [{\"name\": \"f\", \"arguments\": {\"日本\": \"語\"}}, {\"name\": \"g\\\"h\", \"arguments\": {\"a\": 1}}]"},
		{"{{ messages }}", "[{\"name\": \"f\", \"arguments\": {\"b\": true}}, {\"name\": \"f\", \"arguments\": { \"c\" : [ ] }}]"},
		{"<|python_tag|>", "<|python_tag|>{\"name\": \"f\", \"parameters\": {\"p\": \"\\\\\"}}"},
	} {
		p, err := planTools(tools, json.RawMessage(`"required"`), nil, c.tmpl)
		if err != nil {
			t.Fatal(err)
		}
		_, want := p.answer(c.text)
		if len(want) == 0 {
			t.Fatalf("%q does not parse", c.text)
		}
		for _, step := range []int{1, 3, 7, len(c.text)} {
			h := toolText{plan: p}
			var got []toolCallOut
			for i := 0; i < len(c.text); i += step {
				if s := h.push(c.text[i:min(i+step, len(c.text))]); s != "" {
					t.Errorf("forced call streamed content %q", s)
				}
				for _, d := range h.takeDeltas() {
					if d.Index == len(got) {
						if d.ID == "" || d.Type != "function" || d.Function.Name == "" || d.Function.Arguments != "" {
							t.Errorf("first piece of call %d: %+v", d.Index, d)
						}
						got = append(got, toolCallOut{Function: functionCall{Name: d.Function.Name}})
						continue
					}
					if d.Index != len(got)-1 || d.ID != "" || d.Function.Name != "" {
						t.Errorf("later piece %+v after %d calls", d, len(got))
						continue
					}
					got[d.Index].Function.Arguments += d.Function.Arguments
				}
			}
			if rest, ds, fr := h.finish(c.text, "stop"); rest != "" || ds != nil || fr != "tool_calls" {
				t.Errorf("%q step %d: finish sent %q %+v %q after the live pieces", c.text, step, rest, ds, fr)
			}
			if len(got) != len(want) {
				t.Fatalf("%q step %d: %d calls live, %d in the answer", c.text, step, len(got), len(want))
			}
			for i := range got {
				if got[i].Function != want[i].Function {
					t.Errorf("%q step %d: live %+v, answer %+v", c.text, step, got[i].Function, want[i].Function)
				}
			}
		}
	}
	// Keys in another order: nothing live, the calls whole at the end.
	p, _ := planTools(tools, json.RawMessage(`"required"`), nil, hermesTmpl)
	text := "<tool_call>{\"arguments\": {}, \"name\": \"f\"}</tool_call>"
	h := toolText{plan: p}
	h.push(text)
	if ds := h.takeDeltas(); ds != nil {
		t.Errorf("live pieces of an unexpected shape: %+v", ds)
	}
	if _, ds, fr := h.finish(text, "stop"); len(ds) != 2 || ds[0].Function.Name != "f" || fr != "tool_calls" {
		t.Errorf("fallback: %+v %q", ds, fr)
	}
	// A call cut off after its pieces went out: no content, finish length.
	h = toolText{plan: p}
	text = "<tool_call>{\"name\": \"f\", \"arguments\": {\"a\": \"xy"
	h.push(text)
	if ds := h.takeDeltas(); len(ds) != 2 || !strings.HasPrefix(ds[1].Function.Arguments, `{"a":"xy`) {
		t.Errorf("cut call live: %+v", ds)
	}
	if rest, ds, fr := h.finish(text, "length"); rest != "" || ds != nil || fr != "length" {
		t.Errorf("cut call: %q %+v %q", rest, ds, fr)
	}
}
