// Chat-template API: Hugging Face's apply_chat_template contract (messages, tools, add_generation_prompt, bos_token, eos_token) and llama.cpp's common/chat.cpp conventions.

package chat

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
)

// Message is one turn of a conversation, in OpenAI's shape.
type Message struct {
	Role       string     // "system", "user", "assistant" or "tool"
	Content    string     // the text of the turn
	ToolCalls  []ToolCall // calls an assistant turn made
	ToolCallID string     // on a "tool" turn: which call this answers
	Name       string     // on a "tool" turn: the tool's name
}

// ToolCall is one function call made by the assistant.
type ToolCall struct {
	ID        string
	Name      string
	Arguments string // JSON text; an object is passed to the template as a mapping
}

// Options control one rendering.
type Options struct {
	// AddGenerationPrompt appends the header that opens the assistant's
	// turn, so that the model continues as the assistant.
	AddGenerationPrompt bool
	// Tools are OpenAI-style tool definitions, passed to the template as
	// `tools` with their key order kept.
	Tools []json.RawMessage
	// Extra holds more template variables (such as "enable_thinking").
	// Values are Go scalars, []any, map[string]any or json.RawMessage.
	Extra map[string]any
	// Now is what strftime_now sees; the zero value means time.Now().
	Now time.Time
	// TrimBOSEOS drops a BOS at the start and an EOS at the end of the
	// result, as llama.cpp does, for tokenizers that add BOS themselves.
	TrimBOSEOS bool
}

// Template is a parsed chat template, safe for concurrent Render calls.
type Template struct {
	name     string
	source   string
	norm     string // source with newlines normalised: what positions refer to
	bos, eos string
	fallback bool
	root     []node
	// caps says what the template renders itself; Render rewrites the
	// conversation for the rest (see polyfill), as llama.cpp does.
	caps caps
	lim  limits
}

// New parses a Jinja chat template. bosToken and eosToken are the strings
// the template sees as bos_token and eos_token. A syntax error is an *Error
// naming the line and column.
func New(source, bosToken, eosToken string) (*Template, error) {
	norm := normalizeNewlines(source)
	root, err := parse(norm)
	if err != nil {
		return nil, err
	}
	t := &Template{name: Detect(source), source: source, norm: norm, bos: bosToken, eos: eosToken, root: root, lim: defaultLimits}
	t.caps = t.probe()
	return t, nil
}

// Name is the template family (see Detect), or "" when unknown.
func (t *Template) Name() string { return t.name }

// Fallback reports whether the template is a built-in stand-in because the
// model file carried none.
func (t *Template) Fallback() bool { return t.fallback }

// Source is the Jinja text of the template.
func (t *Template) Source() string { return t.source }

// BOS and EOS are the token strings the template sees.
func (t *Template) BOS() string { return t.bos }
func (t *Template) EOS() string { return t.eos }

// SupportsSystem reports whether the template renders system turns itself;
// when not, Render folds system text into the next user turn.
func (t *Template) SupportsSystem() bool { return t.caps.system }

// SupportsTools reports whether the template renders the `tools` variable;
// when not, Render lists the tools as JSON in the system prompt.
func (t *Template) SupportsTools() bool { return t.caps.tools }

// SupportsToolCalls reports whether the template renders assistant tool
// calls and tool results; when not, Render writes them as JSON text.
func (t *Template) SupportsToolCalls() bool { return t.caps.toolCalls && t.caps.toolResponses }

// Render formats a conversation into the prompt text the model expects.
func (t *Template) Render(msgs []Message, opt Options) (out string, err error) {
	defer func() {
		if r := recover(); r != nil { // a bug here must not take a server down
			out, err = "", fmt.Errorf("chat: internal error rendering template: %v", r)
		}
	}()
	out, err = t.render(msgs, opt, t.caps)
	if err != nil {
		return "", err
	}
	if opt.TrimBOSEOS {
		if t.bos != "" {
			out = strings.TrimPrefix(out, t.bos)
		}
		if t.eos != "" {
			out = strings.TrimSuffix(out, t.eos)
		}
	}
	return out, nil
}

