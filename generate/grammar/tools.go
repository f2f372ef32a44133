// Reference: OpenAI's function-calling guide (tools, tool_choice none|auto|required|named,
// parallel_tool_calls) and the call formats of the chat templates that carry tools: Hermes 2 Pro /
// Qwen2.5 (<tool_call>{json}</tool_call>), Llama 3.1 JSON tool calling ({"name", "parameters"}) and
// Mistral ([TOOL_CALLS][...]).

package grammar

import (
	"encoding/json"
	"fmt"
	"strconv"
)

// Tool is a function the model may call: its name and the JSON Schema of
// its arguments object (empty: any object).
type Tool struct {
	Name       string
	Parameters json.RawMessage
}

// ToolFormat is how a model writes its calls, set by its chat template.
type ToolFormat int

const (
	// ToolsJSON is the fallback for templates without a tool format: the
	// whole answer is {"name": …, "arguments": {…}}, or a JSON array of
	// such objects for parallel calls.
	ToolsJSON ToolFormat = iota
	// ToolsHermes is Hermes 2 Pro's and Qwen2.5's: each call is
	// <tool_call>\n{"name": …, "arguments": {…}}\n</tool_call>.
	ToolsHermes
	// ToolsLlama3 is Llama 3.1/3.2's JSON tool calling:
	// {"name": …, "parameters": {…}}, one call per answer.
	ToolsLlama3
	// ToolsMistral is Mistral's: [TOOL_CALLS][{"name": …, "arguments": {…}}, …].
	ToolsMistral
)

func (f ToolFormat) String() string {
	switch f {
	case ToolsHermes:
		return "hermes"
	case ToolsLlama3:
		return "llama3"
	case ToolsMistral:
		return "mistral"
	}
	return "json"
}

// argsKey is the member holding a call's arguments in format f.
func (f ToolFormat) argsKey() string {
	if f == ToolsLlama3 {
		return "parameters"
	}
	return "arguments"
}

// ToolMarker is the text that starts the calls in format f ("" when a
// call is the whole answer).
func ToolMarker(f ToolFormat) string { return f.trigger() }

// TextWithout is the grammar of an answer in which format f's call marker
// never appears (tool_choice none); nil when f has no marker.
func TextWithout(f ToolFormat) *Rules {
	trig := f.trigger()
	if trig == "" {
		return nil
	}
	r := &Rules{}
	r.Define("root", nil)
	r.Define("root", textWithout(r, "text", trig, nil))
	return r
}

// trigger is the text that starts the calls in f ("" when a call is the
// whole answer).
func (f ToolFormat) trigger() string {
	switch f {
	case ToolsHermes:
		return "<tool_call>"
	case ToolsMistral:
		return "[TOOL_CALLS]"
	}
	return ""
}

// ToolOptions choose what the grammar allows.
type ToolOptions struct {
	// Auto lets the model answer in text or call (tool_choice auto); a
	// call it starts is constrained all the same. Otherwise a call is
	// forced (tool_choice required, or a named function when Tools holds
	// only that one).
	Auto bool
	// Parallel allows several calls in one answer (parallel_tool_calls);
	// ToolsLlama3 has one call per answer and ignores it.
	Parallel bool
	// MaxStringLength bounds string arguments whose schema has no
	// maxLength (0: no bound); see SchemaOptions.
	MaxStringLength int
}

