package agent

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// TestLocalModelGrammar runs the embedded default model (a tiny model
// with no tool format) through the ReAct grammar: whatever it writes, each
// answer is a Final Answer or a call of a real tool with arguments that
// fit its schema. Its quality is not under test.
func TestLocalModelGrammar(t *testing.T) {
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
	st, err := m.NewState(model.Options{Ctx: 256})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tmpl, err := chat.FromGGUF(m.File())
	if err != nil {
		t.Fatal(err)
	}
	opts := generate.Options{MaxTokens: 64, TruncatePrompt: true} // the model's context is 256 tokens
	opts.Sampler.Temperature = 0
	lm := &LocalModel{Session: generate.NewSession(st, generate.FromTokenizer(tok)), Tok: tok, Template: tmpl, Options: opts}
	a := &Agent{Model: lm, Tools: basicTools(t), Limits: Limits{Steps: 3}, Trace: func(string) {}}
	res, err := a.Run(context.Background(), "What is 12*7? Use the calculator.")
	if err != nil && !errors.Is(err, ErrLimit) {
		t.Fatal(err)
	}
	for _, msg := range res.Messages {
		if msg.Role == "tool" && strings.Contains(msg.Content, "could not be read") && !strings.Contains(msg.Content, "unexpected EOF") /* cut by the token budget */ {
			t.Errorf("a call escaped the grammar: %s", msg.Content)
		}
		for _, c := range msg.Calls {
			if c.Name != "" && c.Name != "calculator" && c.Name != "time" {
				t.Errorf("call of %q", c.Name)
			}
		}
	}
	t.Logf("%d steps; answer %q", res.Steps, res.Answer)
}
