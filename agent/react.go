// Reference: Yao et al., "ReAct: Synergizing Reasoning and Acting in Language Models" (2022): the
// Thought / Action / Observation text protocol, here with the action written as the JSON call
// {"name": …, "arguments": {…}} so that one grammar (generate/grammar's tool rules) can hold it.

package agent

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/gptgo/gptgo/generate/grammar"
)

// reactInstructions tell a model without a tool format how to call. Each
// tool is one line, name(arg: type, optional?: type) and its description:
// a small model's context (the default model has 256 tokens) cannot hold
// whole JSON Schemas, and under LocalModel the grammar enforces them.
func reactInstructions(tools []ToolSpec) string {
	var b strings.Builder
	b.WriteString("Tools:\n")
	for _, t := range tools {
		fmt.Fprintf(&b, "- %s(%s): %s\n", t.Name, signature(t.Parameters), t.Description)
	}
	b.WriteString(`Reply with "Thought: <one line>" and then either
Action: {"name": "<tool>", "arguments": {...}}
or
Final Answer: <answer>
Each Action's result comes back as "Observation: ...".`)
	return b.String()
}

// signature writes a schema's properties as "a: string, b?: integer".
func signature(schema json.RawMessage) string {
	var s struct {
		Properties map[string]struct {
			Type any `json:"type"`
		} `json:"properties"`
		Required []string `json:"required"`
	}
	if json.Unmarshal(schema, &s) != nil {
		return "..."
	}
	req := map[string]bool{}
	for _, r := range s.Required {
		req[r] = true
	}
	names := make([]string, 0, len(s.Properties))
	for n := range s.Properties {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		if req[names[i]] != req[names[j]] {
			return req[names[i]]
		}
		return names[i] < names[j]
	})
	parts := make([]string, len(names))
	for i, n := range names {
		opt := "?"
		if req[n] {
			opt = ""
		}
		parts[i] = fmt.Sprintf("%s%s: %v", n, opt, s.Properties[n].Type)
	}
	return strings.Join(parts, ", ")
}

// reactMessages flattens a conversation with calls into plain text turns:
// the instructions join the system prompt, an assistant's calls become its
// Action lines (one call a turn; several are written one after another),
// and tool results become the user's Observation turns.
func reactMessages(msgs []Message, tools []ToolSpec) []Message {
	out := make([]Message, 0, len(msgs))
	for _, m := range msgs {
		switch {
		case m.Role == "system" && len(tools) > 0:
			out = append(out, Message{Role: "system", Content: m.Content + "\n\n" + reactInstructions(tools)})
		case m.Role == "assistant" && len(m.Calls) > 0:
			var b strings.Builder
			thought := strings.TrimSpace(m.Content)
			if thought == "" {
				thought = "I will call " + m.Calls[0].Name + "."
			}
			b.WriteString("Thought: " + oneLine(thought, 1000))
			for _, c := range m.Calls {
				call, _ := json.Marshal(struct {
					Name      string          `json:"name"`
					Arguments json.RawMessage `json:"arguments"`
				}{c.Name, c.Arguments})
				b.WriteString("\nAction: " + string(call))
			}
			out = append(out, Message{Role: "assistant", Content: b.String()})
		case m.Role == "tool":
			obs := "Observation: " + m.Content
			// Consecutive observations of one answer share a user turn, so
			// user and assistant keep alternating as templates expect.
			if n := len(out); n > 0 && out[n-1].Role == "user" && strings.HasPrefix(out[n-1].Content, "Observation: ") {
				out[n-1].Content += "\n" + obs
			} else {
				out = append(out, Message{Role: "user", Content: obs})
			}
		default:
			out = append(out, Message{Role: m.Role, Content: m.Content})
		}
	}
	return out
}

