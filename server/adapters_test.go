// Reference: Lester et al. 2021 §2 (the learned prompt in front of every input); the OpenAI completions API.

package server

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
)

// defaultPrompt returns a prompt-tuning adapter of P random virtual
// tokens for the embedded default model, and that model running it.
func defaultPrompt(t *testing.T, P int) (model.ScaledAdapter, *model.Model, *tokenizer.Tokenizer) {
	t.Helper()
	m, tok := defaultModel(t)
	t.Cleanup(func() { m.Close() })
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, P*m.Embd)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	pt, err := tensor.FromFloat32(model.PromptTuningName, x, m.Embd, P)
	if err != nil {
		t.Fatal(err)
	}
	ad := model.ScaledAdapter{Adapter: &model.Adapter{Arch: m.Arch, Prompt: pt}, Scale: 1}
	am, err := m.WithAdapters(ad)
	if err != nil {
		t.Fatal(err)
	}
	return ad, am, tok
}

// TestServePromptAdapter: a model served with a prompt-tuning adapter
// answers a completion as a session of that model answers the same
// tokens (the virtual tokens in front), which differs from the model
// without it; the batch scheduler answers the same.
func TestServePromptAdapter(t *testing.T) {
	ad, am, tok := defaultPrompt(t, 6)
	checkServedAdapter(t, ad, am, tok, "prompt-tuning")
}

// checkServedAdapter: a completion served with adapter ad (of the given
// kind: LoRA, prompt or prefix tuning) on the default model equals a
// session of am, the default model with ad applied, and differs from the
// default model's own; the batch scheduler, which puts any virtual tokens
// in front of the prompt itself, answers the same.
func checkServedAdapter(t *testing.T, ad model.ScaledAdapter, am *model.Model, tok *tokenizer.Tokenizer, kind string) {
	t.Helper()
	// The chat-tuned default continues "Once upon a time" with ", the day of
	// the day" with or without random virtual tokens; its continuation of
	// this prompt changes with the tests' adapters, so one that is applied
	// shows.
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
	type answer struct {
		text   string
		cached int // usage.prompt_tokens_details.cached_tokens
	}
	complete := func(url, prompt string) answer {
		body := `{"model":"default","prompt":"` + prompt + `","max_tokens":6,"temperature":0}`
		status, b := post(t, url+"/v1/completions", body)
		if status != 200 {
			t.Fatalf("completion: %d %s", status, b)
		}
		var r struct {
			Choices []struct{ Text string } `json:"choices"`
			Usage   struct {
				Details struct {
					Cached int `json:"cached_tokens"`
				} `json:"prompt_tokens_details"`
			} `json:"usage"`
		}
		if err := json.Unmarshal(b, &r); err != nil || len(r.Choices) != 1 {
			t.Fatalf("completion %s: %v", b, err)
		}
		return answer{r.Choices[0].Text, r.Usage.Details.Cached}
	}
	adapters := Adapters{modelstore.DefaultModel: {ad}}
	_, url := startServer(t, Config{Ctx: 64, Adapters: adapters, BatchScheduler: false})
	got := complete(url, prompt).text
	if got != want.Text || want.Text == "" {
		t.Fatalf("served with the adapter: %q, the session: %q", got, want.Text)
	}
	if _, url := startServer(t, Config{Ctx: 64}); complete(url, prompt).text == got {
		t.Fatalf("the adapter changed nothing: %q", got)
	}

	// The batch scheduler puts the virtual tokens in front itself: the same
	// answer, and a prompt of several blocks asked again finds its blocks,
	// virtual tokens included, in the prefix cache and answers the same.
	_, url = startServer(t, Config{Ctx: 64, Adapters: adapters, BatchScheduler: true})
	if batched := complete(url, prompt).text; batched != want.Text {
		t.Fatalf("the batch scheduler with the %s adapter: %q, the session: %q", kind, batched, want.Text)
	}
	long := prompt + " was a little girl who lived in a small house by the sea with her mother and father"
	st.Reset()
	wantLong, err := generate.NewSession(st, generate.FromTokenizer(tok)).Generate(context.Background(),
		tok.Encode(long, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}), generate.Options{MaxTokens: 6}, nil)
	if err != nil {
		t.Fatal(err)
	}
	first, again := complete(url, long), complete(url, long)
	P := am.VirtualTokens()
	if first.text != wantLong.Text || again.text != wantLong.Text {
		t.Fatalf("a long prompt, batched: %q then %q; the session: %q", first.text, again.text, wantLong.Text)
	}
	if again.cached < model.DefaultBlockTokens-P || (again.cached+P)%model.DefaultBlockTokens != 0 {
		t.Fatalf("asked again, %d prompt tokens came from the prefix cache: want whole %d-token blocks less the %d virtual tokens", again.cached, model.DefaultBlockTokens, P)
	}
}
