// Reference: Yao et al., "ReAct: Synergizing Reasoning and Acting in Language Models" (2022): the
// Thought / Action / Observation text protocol, here with the action written as the JSON call
// {"name": …, "arguments": {…}} so that one grammar (generate/grammar's tool rules) can hold it.

package agent

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/gptgo/gptgo/generate/grammar"
)

// reactInstructions tell a model without a tool format how to call.
func reactInstructions(tools []ToolSpec) string {
	var b strings.Builder
	b.WriteString("You can use these tools:\n")
	for _, t := range tools {
		fmt.Fprintf(&b, "- %s: %s Arguments (JSON Schema): %s\n", t.Name, t.Description, t.Parameters)
	}
	b.WriteString(`Answer in exactly one of these two forms:
Thought: <your reasoning, one line>
Action: {"name": "<tool>", "arguments": {<arguments>}}
or
Thought: <your reasoning, one line>
Final Answer: <the answer>
After an Action you will get its result as "Observation: …".`)
	return b.String()
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
	if i := strings.Index(text, "Final Answer:"); i >= 0 {
		return strings.TrimSpace(text[i+len("Final Answer:"):]), nil, nil
	}
	// A model that writes its own observation has gone past its turn;
	// what follows is invented.
	if i := strings.Index(text, "Observation:"); i >= 0 {
		text = text[:i]
	}
	i := strings.Index(text, "Action:")
	if i < 0 {
		return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text), "Thought:")), nil, nil
	}
	content = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(text[:i]), "Thought:"))
	rest := text[i:]
	for strings.HasPrefix(rest, "Action:") {
		// The call may span lines (the grammar allows JSON whitespace), so
		// it is read as one JSON value, not as a line.
		d := json.NewDecoder(strings.NewReader(rest[len("Action:"):]))
		var c struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		}
		if err := d.Decode(&c); err != nil || c.Name == "" {
			return "", nil, fmt.Errorf("agent: the model's Action %q is not a JSON call {\"name\": …, \"arguments\": {…}}: %v", strings.TrimSpace(rest), err)
		}
		if len(c.Arguments) == 0 {
			c.Arguments = json.RawMessage("{}")
		}
		calls = append(calls, ToolCall{Name: c.Name, Arguments: c.Arguments})
		rest = strings.TrimSpace(rest[len("Action:")+int(d.InputOffset()):])
	}
	return content, calls, nil
}

// reactGrammar is the ReAct answer as a grammar: a one-line Thought, then
// either one Action whose JSON call names a tool with arguments valid
// under its schema, or a Final Answer. Under it a small model cannot
// derail the protocol.
func reactGrammar(tools []ToolSpec) (*grammar.Grammar, error) {
	gt := make([]grammar.Tool, len(tools))
	for i, t := range tools {
		gt[i] = grammar.Tool{Name: t.Name, Parameters: t.Parameters}
	}
	r, err := grammar.ToolCallRules(gt, grammar.ToolsJSON, grammar.ToolOptions{MaxStringLength: 2000})
	if err != nil {
		return nil, err
	}
	line := grammar.Star(grammar.Class{Negated: true, Ranges: []grammar.Range{{Lo: '\n', Hi: '\n'}}})
	text := grammar.Plus(grammar.Class{Negated: true, Ranges: []grammar.Range{{Lo: 0, Hi: 0}}})
	r.Define("react", grammar.Seq{grammar.Lit("Thought: "), line, grammar.Alt{
		grammar.Seq{grammar.Lit("\nAction: "), grammar.Ref("call")},
		grammar.Seq{grammar.Lit("\nFinal Answer: "), text},
	}})
	return grammar.Compile(r, "react")
}

// badAction stands for an Action that could not be read: a call with no
// name whose arguments hold the reason, which the agent feeds back (not
// fatal: the model is told and tries again).
func badAction(err error) ToolCall {
	b, _ := json.Marshal(err.Error())
	return ToolCall{Arguments: b}
}
