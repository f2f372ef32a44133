// Reference: OpenAI API reference, chat completions (tools, tool_choice none | auto | required |
// {type: function, function: {name}}, parallel_tool_calls; the assistant message's tool_calls with id,
// type function, function.name and function.arguments as JSON text; finish_reason tool_calls; streamed
// tool-call deltas with index, the id and name first, arguments in pieces).

package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
)

// wireTool is one entry of a request's tools.
type wireTool struct {
	Type     string `json:"type"`
	Function struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
		Strict      *bool           `json:"strict"`
	} `json:"function"`
}

// toolPlan is what a request's tools ask of one generation: the tools the
// template shows the model, the grammar that constrains its answer, and
// how the answer is read back.
type toolPlan struct {
	tools   []json.RawMessage // as sent, for the chat template's `tools`
	format  grammar.ToolFormat
	choice  string // none, auto, required, or function (a named one)
	grammar *grammar.Grammar
}

// active reports whether answers are parsed for calls.
func (p *toolPlan) active() bool { return p != nil && p.choice != "none" }

// planTools reads tools, tool_choice and parallel_tool_calls for a model
// whose chat template is tmpl (its source picks the call format). nil when
// the request has no tools. With tool_choice none the answer is text that
// never contains the format's call marker; auto lets the model answer or
// call, a call constrained to be valid; required and a named function force
// a call. Errors are 400s naming the field.
func planTools(tools, choice, parallel json.RawMessage, tmpl string) (*toolPlan, error) {
	if !isSet(tools) {
		if isSet(choice) {
			return nil, Errorf(KindBadRequest, "tool_choice", "tool_choice needs tools")
		}
		return nil, nil
	}
	var list []json.RawMessage
	if err := json.Unmarshal(tools, &list); err != nil {
		return nil, Errorf(KindBadRequest, "tools", "tools must be an array of tool objects: %v", err)
	}
	p := &toolPlan{tools: list, format: grammar.DetectToolFormat(tmpl), choice: "auto"}
	var gt []grammar.Tool
	for i, raw := range list {
		var w wireTool
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&w); err != nil {
			return nil, Errorf(KindBadRequest, fmt.Sprintf("tools[%d]", i), "tools[%d]: %v", i, err)
		}
		if w.Type != "function" {
			return nil, Errorf(KindNotSupported, fmt.Sprintf("tools[%d].type", i), "tools[%d].type %q: only function tools are supported", i, w.Type)
		}
		if w.Function.Name == "" {
			return nil, Errorf(KindBadRequest, fmt.Sprintf("tools[%d].function.name", i), "tools[%d].function.name is required", i)
		}
		for _, t := range gt {
			if t.Name == w.Function.Name {
				return nil, Errorf(KindBadRequest, fmt.Sprintf("tools[%d].function.name", i), "tools[%d]: function %q is listed twice", i, t.Name)
			}
		}
		gt = append(gt, grammar.Tool{Name: w.Function.Name, Parameters: w.Function.Parameters})
	}
	if isSet(choice) {
		var s string
		if json.Unmarshal(choice, &s) == nil {
			switch s {
			case "none", "auto", "required":
				p.choice = s
			default:
				return nil, Errorf(KindBadRequest, "tool_choice", "tool_choice %q is not none, auto, required or a function", s)
			}
		} else {
			var named struct {
				Type     string `json:"type"`
				Function struct {
					Name string `json:"name"`
				} `json:"function"`
			}
			dec := json.NewDecoder(bytes.NewReader(choice))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&named); err != nil || named.Type != "function" || named.Function.Name == "" {
				return nil, Errorf(KindBadRequest, "tool_choice", `tool_choice must be "none", "auto", "required" or {"type": "function", "function": {"name": …}}`)
			}
			var one []grammar.Tool
			for _, t := range gt {
				if t.Name == named.Function.Name {
					one = append(one, t)
				}
			}
			if one == nil {
				return nil, Errorf(KindBadRequest, "tool_choice.function.name", "tool_choice names %q, which is not among the tools", named.Function.Name)
			}
			gt, p.choice = one, "function"
		}
	}
	par := true // OpenAI's default
	if isSet(parallel) {
		if err := json.Unmarshal(parallel, &par); err != nil {
			return nil, Errorf(KindBadRequest, "parallel_tool_calls", "parallel_tool_calls must be a boolean")
		}
	}
	var rules *grammar.Rules
	var err error
	switch p.choice {
	case "none":
		rules = grammar.TextWithout(p.format)
		if rules == nil {
			return p, nil // no marker to keep out: the answer is free text
		}
	default:
		rules, err = grammar.ToolCallRules(gt, p.format, grammar.ToolOptions{Auto: p.choice == "auto", Parallel: par})
		if err != nil {
			return nil, schemaError("tools", err)
		}
	}
	if p.grammar, err = grammar.Compile(rules, "root"); err != nil {
		return nil, schemaError("tools", err)
	}
	return p, nil
}

