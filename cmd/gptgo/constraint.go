// Reference: llama.cpp common/arg.cpp (--grammar-file, --json-schema) and docs/tools.md (what the
// schema and grammar support covers).

package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/tokenizer"
)

// constraintFlags are run's --json-schema and --grammar-file.
type constraintFlags struct {
	schema  *string
	grammar *string
	g       *grammar.Grammar
}

func addConstraintFlags(fs *flag.FlagSet) *constraintFlags {
	return &constraintFlags{
		schema:  fs.String("json-schema", "", "constrain the output to JSON valid under the JSON Schema in `FILE` (see docs/tools.md)"),
		grammar: fs.String("grammar-file", "", "constrain the output to the llama.cpp GBNF grammar in `FILE` (start rule: root)"),
	}
}

// compile reads and compiles the schema or grammar named by the flags,
// before any model is loaded, so that a bad file fails fast; nil when
// neither flag is set.
func (c *constraintFlags) compile() error {
	if *c.schema != "" && *c.grammar != "" {
		return errors.New("--json-schema and --grammar-file cannot be used together")
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
	}
	return nil
}

// constraint returns a fresh matcher over tok's vocabulary, or nil.
func (c *constraintFlags) constraint(tok *tokenizer.Tokenizer) (generate.Constraint, error) {
	if c.g == nil {
		return nil, nil
	}
	v, err := grammar.NewVocab(tok)
	if err != nil {
		return nil, err
	}
	return grammar.NewMatcher(c.g, v), nil
}