// ToolCallRules builds the grammar of an answer that calls the tools in
// format f: each call names one of tools and has arguments valid under its
// schema (objects closed to undeclared members, see SchemaOptions).
func ToolCallRules(tools []Tool, f ToolFormat, o ToolOptions) (*Rules, error) {
	if len(tools) == 0 {
		return nil, fmt.Errorf("grammar: no tools to call")
	}
	r := &Rules{}
	r.Define("root", nil)
	// Calls are read by a parser, not a person: at most one space between
	// tokens, so a model cannot spend its budget on indentation.
	r.Define("ws", Opt(Lit(" ")))
	var calls Alt
	seen := map[string]bool{}
	for i, t := range tools {
		if t.Name == "" {
			return nil, fmt.Errorf("grammar: tool %d has no name", i)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("grammar: tool %q is listed twice", t.Name)
		}
		seen[t.Name] = true
		params := t.Parameters
		if len(params) == 0 || string(params) == "null" {
			params = json.RawMessage(`{"type":"object"}`)
		}
		args, err := addSchema(r, "t"+strconv.Itoa(i)+"-", params, SchemaOptions{ClosedObjects: true, MaxStringLength: o.MaxStringLength})
		if err != nil {
			return nil, fmt.Errorf("tool %q parameters: %w", t.Name, err)
		}
		call := Seq{Lit(`{"name"`), Ref("ws"), Lit(":"), Ref("ws"), Lit(quoteJSON(t.Name)), Ref("ws"), Lit(","), Ref("ws"),
			Lit(quoteJSON(f.argsKey())), Ref("ws"), Lit(":"), Ref("ws"), args, Ref("ws"), Lit("}")}
		name := "call-" + strconv.Itoa(i)
		r.Define(name, call)
		calls = append(calls, Ref(name))
	}
	r.Define("call", calls)
	nl := Opt(Lit("\n"))
	// after is what follows the format's trigger (the whole answer when it
	// has none).
	var after Expr
	switch f {
	case ToolsHermes:
		rest := Seq{nl, Ref("call"), nl, Lit("</tool_call>")}
		if o.Parallel {
			after = Seq{rest, Star(Seq{nl, Lit("<tool_call>"), rest})}
		} else {
			after = rest
		}
	case ToolsMistral:
		list := Seq{Ref("call")}
		if o.Parallel {
			list = append(list, Star(Seq{Lit(","), Ref("ws"), Ref("call")}))
		}
		after = Seq{Opt(Lit(" ")), Lit("["), list, Lit("]")}
	case ToolsLlama3:
		after = Ref("call")
	default:
		if o.Parallel {
			after = Seq{Lit("["), Ref("ws"), Ref("call"), Star(Seq{Lit(","), Ref("ws"), Ref("call")}), Ref("ws"), Lit("]")}
		} else {
			after = Ref("call")
		}
	}
	r.Define("calls-after-trigger", Seq{after, Ref("ws")})
	trig := f.trigger()
	if !o.Auto {
		r.Define("root", Seq{Lit(trig), Ref("calls-after-trigger")})
		return r, nil
	}
	// Auto: free text, or calls. With a trigger the calls may follow some
	// text, which must not contain the trigger itself; without one a call
	// is the whole answer, so text must not start with "{" or "[".
	if trig != "" {
		r.Define("root", textWithout(r, "text", trig, Ref("calls-after-trigger")))
		return r, nil
	}
	first := Class{Ranges: []Range{{'{', '{'}, {'[', '['}}, Negated: true}
	r.Define("root", Alt{Ref("calls-after-trigger"), Seq{}, Seq{first, Star(Class{Negated: true})}})
	return r, nil
}

// textWithout defines rules for text that does not contain w, optionally
// (tail not nil) followed by w and then tail: the states of a Knuth-Morris-Pratt matcher
// for w, one rule each, where reaching the last character of w goes on to
// tail instead of completing the forbidden word.
func textWithout(r *Rules, base, w string, tail Expr) Expr {
	rs := []rune(w)
	n := len(rs)
	// fail[i]: the longest proper border of rs[:i+1].
	fail := make([]int, n)
	for i, k := 1, 0; i < n; i++ {
		for k > 0 && rs[i] != rs[k] {
			k = fail[k-1]
		}
		if rs[i] == rs[k] {
			k++
		}
		fail[i] = k
	}
	// delta(j, c): the matched length after c in state j (j < n).
	delta := func(j int, c rune) int {
		for j > 0 && rs[j] != c {
			j = fail[j-1]
		}
		if rs[j] == c {
			return j + 1
		}
		return 0
	}
	state := func(j int) string { return base + "-" + strconv.Itoa(j) }
	for j := range n {
		alts := Alt{Seq{}} // the text may end here
		var special []Range
		dests := map[int][]Range{}
		for _, c := range uniqueRunes(rs) {
			special = append(special, Range{c, c})
			d := delta(j, c)
			if d == n {
				if tail != nil { // nil: the word may not appear at all
					alts = append(alts, Seq{Lit(string(c)), tail})
				}
				continue
			}
			dests[d] = append(dests[d], Range{c, c})
		}
		// Every character not in w goes back to state 0.
		alts = append(alts, Seq{Class{Ranges: special, Negated: true}, Ref(state(0))})
		for d := range n {
			if cs, ok := dests[d]; ok {
				alts = append(alts, Seq{Class{Ranges: cs}, Ref(state(d))})
			}
		}
		r.Define(state(j), alts)
	}
	return Ref(state(0))
}

func uniqueRunes(rs []rune) []rune {
	var out []rune
	seen := map[rune]bool{}
	for _, c := range rs {
		if !seen[c] {
			seen[c] = true
			out = append(out, c)
		}
	}
	return out
}