// toolCallOut is a call in an assistant message.
type toolCallOut struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"` // "function"
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"` // JSON text of an object
}

// toolCallDelta is a streamed piece of a call: index always, id, type and
// name in the first piece, arguments in pieces after.
type toolCallDelta struct {
	Index    int              `json:"index"`
	ID       string           `json:"id,omitempty"`
	Type     string           `json:"type,omitempty"`
	Function functionCallPart `json:"function"`
}

type functionCallPart struct {
	Name      string `json:"name,omitempty"`
	Arguments string `json:"arguments"`
}

// answer reads a finished answer: its text and its calls, with fresh ids.
// An answer cut short (max_tokens) that does not parse is all text.
func (p *toolPlan) answer(text string) (string, []toolCallOut) {
	if !p.active() {
		return text, nil
	}
	content, calls, err := grammar.ParseToolCalls(text, p.format)
	if err != nil || len(calls) == 0 {
		return text, nil
	}
	out := make([]toolCallOut, len(calls))
	for i, c := range calls {
		out[i] = toolCallOut{ID: newID("call_"), Type: "function", Function: functionCall{Name: c.Name, Arguments: string(c.Arguments)}}
	}
	return content, out
}

// deltas splits calls into OpenAI's streamed pieces: per call one delta
// with its index (first onwards), id, type and name, then its arguments in
// pieces of at most n bytes (cut between UTF-8 characters). A stream sends
// calls this way only when they could not be read live (tools_live.go).
func deltas(calls []toolCallOut, first, n int) []toolCallDelta {
	var out []toolCallDelta
	for k, c := range calls {
		i := first + k
		out = append(out, toolCallDelta{Index: i, ID: c.ID, Type: "function", Function: functionCallPart{Name: c.Function.Name}})
		args := c.Function.Arguments
		for len(args) > 0 {
			k := min(n, len(args))
			for k < len(args) && k > 0 && args[k]&0xC0 == 0x80 {
				k--
			}
			if k == 0 {
				k = min(n, len(args))
			}
			out = append(out, toolCallDelta{Index: i, Function: functionCallPart{Arguments: args[:k]}})
			args = args[k:]
		}
	}
	return out
}

// toolText holds back streamed text that may be (the start of) a call, so
// that only text the answer keeps as content is streamed as content. With
// a call marker (<tool_call>, [TOOL_CALLS]) text is streamed up to it;
// without one (plain JSON, Llama 3) a call is the whole answer, so text is
// streamed once its first character shows it is not one. A forced call is
// never content. The text of the calls goes to live, which reads them as
// they are generated (takeDeltas, takeCalls).
type toolText struct {
	plan    *toolPlan
	pending string
	held    bool // a call has started: everything after is held
	decided bool // (no marker) the answer is known to be text
	sent    int  // bytes of text passed on as content
	live    liveCalls
	given   int // (Ollama) complete calls sent
}

// takeDeltas returns the OpenAI tool-call pieces read since the last take.
func (h *toolText) takeDeltas() []toolCallDelta { return h.live.take() }

// takeCalls returns the calls completed since the last take, in Ollama's
// shape: Ollama streams each call whole, in the chunk where it ends.
func (h *toolText) takeCalls() []ollamaToolCall {
	h.live.take() // OpenAI's pieces are not used here
	if h.live.off || h.given == h.live.done {
		return nil
	}
	out := ollamaCalls(h.live.calls[h.given:h.live.done], h.given)
	h.given = h.live.done
	return out
}

// push takes the next piece of streamed text and returns what may be sent
// as content now.
func (h *toolText) push(s string) string {
	out := h.hold(s)
	h.sent += len(out)
	return out
}

