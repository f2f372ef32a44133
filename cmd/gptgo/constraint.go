// Reference: llama.cpp common/arg.cpp (--grammar-file, --json-schema) and docs/tools.md (what the
// schema and grammar support covers).

package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// constraintFlags are run's --json-schema, --grammar-file, --tools and
// --tool-choice.
type constraintFlags struct {
	schema     *string
	grammar    *string
	toolsFile  *string
	toolChoice *string
	g          *grammar.Grammar
	tools      []grammar.Tool
	format     grammar.ToolFormat // of the model's chat template, with --tools
}

func addConstraintFlags(fs *flag.FlagSet) *constraintFlags {
	return &constraintFlags{
		schema:     fs.String("json-schema", "", "constrain the output to JSON valid under the JSON Schema in `FILE` (see docs/tools.md)"),
		grammar:    fs.String("grammar-file", "", "constrain the output to the llama.cpp GBNF grammar in `FILE` (start rule: root)"),
		toolsFile:  fs.String("tools", "", "let the model call the functions in `FILE` (a JSON array of OpenAI tools or of {name, parameters}); prints the text, then each call as a JSON line"),
		toolChoice: fs.String("tool-choice", "required", "with --tools: required (a call is forced), auto (text or a call), or a function's name"),
	}
}

// compile reads and compiles the schema or grammar named by the flags,
// before any model is loaded, so that a bad file fails fast; nil when
// neither flag is set.
func (c *constraintFlags) compile() error {
	n := 0
	for _, f := range []string{*c.schema, *c.grammar, *c.toolsFile} {
		if f != "" {
			n++
		}
	}
	if n > 1 {
		return errors.New("--json-schema, --grammar-file and --tools cannot be used together")
	}
	var err error
	switch {
	case *c.schema != "":
		var b []byte
		if b, err = os.ReadFile(*c.schema); err == nil {
			c.g, err = grammar.CompileJSONSchema(b)
		}
		if err != nil {
			return fmt.Errorf("--json-schema %s: %w", *c.schema, err)
		}
	case *c.grammar != "":
		var b []byte
		if b, err = os.ReadFile(*c.grammar); err == nil {
			c.g, err = grammar.CompileGBNF(string(b))
		}
		if err != nil {
			return fmt.Errorf("--grammar-file %s: %w", *c.grammar, err)
		}
	case *c.toolsFile != "":
		b, err := os.ReadFile(*c.toolsFile)
		if err == nil {
			c.tools, err = readTools(b)
		}
		if err == nil {
			// Checked now against the plain JSON format, so that a bad
			// schema fails before the model loads.
			_, err = c.toolGrammar(grammar.ToolsJSON)
		}
		if err != nil {
			return fmt.Errorf("--tools %s: %w", *c.toolsFile, err)
		}
	}
	return nil
}

// readTools reads a JSON array of OpenAI tools ({"type": "function",
// "function": {name, parameters}}) or of bare functions.
func readTools(b []byte) ([]grammar.Tool, error) {
	var list []struct {
		Type     string
		Function *struct {
			Name       string
			Parameters json.RawMessage
		}
		Name       string
		Parameters json.RawMessage
	}
	if err := json.Unmarshal(b, &list); err != nil {
		return nil, fmt.Errorf("not a JSON array of tools: %w", err)
	}
	var tools []grammar.Tool
	for i, t := range list {
		if t.Function != nil {
			t.Name, t.Parameters = t.Function.Name, t.Function.Parameters
		}
		if t.Name == "" {
			return nil, fmt.Errorf("tool %d has no name", i)
		}
		tools = append(tools, grammar.Tool{Name: t.Name, Parameters: t.Parameters})
	}
	return tools, nil
}

// toolGrammar compiles the tools for format f under --tool-choice.
func (c *constraintFlags) toolGrammar(f grammar.ToolFormat) (*grammar.Grammar, error) {
	tools, o := c.tools, grammar.ToolOptions{Parallel: true}
	switch choice := *c.toolChoice; choice {
	case "required":
	case "auto":
		o.Auto = true
	default:
		tools = nil
		for _, t := range c.tools {
			if t.Name == choice {
				tools = append(tools, t)
			}
		}
		if tools == nil {
			return nil, fmt.Errorf("--tool-choice %q is not required, auto or one of the tools", choice)
		}
	}
	r, err := grammar.ToolCallRules(tools, f, o)
	if err != nil {
		return nil, err
	}
	return grammar.Compile(r, "root")
}

// constraint returns a fresh matcher over tok's vocabulary, or nil. With
// --tools the call format is the one the model's chat template (in f)
// uses, plain JSON when it has none.
func (c *constraintFlags) constraint(tok *tokenizer.Tokenizer, f *gguf.File) (generate.Constraint, error) {
	if c.tools != nil {
		if tmpl, err := chat.FromGGUF(f); err == nil && !tmpl.Fallback() {
			c.format = grammar.DetectToolFormat(tmpl.Source())
		}
		var err error
		if c.g, err = c.toolGrammar(c.format); err != nil {
			return nil, fmt.Errorf("--tools %s: %w", *c.toolsFile, err)
		}
	}
	if c.g == nil {
		return nil, nil
	}
	v, err := grammar.NewVocab(tok)
	if err != nil {
		return nil, err
	}
	return grammar.NewMatcher(c.g, v), nil
}

// printCalls writes an answer under --tools: its text, then each call as a
// JSON line {"name": …, "arguments": {…}}.
func (c *constraintFlags) printCalls(w io.Writer, text string) error {
	content, calls, err := grammar.ParseToolCalls(text, c.format)
	if err != nil {
		return fmt.Errorf("reading the calls in %q: %w", text, err)
	}
	if content != "" {
		fmt.Fprintln(w, content)
	}
	for _, call := range calls {
		name, _ := json.Marshal(call.Name)
		fmt.Fprintf(w, "{\"name\": %s, \"arguments\": %s}\n", name, call.Arguments)
	}
	return nil
}
