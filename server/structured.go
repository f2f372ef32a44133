// Reference: OpenAI API reference, chat completions response_format ({type: text | json_object |
// json_schema, json_schema: {name, description, schema, strict}}); Ollama's api/types.go and
// docs/api.md (format: "json" or a JSON schema); docs/tools.md for what a schema may use.

package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"sync"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
)

// lazyVocab is a loaded model's vocabulary laid out for grammar masks,
// built on the first constrained request (a 152k vocabulary takes a
// fraction of a second) and shared by every later one.
type lazyVocab struct {
	once sync.Once
	v    *grammar.Vocab
	err  error
}

// constraint starts a matcher of g over l's vocabulary.
func (l *Loaded) constraint(g *grammar.Grammar) (generate.Constraint, error) {
	l.gvocab.once.Do(func() { l.gvocab.v, l.gvocab.err = grammar.NewVocab(l.Tok) })
	if l.gvocab.err != nil {
		return nil, &Error{Kind: KindServer, Msg: "grammar vocabulary: " + l.gvocab.err.Error()}
	}
	return grammar.NewMatcher(g, l.gvocab.v), nil
}

// fitMaxTokens bounds r's grammar to the tokens it may generate: its
// max_tokens, and room, what the context leaves after the prompt (the
// grammar's token budget). Near the limit only tokens after which the
// output can still be completed are allowed, so a forced call or a
// schema's JSON ends complete rather than cut off, whatever the model.
// Loaded.Generate calls it once the prompt is known, for each generation
// (each has a fresh matcher).
func fitMaxTokens(r *generate.Request, room int) {
	m, ok := r.Options.Constraint.(*grammar.Matcher)
	if !ok {
		return
	}
	if r.Options.MaxTokens > 0 {
		room = min(room, r.Options.MaxTokens)
	}
	m.SetBudget(max(room, 1))
}

// responseFormat is OpenAI's response_format.
type responseFormat struct {
	Type       string `json:"type"`
	JSONSchema *struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Schema      json.RawMessage `json:"schema"`
		Strict      *bool           `json:"strict"`
	} `json:"json_schema"`
}

// schemaOptions: objects without additionalProperties get no undeclared
// members (llama.cpp's reading, and what OpenAI's strict mode demands
// anyway); the output still conforms to the schema.
var schemaOptions = grammar.SchemaOptions{ClosedObjects: true}

// compileResponseFormat compiles a response_format into a grammar; nil for
// {"type": "text"} or an absent field. Errors are 400s naming the field,
// with the schema's own error (keyword and JSON pointer) when it is the
// schema that cannot be enforced.
func compileResponseFormat(raw json.RawMessage) (*grammar.Grammar, error) {
	if !isSet(raw) {
		return nil, nil
	}
	var f responseFormat
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, Errorf(KindBadRequest, "response_format", "response_format: %v", err)
	}
	switch f.Type {
	case "text":
		return nil, nil
	case "json_object":
		return compileRules(grammar.JSONObject(), "response_format")
	case "json_schema":
		js := f.JSONSchema
		if js == nil {
			return nil, Errorf(KindBadRequest, "response_format.json_schema", "response_format: type json_schema needs json_schema")
		}
		if js.Name == "" {
			return nil, Errorf(KindBadRequest, "response_format.json_schema.name", "response_format.json_schema.name is required")
		}
		if !isSet(js.Schema) {
			return compileRules(grammar.JSONValue(), "response_format.json_schema.schema")
		}
		r, err := grammar.FromJSONSchemaOptions(js.Schema, schemaOptions)
		if err != nil {
			return nil, schemaError("response_format.json_schema.schema", err)
		}
		return compileRules(r, "response_format.json_schema.schema")
	case "":
		return nil, Errorf(KindBadRequest, "response_format.type", "response_format.type is required (text, json_object or json_schema)")
	}
	return nil, Errorf(KindBadRequest, "response_format.type", "response_format.type %q is not one of text, json_object, json_schema", f.Type)
}

// compileOllamaFormat compiles Ollama's format: "json" (one JSON object) or
// a JSON schema; nil for an absent or empty one.
func compileOllamaFormat(raw json.RawMessage) (*grammar.Grammar, error) {
	t := bytes.TrimSpace(raw)
	if !isSet(raw) || string(t) == `""` {
		return nil, nil
	}
	if t[0] == '"' {
		var s string
		if err := json.Unmarshal(t, &s); err != nil || s != "json" {
			return nil, Errorf(KindBadRequest, "format", `format must be "json" or a JSON schema object, not %s`, t)
		}
		return compileRules(grammar.JSONObject(), "format")
	}
	if t[0] != '{' {
		return nil, Errorf(KindBadRequest, "format", `format must be "json" or a JSON schema object, not %s`, t)
	}
	r, err := grammar.FromJSONSchemaOptions(t, schemaOptions)
	if err != nil {
		return nil, schemaError("format", err)
	}
	return compileRules(r, "format")
}