// finish ends a streamed choice whose whole text is text: the content not
// sent yet (held back, and not a call after all), the calls not sent live
// as deltas (arguments in pieces of 16 bytes), and the finish_reason
// (tool_calls when it called, else the stop reason's). A call whose
// pieces went out live but that did not end (max_tokens) is left as it
// is, as OpenAI leaves it, with finish_reason length.
func (h *toolText) finish(text string, stopReason string) (rest string, ds []toolCallDelta, finish string) {
	if !h.plan.active() {
		return text[min(h.sent, len(text)):], nil, stopReason
	}
	if _, calls := h.plan.answer(text); len(calls) > 0 {
		if h.live.same(calls) {
			return "", nil, "tool_calls" // every piece went out live
		}
		n := len(h.live.calls)
		return "", deltas(calls[min(n, len(calls)):], n, 16), "tool_calls"
	}
	if len(h.live.calls) > 0 {
		return "", nil, stopReason
	}
	return text[min(h.sent, len(text)):], nil, stopReason
}

func (h *toolText) hold(s string) string {
	p := h.plan
	if !p.active() {
		return s
	}
	if h.held || p.choice != "auto" {
		h.held = true
		h.live.feed(s)
		return ""
	}
	h.pending += s
	mark := grammar.ToolMarker(p.format)
	if mark == "" {
		if !h.decided {
			t := strings.TrimLeft(h.pending, " \t\r\n")
			if t == "" {
				return ""
			}
			if t[0] == '{' || t[0] == '[' || strings.HasPrefix(t, "<|python_tag|>") || strings.HasPrefix("<|python_tag|>", t) {
				h.held = true
				h.live.feed(h.pending)
				return ""
			}
			h.decided = true
		}
		out := h.pending
		h.pending = ""
		return out
	}
	if i := strings.Index(h.pending, mark); i >= 0 {
		out := h.pending[:i]
		h.live.feed(h.pending[i:])
		h.held, h.pending = true, ""
		return out
	}
	// Keep the longest tail that is a prefix of the marker.
	keep := 0
	for k := min(len(mark)-1, len(h.pending)); k > 0; k-- {
		if strings.HasSuffix(h.pending, mark[:k]) {
			keep = k
			break
		}
	}
	out := h.pending[:len(h.pending)-keep]
	h.pending = h.pending[len(h.pending)-keep:]
	return out
}

// ollamaCalls turns calls into Ollama's message.tool_calls, whose
// arguments are an object rather than JSON text; indexes from first on.
func ollamaCalls(calls []toolCallOut, first int) []ollamaToolCall {
	if len(calls) == 0 {
		return nil
	}
	out := make([]ollamaToolCall, len(calls))
	for i, c := range calls {
		out[i].Function.Index = first + i
		out[i].Function.Name = c.Function.Name
		out[i].Function.Arguments = json.RawMessage(c.Function.Arguments)
	}
	return out
}

// ollamaTools reads an Ollama chat request's tools (OpenAI's shape; Ollama
// has no tool_choice, so the model may answer or call) for the model l,
// hands them to nreq's template and constrains a call it starts. The
// returned holder streams the text that stays content.
func (l *Loaded) ollamaTools(tools json.RawMessage, nreq *generate.Request) (*toolText, error) {
	tmpl := ""
	if l.Template != nil {
		tmpl = l.Template.Source()
	}
	plan, err := planTools(tools, nil, nil, tmpl)
	if err != nil || plan == nil {
		return &toolText{}, err
	}
	if nreq.Options.Constraint != nil {
		return nil, Errorf(KindNotSupported, "format", "format together with tools is not supported")
	}
	nreq.Tools = plan.tools
	if nreq.Options.Constraint, err = l.constraint(plan.grammar); err != nil {
		return nil, err
	}
	return &toolText{plan: plan}, nil
}

// ollamaFinal is a finished Ollama chat answer's content and tool calls;
// when streamed, only the content and the calls not sent yet.
func (h *toolText) ollamaFinal(text string, streamed bool) (string, []ollamaToolCall) {
	content, calls := h.plan.answer(text)
	if len(calls) > 0 {
		if !streamed {
			return content, ollamaCalls(calls, 0)
		}
		// The text before the calls went out as it came, and so did the
		// calls read live (takeCalls).
		return "", ollamaCalls(calls[min(h.given, len(calls)):], h.given)
	}
	if streamed && len(h.live.calls) > 0 {
		return "", nil // a call begun live but cut off is not content
	}
	if streamed {
		return text[min(h.sent, len(text)):], nil
	}
	return text, nil
}
