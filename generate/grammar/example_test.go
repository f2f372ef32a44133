package grammar_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// A Matcher is a generate.Constraint.
var _ generate.Constraint = (*grammar.Matcher)(nil)

func Example() {
	g, err := grammar.CompileJSONSchema([]byte(`{"type":"object","properties":{"ok":{"type":"boolean"}},"required":["ok"],"additionalProperties":false}`))
	if err != nil {
		panic(err)
	}
	m := grammar.NewMatcher(g, nil) // a vocabulary is needed only for token masks
	fmt.Println(m.AcceptBytes([]byte(`{"ok": tr`)), m.Accepting())
	fmt.Println(m.AcceptBytes([]byte(`ue}`)), m.Accepting())
	fmt.Println(m.AcceptBytes([]byte(`,`)))
	// Output:
	// <nil> false
	// <nil> true
	// grammar: "," cannot continue the output at byte 0 (',')
}

// TestSessionWithSchema runs the whole path: the embedded default model
// generates under a schema through generate.Session, sampled at a high
// temperature; the text parses and has the required members.
func TestSessionWithSchema(t *testing.T) {
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.FromGGUF(m.File())
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Ctx: 256, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	g, err := grammar.CompileJSONSchema([]byte(`{"type":"object","properties":{"hero":{"type":"string","maxLength":8},"happy":{"type":"boolean"}},"required":["hero","happy"],"additionalProperties":false}`))
	if err != nil {
		t.Fatal(err)
	}
	v, err := grammar.NewVocab(tok)
	if err != nil {
		t.Fatal(err)
	}
	sess := generate.NewSession(st, generate.FromTokenizer(tok))
	prompt := tok.Encode("Once upon a time", tokenizer.EncodeOptions{AddSpecial: true})
	for seed := range uint64(4) {
		o := generate.Options{Sampler: generate.SamplerOptions{Temperature: 1.5, Seed: seed}, MaxTokens: 120, Constraint: grammar.NewMatcher(g, v)}
		r, err := sess.Generate(context.Background(), prompt, o, nil)
		if err != nil {
			t.Fatal(err)
		}
		if r.Stop == generate.StopMaxTokens {
			continue
		}
		var x struct {
			Hero  *string
			Happy *bool
		}
		if err := json.Unmarshal([]byte(r.Text), &x); err != nil || x.Hero == nil || x.Happy == nil {
			t.Errorf("seed %d: %q: %v", seed, r.Text, err)
		}
	}
}
