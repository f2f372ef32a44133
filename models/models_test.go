package models

import (
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// TestDefaultLoads: the embedded file is a LLaMA model with its tokenizer
// and chat template, small enough to embed (the limit is 30 MB),
// and it runs: a prompt's logits are finite.
func TestDefaultLoads(t *testing.T) {
	if n := DefaultSize(); n == 0 || n > 30<<20 {
		t.Fatalf("embedded default model is %d bytes", n)
	}
	f, err := OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if m.Config.Arch != "llama" {
		t.Errorf("arch %q, want llama", m.Config.Arch)
	}
	if tmpl, ok := f.String("tokenizer.chat_template"); !ok || tmpl == "" {
		t.Error("no chat template")
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode("The king said", tokenizer.EncodeOptions{AddSpecial: true})
	st, err := m.NewState(model.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	rows := 0
	err = st.ForwardAll(ids, func(i int, logits []float32) error {
		rows++
		if len(logits) != m.Config.Vocab {
			t.Fatalf("position %d: %d logits for a vocabulary of %d", i, len(logits), m.Config.Vocab)
		}
		for j, x := range logits {
			if x != x || x > 1e6 || x < -1e6 {
				t.Fatalf("position %d: logit %d is %v", i, j, x)
			}
		}
		return nil
	})
	if err != nil || rows != len(ids) {
		t.Fatalf("%d rows of logits for %d tokens: %v", rows, len(ids), err)
	}
}

// TestBaseAndLookup: the base model is embedded beside the default, and the
// names commands take select each of them (and nothing else).
func TestBaseAndLookup(t *testing.T) {
	if n := BaseSize(); n == 0 || n > 30<<20 {
		t.Fatalf("embedded base model is %d bytes", n)
	}
	f, err := OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	for name, want := range map[string]int{"default": DefaultSize(), "default:latest": DefaultSize(), "default-base": BaseSize(), "default-base:latest": BaseSize()} {
		open, ok := Lookup(name)
		if !ok {
			t.Errorf("Lookup(%q): not found", name)
			continue
		}
		f, err := open()
		if err != nil {
			t.Fatal(err)
		}
		if len(f.Bytes()) != want {
			t.Errorf("Lookup(%q) opened %d bytes, want %d", name, len(f.Bytes()), want)
		}
		f.Close()
	}
	for _, name := range []string{"", "default-bas", "default:v2", "models/default.gguf", "base"} {
		if _, ok := Lookup(name); ok {
			t.Errorf("Lookup(%q) found an embedded model", name)
		}
	}
}

// TestDefaultIsChatTuned: the default model talks ChatML and ends its
// turns (<|im_end|> is an end-of-generation token), with a context of at
// least 1,024 tokens; the base keeps its own 256-token context.
func TestDefaultIsChatTuned(t *testing.T) {
	for _, c := range []struct {
		name   string
		open   func() (*gguf.File, error)
		minCtx uint64
		chatML bool
	}{{"default", OpenDefault, 1024, true}, {"default-base", OpenBase, 256, false}} {
		f, err := c.open()
		if err != nil {
			t.Fatal(err)
		}
		ctx, _ := f.Uint("llama.context_length")
		tmpl, _ := f.String("tokenizer.chat_template")
		tok, err := tokenizer.FromGGUF(f)
		if err != nil {
			t.Fatal(err)
		}
		f.Close()
		if ctx < c.minCtx {
			t.Errorf("%s: context %d, want at least %d", c.name, ctx, c.minCtx)
		}
		if got := strings.Contains(tmpl, "<|im_start|>"); got != c.chatML {
			t.Errorf("%s: ChatML template %v, want %v: %q", c.name, got, c.chatML, tmpl)
		}
		if id, ok := tok.TokenID("<|im_end|>"); !ok || !tok.IsEOG(id) {
			t.Errorf("%s: <|im_end|> (%d, %v) does not end generation", c.name, id, ok)
		}
	}
}