func (t *Template) render(msgs []Message, opt Options, c caps) (string, error) {
	msgs, err := polyfill(msgs, opt.Tools, c)
	if err != nil {
		return "", fmt.Errorf("chat: Options.Tools: %w", err)
	}
	ctx := map[string]any{}
	for k, v := range opt.Extra {
		c, err := fromGo(v)
		if err != nil {
			return "", fmt.Errorf("chat: Options.Extra[%q]: %w", k, err)
		}
		ctx[k] = c
	}
	ml, err := messageList(msgs, c.stringArgs)
	if err != nil {
		return "", err
	}
	ctx["messages"] = ml
	ctx["add_generation_prompt"] = opt.AddGenerationPrompt
	ctx["bos_token"] = t.bos
	ctx["eos_token"] = t.eos
	if opt.Tools != nil {
		tl := &list{}
		for i, raw := range opt.Tools {
			v, err := fromJSON(raw)
			if err != nil {
				return "", fmt.Errorf("chat: Options.Tools[%d]: %w", i, err)
			}
			tl.items = append(tl.items, v)
		}
		ctx["tools"] = tl
	}
	e := &evaluator{src: t.norm, lim: t.lim, now: opt.Now}
	if e.now.IsZero() {
		e.now = time.Now()
	}
	global := &scope{vars: e.globals()}
	if err := e.exec(t.root, &scope{vars: ctx, parent: global}); err != nil {
		if err == errBreak || err == errContinue {
			return "", &Error{Msg: "break or continue outside a loop"}
		}
		return "", err
	}
	return e.out.String(), nil
}

// foldSystemTurns merges system text into the following user turn (joined
// by a newline), or into a user turn of its own when none follows.
func foldSystemTurns(msgs []Message) []Message {
	var out []Message
	pending := ""
	flush := func() {
		if pending != "" {
			out = append(out, Message{Role: "user", Content: pending})
			pending = ""
		}
	}
	for _, m := range msgs {
		switch m.Role {
		case "system":
			if pending != "" {
				pending += "\n"
			}
			pending += m.Content
			continue
		case "user":
			if pending != "" {
				if m.Content != "" {
					pending += "\n" + m.Content
				}
				m.Content = pending
				pending = ""
			}
		default:
			flush()
		}
		out = append(out, m)
	}
	flush()
	return out
}

// messageList builds the `messages` value in the shape templates expect.
func messageList(msgs []Message, stringArgs bool) (*list, error) {
	l := &list{}
	for i, m := range msgs {
		d := newDict()
		d.set("role", m.Role)
		if m.Content == "" && len(m.ToolCalls) > 0 {
			d.set("content", nil) // OpenAI's shape: a pure tool-call turn has null content
		} else {
			d.set("content", m.Content)
		}
		if len(m.ToolCalls) > 0 {
			calls := &list{}
			for j, tc := range m.ToolCalls {
				var args any = tc.Arguments
				if v, err := fromJSON([]byte(tc.Arguments)); err == nil {
					if _, isObj := v.(*dict); isObj && !stringArgs {
						args = v // templates index arguments as a mapping
					}
				} else if strings.TrimSpace(tc.Arguments) != "" && strings.HasPrefix(strings.TrimSpace(tc.Arguments), "{") {
					return nil, fmt.Errorf("chat: messages[%d].tool_calls[%d]: arguments are not valid JSON: %v", i, j, err)
				}
				fn := newDict()
				fn.set("name", tc.Name)
				fn.set("arguments", args)
				c := newDict()
				if tc.ID != "" {
					c.set("id", tc.ID)
				}
				c.set("type", "function")
				c.set("function", fn)
				calls.items = append(calls.items, c)
			}
			d.set("tool_calls", calls)
		}
		if m.ToolCallID != "" {
			d.set("tool_call_id", m.ToolCallID)
		}
		if m.Name != "" {
			d.set("name", m.Name)
		}
		l.items = append(l.items, d)
	}
	return l, nil
}