// parseReAct reads a ReAct answer. A Final Answer (or text with no Action
// at all) is the answer; each Action line is a call. An Action whose JSON
// does not parse is an error the caller feeds back.
func parseReAct(text string) (content string, calls []ToolCall, err error) {
	// Keywords count only at the start of a line: a Thought may mention
	// "Action:" in passing (the grammar allows any text on its line).
	text = "\n" + text
	// A model that writes its own observation has gone past its turn;
	// what follows is invented.
	if i := strings.Index(text, "\nObservation:"); i >= 0 {
		text = text[:i]
	}
	i := strings.Index(text, "\nAction:")
	if j := strings.Index(text, "\nFinal Answer:"); j >= 0 && (i < 0 || j < i) {
		return strings.TrimSpace(text[j+len("\nFinal Answer:"):]), nil, nil
	}
	if i < 0 {
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "Thought:")), nil, nil
	}
	content = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text[:i]), "Thought:"))
	rest := text[i+1:]
	for strings.HasPrefix(rest, "Action:") {
		// The call may span lines (the grammar allows JSON whitespace), so
		// it is read as one JSON value, not as a line.
		d := json.NewDecoder(strings.NewReader(rest[len("Action:"):]))
		var c struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := d.Decode(&c); err != nil || c.Name == "" {
			return "", nil, fmt.Errorf("agent: the model's Action %q is not a JSON call {\"name\": …, \"arguments\": {…}}: %v", strings.TrimSpace(rest[len("Action:"):]), err)
		}
		if len(c.Arguments) == 0 {
			c.Arguments = json.RawMessage("{}")
		}
		calls = append(calls, ToolCall{Name: c.Name, Arguments: c.Arguments})
		rest = strings.TrimSpace(rest[len("Action:")+int(d.InputOffset()):])
	}
	return content, calls, nil
}

// reactGBNF is the ReAct answer as a GBNF grammar: a one-line Thought,
// then either one Action whose JSON call names a tool with arguments valid
// under its schema, or a Final Answer. Under it a small model cannot
// derail the protocol. The text is the one source of the grammar: the
// in-process model compiles it (reactGrammar) and HTTPModel sends it as
// llama.cpp's "grammar" field, so both constrain the same language.
const reactThought = 160

func reactGBNF(tools []ToolSpec, force bool) (string, error) {
	gt := make([]grammar.Tool, len(tools))
	for i, t := range tools {
		gt[i] = grammar.Tool{Name: t.Name, Parameters: t.Parameters}
	}
	r, err := grammar.ToolCallRules(gt, grammar.ToolsJSON, grammar.ToolOptions{MaxStringLength: 2000})
	if err != nil {
		return "", err
	}
	// The Thought is one line of at most reactThought characters, so that
	// a rambling model still reaches its Action within the token budget.
	line := grammar.Repeat{X: grammar.Class{Negated: true, Ranges: []grammar.Range{{Lo: '\n', Hi: '\n'}}}, Min: 0, Max: reactThought}
	text := grammar.Plus(grammar.Class{Negated: true, Ranges: []grammar.Range{{Lo: 0, Hi: 0}}})
	ends := grammar.Alt{grammar.Seq{grammar.Lit("\nAction: "), grammar.Ref("call")}}
	if !force {
		ends = append(ends, grammar.Seq{grammar.Lit("\nFinal Answer: "), text})
	}
	// GBNF grammars start at "root" (llama.cpp's rule); this replaces the
	// tool rules' own root, which the ReAct answer does not use.
	r.Define("root", grammar.Seq{grammar.Lit("Thought: "), line, ends})
	return r.String(), nil
}

// reactGrammar compiles reactGBNF's text for the in-process sampler.
func reactGrammar(tools []ToolSpec, force bool) (*grammar.Grammar, error) {
	src, err := reactGBNF(tools, force)
	if err != nil {
		return nil, err
	}
	return grammar.CompileGBNF(src)
}

// badAction stands for an Action that could not be read: a call with no
// name whose arguments hold the reason, which the agent feeds back (not
// fatal: the model is told and tries again).
func badAction(err error) ToolCall {
	b, _ := json.Marshal(err.Error())
	return ToolCall{Arguments: b}
}
