// Reference: ../shared/ARCHITECTURE.md ("the CLI, the knowledge base and the agent call the same
// path in-process"): generate.Request rendering through the chat template, generate.Session, and a
// generate/grammar constraint as the sampler's mask (docs/tools.md).

package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// LocalModel is a gptgo model in this process. When its chat template
// renders tools and tool calls, the calls are the template's own format
// (Hermes/Qwen2.5, Llama 3.1, Mistral), constrained by the matching tool
// grammar; otherwise the conversation is flattened into the ReAct text
// protocol, constrained by the ReAct grammar. Either way the sampler can
// only produce a call that parses and whose arguments fit the tool's
// schema, so a small model cannot derail the loop.
type LocalModel struct {
	Session  *generate.Session
	Tok      *tokenizer.Tokenizer
	Template *chat.Template
	Options  generate.Options // sampler, MaxTokens per turn, stop strings
	// ForceCalls makes every answer that is offered tools a call
	// (OpenAI's tool_choice "required"); the agent then ends only at a
	// limit, so it suits single-step uses and tests of the call grammar.
	ForceCalls bool

	mu     sync.Mutex
	vocab  *grammar.Vocab
	cached map[string]*grammar.Grammar // by tool set, compiled once a run
}

// native reports whether the template takes tools and calls itself.
func (m *LocalModel) native() bool {
	return !m.Template.Fallback() && m.Template.SupportsTools() && m.Template.SupportsToolCalls()
}

// Complete implements Model. It runs one generation at a time.
func (m *LocalModel) Complete(ctx context.Context, req Request) (*Reply, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	native := m.native() && len(req.Tools) > 0
	format := grammar.DetectToolFormat(m.Template.Source())
	gr := generate.Request{}
	if native {
		for _, msg := range req.Messages {
			cm := chat.Message{Role: msg.Role, Content: msg.Content, ToolCallID: msg.CallID, Name: msg.Name}
			for _, c := range msg.Calls {
				cm.ToolCalls = append(cm.ToolCalls, chat.ToolCall{ID: c.ID, Name: c.Name, Arguments: string(c.Arguments)})
			}
			gr.Messages = append(gr.Messages, cm)
		}
		for _, t := range req.Tools {
			b, _ := json.Marshal(wireTool{Type: "function", Function: t})
			gr.Tools = append(gr.Tools, b)
		}
	} else {
		for _, msg := range reactMessages(req.Messages, req.Tools) {
			gr.Messages = append(gr.Messages, chat.Message{Role: msg.Role, Content: msg.Content})
		}
	}
	ids, err := gr.Render(m.Tok, m.Template)
	if err != nil {
		return nil, err
	}
	opts := m.Options
	if req.MaxTokens > 0 {
		opts.MaxTokens = req.MaxTokens
	}
	// Leave room for an answer (the budget, at most a quarter of the
	// context); a longer conversation goes back to the agent to shrink.
	T := m.Session.State.Ctx()
	room := T / 4
	if opts.MaxTokens > 0 {
		room = min(room, opts.MaxTokens)
	}
	if !opts.TruncatePrompt && len(ids)+room > T {
		return nil, fmt.Errorf("%w: %d prompt tokens and %d for the answer, context %d", ErrContextFull, len(ids), room, T)
	}
	if len(req.Tools) > 0 {
		g, err := m.grammar(req.Tools, native, format)
		if err != nil {
			return nil, err
		}
		if m.vocab == nil {
			if m.vocab, err = grammar.NewVocab(m.Tok); err != nil {
				return nil, err
			}
		}
		mt := grammar.NewMatcher(g, m.vocab)
		mt.SetBudget(m.budget(ids, opts))
		opts.Constraint = mt
	}
	res, err := m.Session.Generate(ctx, ids, opts, nil)
	if errors.Is(err, generate.ErrPromptTooLong) {
		return nil, fmt.Errorf("%w: %v", ErrContextFull, err)
	}
	if err != nil {
		return nil, err
	}
	r := &Reply{Content: res.Text, Usage: Usage{Prompt: len(res.Prompt), Completion: len(res.Tokens)}}
	if len(req.Tools) == 0 {
		return r, nil
	}
	if mt, ok := opts.Constraint.(*grammar.Matcher); ok && !mt.Accepting() {
		// Cut by the token budget before the grammar's end: neither a
		// whole Action nor a Final Answer. The model is told and tries
		// again rather than the fragment being taken for an answer.
		r.Calls = []ToolCall{badAction(fmt.Errorf("the answer stopped (%s) after %d tokens, before the answer or call was complete; be brief", res.Stop, len(res.Tokens)))}
		return r, nil
	}
	if native {
		content, calls, err := grammar.ParseToolCalls(res.Text, format)
		if err != nil {
			r.Calls = []ToolCall{badAction(err)}
			return r, nil
		}
		r.Content = content
		for _, c := range calls {
			r.Calls = append(r.Calls, ToolCall{Name: c.Name, Arguments: c.Arguments})
		}
		return r, nil
	}
	content, calls, err := parseReAct(res.Text)
	if err != nil {
		// Only when generation stopped mid-call (the token budget).
		r.Calls = []ToolCall{badAction(err)}
		return r, nil
	}
	r.Content, r.Calls = content, calls
	return r, nil
}

// budget is the grammar's token budget for an answer to prompt, set as the
// server sets it (server/structured.go, fitMaxTokens): MaxTokens, or what
// the context leaves after the prompt as the session will fit it, if
// less. Near the limit the matcher then allows only tokens after which the
// call can still be completed, so a call ends complete instead of cut off.
func (m *LocalModel) budget(prompt []int32, o generate.Options) int {
	T := m.Session.State.Ctx() - m.Session.State.VirtualTokens() // as Session.Generate fits it
	fit, _, err := generate.FitPrompt(prompt, T, o)
	if err != nil {
		return 0 // no bound: Generate refuses the prompt
	}
	room := T - len(fit)
	if o.MaxTokens > 0 {
		room = min(room, o.MaxTokens)
	}
	return max(room, 1)
}

func (m *LocalModel) grammar(tools []ToolSpec, native bool, f grammar.ToolFormat) (*grammar.Grammar, error) {
	key, _ := json.Marshal(struct {
		T    []ToolSpec
		N, F bool
	}{tools, native, m.ForceCalls})
	if g := m.cached[string(key)]; g != nil {
		return g, nil
	}
	var g *grammar.Grammar
	var err error
	if native {
		gt := make([]grammar.Tool, len(tools))
		for i, t := range tools {
			gt[i] = grammar.Tool{Name: t.Name, Parameters: t.Parameters}
		}
		var r *grammar.Rules
		if r, err = grammar.ToolCallRules(gt, f, grammar.ToolOptions{Auto: !m.ForceCalls, Parallel: true, MaxStringLength: 2000}); err == nil {
			g, err = grammar.Compile(r, "root")
		}
	} else {
		g, err = reactGrammar(tools, m.ForceCalls)
	}
	if err != nil {
		return nil, fmt.Errorf("agent: the tools' grammar: %w", err)
	}
	if m.cached == nil {
		m.cached = map[string]*grammar.Grammar{}
	}
	m.cached[string(key)] = g
	return g, nil
}