// FromGGUF returns the template a model file carries in
// tokenizer.chat_template, with its BOS and EOS token strings. When the file
// has none it returns a built-in template chosen from the vocabulary's
// special tokens (ChatML when nothing matches), with Fallback() true.
func FromGGUF(f *gguf.File) (*Template, error) {
	tokens, _ := f.Strings("tokenizer.ggml.tokens")
	tok := func(key string) (string, error) {
		id, ok := f.Uint(key)
		if !ok {
			return "", nil
		}
		if id >= uint64(len(tokens)) {
			return "", fmt.Errorf("chat: gguf %s = %d is outside the vocabulary of %d tokens", key, id, len(tokens))
		}
		return tokens[id], nil
	}
	bos, err := tok("tokenizer.ggml.bos_token_id")
	if err != nil {
		return nil, err
	}
	eos, err := tok("tokenizer.ggml.eos_token_id")
	if err != nil {
		return nil, err
	}
	if src, ok := f.String("tokenizer.chat_template"); ok && strings.TrimSpace(src) != "" {
		t, err := New(src, bos, eos)
		if err != nil {
			return nil, fmt.Errorf("chat: gguf tokenizer.chat_template: %w", err)
		}
		return t, nil
	}
	name := guessFromVocab(tokens)
	t, err := builtin(name, bos, eos)
	if err != nil {
		return nil, err
	}
	t.fallback = true
	return t, nil
}

// FromGGUFNamed returns a named variant a model file carries in
// tokenizer.chat_template.<name> (Hermes and Command-R ship "tool_use"
// beside the default), with the file's BOS and EOS strings.
func FromGGUFNamed(f *gguf.File, name string) (*Template, error) {
	key := "tokenizer.chat_template." + name
	src, ok := f.String(key)
	if !ok || strings.TrimSpace(src) == "" {
		return nil, fmt.Errorf("chat: gguf has no %s", key)
	}
	base, err := FromGGUF(f) // for the BOS/EOS lookup and its errors
	if err != nil {
		return nil, err
	}
	t, err := New(src, base.bos, base.eos)
	if err != nil {
		return nil, fmt.Errorf("chat: gguf %s: %w", key, err)
	}
	return t, nil
}

// guessFromVocab picks a family from the special tokens a vocabulary has.
func guessFromVocab(tokens []string) string {
	has := map[string]bool{}
	for _, s := range tokens {
		if strings.HasPrefix(s, "<") || strings.HasPrefix(s, "[") {
			has[s] = true
		}
	}
	switch {
	case has["<|im_start|>"]:
		return "chatml"
	case has["<|start_header_id|>"]:
		return "llama3"
	case has["<start_of_turn>"]:
		return "gemma"
	case has["<|assistant|>"] && has["<|end|>"]:
		return "phi3"
	case has["[INST]"]:
		return "mistral"
	}
	return "chatml"
}

// RenderDelta returns the text that appending next to past adds to the
// prompt: Render(past+next, opt) minus its prefix Render(past) without the
// generation prompt. A chat loop feeds only this to a model whose KV cache
// holds past. It fails when the template renders past differently once
// more turns follow (some drop earlier reasoning, for instance); the caller
// then re-renders and re-feeds the whole conversation.
func (t *Template) RenderDelta(past, next []Message, opt Options) (string, error) {
	pastOpt := opt
	pastOpt.AddGenerationPrompt = false
	pastOpt.TrimBOSEOS = false
	before, err := t.Render(past, pastOpt)
	if err != nil {
		return "", err
	}
	fullOpt := opt
	fullOpt.TrimBOSEOS = false
	all := append(append([]Message{}, past...), next...)
	after, err := t.Render(all, fullOpt)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(after, before) {
		return "", fmt.Errorf("chat: the template renders the earlier turns differently once turn %d is added; render the whole conversation", len(past)+1)
	}
	delta := after[len(before):]
	if opt.TrimBOSEOS && t.eos != "" {
		delta = strings.TrimSuffix(delta, t.eos)
	}
	return delta, nil
}
