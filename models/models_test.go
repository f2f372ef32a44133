package models

import (
	"testing"

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
