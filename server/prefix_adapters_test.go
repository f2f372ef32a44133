// Reference: Li and Liang 2021 §4 (the prefix's keys and values in front of every input, in every layer); the
// OpenAI completions API.

package server

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
)

// TestServePrefixAdapter: a model served with a prefix-tuning adapter
// answers a completion as a session of that model answers the same tokens
// (the virtual tokens in front, their keys and values from the adapter),
// which differs from the model without it; the batch scheduler refuses the
// adapter at load.
func TestServePrefixAdapter(t *testing.T) {
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	const P = 5
	rng := rand.New(rand.NewPCG(3, 4))
	ad := &model.Adapter{Arch: m.Arch}
	for i := range m.Layers {
		for j, name := range []string{model.PrefixKName(i), model.PrefixVName(i)} {
			x := make([]float32, P*m.KVDim())
			for k := range x {
				x[k] = float32(rng.NormFloat64())
			}
			tt, err := tensor.FromFloat32(name, x, m.KVDim(), P)
			if err != nil {
				t.Fatal(err)
			}
			if j == 0 {
				ad.PrefixK = append(ad.PrefixK, tt)
			} else {
				ad.PrefixV = append(ad.PrefixV, tt)
			}
		}
	}
	sa := model.ScaledAdapter{Adapter: ad, Scale: 1}
	am, err := m.WithAdapters(sa)
	if err != nil {
		t.Fatal(err)
	}
	// The chat-tuned default continues "Once upon a time" with ", the day of
	// the day" with or without these random virtual tokens; its continuation of
	// this prompt changes with them, so an adapter that is applied shows.
	const prompt = "Once upon a time there"
	ids := tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	st, err := am.NewState(model.Options{Ctx: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want, err := generate.NewSession(st, generate.FromTokenizer(tok)).Generate(context.Background(), ids,
		generate.Options{MaxTokens: 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	body := `{"model":"default","prompt":"` + prompt + `","max_tokens":6,"temperature":0}`
	complete := func(cfg Config) string {
		_, url := startServer(t, cfg)
		status, b := post(t, url+"/v1/completions", body)
		if status != 200 {
			t.Fatalf("completion: %d %s", status, b)
		}
		var r struct {
			Choices []struct{ Text string } `json:"choices"`
		}
		if err := json.Unmarshal(b, &r); err != nil || len(r.Choices) != 1 {
			t.Fatalf("completion %s: %v", b, err)
		}
		return r.Choices[0].Text
	}
	adapters := Adapters{modelstore.DefaultModel: {sa}}
	got := complete(Config{Ctx: 64, Adapters: adapters})
	if got != want.Text || want.Text == "" {
		t.Fatalf("served with the adapter: %q, the session: %q", got, want.Text)
	}
	if plain := complete(Config{Ctx: 64}); plain == got {
		t.Fatalf("the adapter changed nothing: %q", plain)
	}
	_, url := startServer(t, Config{Ctx: 64, Adapters: adapters, BatchScheduler: true})
	if status, b := post(t, url+"/v1/completions", body); status == 200 || !strings.Contains(string(b), "batch scheduler") {
		t.Fatalf("batch scheduler with a prefix adapter: %d %s", status, b)
	}
}