func compileRules(r *grammar.Rules, param string) (*grammar.Grammar, error) {
	g, err := grammar.Compile(r, "root")
	if err != nil {
		return nil, schemaError(param, err)
	}
	return g, nil
}

// schemaError is a 400 for a schema gptgo cannot enforce: unsupported
// keywords are KindNotSupported (never silently ignored), the rest bad
// requests; the message names the keyword and its JSON pointer.
func schemaError(param string, err error) error {
	var se *grammar.SchemaError
	if errors.As(err, &se) && se.Msg == "keyword not supported" {
		return Errorf(KindNotSupported, param, "%s: %v", param, err)
	}
	return Errorf(KindBadRequest, param, "%s: %v", param, err)
}

// structured is what a chat request's response_format and tools ask of
// each of its choices.
type structured struct {
	g     *grammar.Grammar // response_format's, or the tools' (tools.grammar)
	tools *toolPlan        // nil without tools
}

// structured reads response_format and tools for the model l and hands the
// tools to r's chat template; nil when the request asks for neither.
func (c *chatRequest) structured(l *Loaded, r *generate.Request) (*structured, error) {
	g, err := compileResponseFormat(c.ResponseFormat)
	if err != nil {
		return nil, err
	}
	ext, err := c.grammarExtensions.compile()
	if err != nil {
		return nil, err
	}
	if ext != nil {
		if g != nil {
			return nil, Errorf(KindBadRequest, "grammar", "grammar or json_schema together with response_format: send one")
		}
		g = ext
	}
	tmpl := ""
	if l.Template != nil {
		tmpl = l.Template.Source()
	}
	plan, err := planTools(c.Tools, c.ToolChoice, c.ParallelToolCalls, tmpl)
	if err != nil {
		return nil, err
	}
	if plan != nil {
		if g != nil && plan.active() {
			return nil, Errorf(KindNotSupported, "response_format", "response_format together with tools is not supported (use tool_choice none, or drop response_format)")
		}
		r.Tools = plan.tools
		if g == nil {
			g = plan.grammar
		}
	}
	if g == nil && plan == nil {
		return nil, nil
	}
	return &structured{g: g, tools: plan}, nil
}

// constraint is a fresh matcher for one choice (nil: unconstrained).
func (s *structured) constraint(l *Loaded) (generate.Constraint, error) {
	if s == nil || s.g == nil {
		return nil, nil
	}
	return l.constraint(s.g)
}

// answer reads a finished choice: its content, its calls (with tools) and
// its finish_reason (tool_calls when it called).
func (s *structured) answer(d *generate.Done) (string, []toolCallOut, string) {
	fr := finishReason(d.Stop)
	if s == nil || !s.tools.active() {
		return d.Text, nil, fr
	}
	content, calls := s.tools.answer(d.Text)
	if len(calls) > 0 {
		fr = "tool_calls"
	}
	return content, calls, fr
}

// streamer holds back one choice's streamed text that may be a call.
func (s *structured) streamer() *toolText {
	if s == nil {
		return &toolText{}
	}
	return &toolText{plan: s.tools}
}

// formatConstraint is a fresh matcher for Ollama's format (nil for none).
func (l *Loaded) formatConstraint(format json.RawMessage) (generate.Constraint, error) {
	g, err := compileOllamaFormat(format)
	if err != nil || g == nil {
		return nil, err
	}
	return l.constraint(g)
}

// grammarExtensions are llama.cpp server's constraint fields, accepted on
// both OpenAI endpoints: a GBNF grammar, or a JSON schema given directly.
type grammarExtensions struct {
	Grammar    string          `json:"grammar"`     // llama.cpp GBNF, start rule root
	JSONSchema json.RawMessage `json:"json_schema"` // a JSON schema (llama.cpp's field)
}

// compile returns the grammar the fields ask for; nil for neither.
func (x *grammarExtensions) compile() (*grammar.Grammar, error) {
	hasSchema := isSet(x.JSONSchema)
	switch {
	case x.Grammar != "" && hasSchema:
		return nil, Errorf(KindBadRequest, "grammar", "grammar and json_schema cannot be used together")
	case x.Grammar != "":
		g, err := grammar.CompileGBNF(x.Grammar)
		if err != nil {
			return nil, Errorf(KindBadRequest, "grammar", "grammar: %v", err)
		}
		return g, nil
	case hasSchema:
		r, err := grammar.FromJSONSchemaOptions(x.JSONSchema, schemaOptions)
		if err != nil {
			return nil, schemaError("json_schema", err)
		}
		return compileRules(r, "json_schema")
	}
	return nil, nil
}
