// Reference: issue #24 (continuous batching is `gptgo serve`'s default; --batch-scheduler=false restores
// the sessions) and Lester et al. 2021 §2 (a prompt-tuning adapter's virtual tokens before every prompt).

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
)

// metricValue reads one sample of the server's /metrics (0 when absent:
// a counter nobody has touched is not exported).
func metricValue(t *testing.T, url, sample string) float64 {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("/metrics: %s: %v", sc.Text(), err)
			}
			return f
		}
	}
	return 0
}

// complete posts a greedy completion of prompt and returns its text.
func complete(t *testing.T, url, prompt string, maxTokens int) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"model": "default", "prompt": prompt, "max_tokens": maxTokens, "temperature": 0})
	resp, err := http.Post(url+"/v1/completions", "application/json", strings.NewReader(string(body)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r struct {
		Choices []struct{ Text string } `json:"choices"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil || resp.StatusCode != 200 || len(r.Choices) != 1 {
		t.Fatalf("completion: status %d, %+v, %v", resp.StatusCode, r, err)
	}
	return r.Choices[0].Text
}

// cachedSample is the prefix cache's counter for the embedded model: only
// the batch scheduler finds prompt blocks in it.
const cachedSample = `gptgo_prompt_cached_tokens_total{model="default:latest"}`

// TestServeBatchesByDefault: `gptgo serve` with no flag runs the batch
// scheduler (a repeated prompt of several blocks is found in its prefix
// cache: the cached-token counter moves), and --batch-scheduler=false
// serves with sessions (the same requests leave it at 0); the scheduler's
// own flags are refused without it.
func TestServeBatchesByDefault(t *testing.T) {
	const prompt = "The quick brown fox jumps over the lazy dog while the farmer watches from the old wooden fence near the barn."
	url, _, _, _, _ := startServe(t)
	first := complete(t, url, prompt, 4)
	if again := complete(t, url, prompt, 4); again != first {
		t.Fatalf("the same greedy request twice: %q then %q", first, again)
	}
	if n := metricValue(t, url, cachedSample); n < float64(model.DefaultBlockTokens) {
		t.Fatalf("default serve: %s = %v after a repeated prompt, want at least a block (%d): not batched?", cachedSample, n, model.DefaultBlockTokens)
	}

	url, _, _, _, _ = startServe(t, "--batch-scheduler=false")
	if got := complete(t, url, prompt, 4); got != first {
		t.Fatalf("sessions: %q, the batch scheduler: %q", got, first)
	}
	complete(t, url, prompt, 4)
	if n := metricValue(t, url, cachedSample); n != 0 {
		t.Fatalf("--batch-scheduler=false: %s = %v, want 0", cachedSample, n)
	}

	for _, tc := range [][]string{{"--max-queue", "4"}, {"--step-tokens", "64"}} {
		_, stderr, code := runCLI(t, "", append([]string{"serve", "--models", t.TempDir(), "--batch-scheduler=false"}, tc...)...)
		if code == 0 || !strings.Contains(stderr, tc[0]) || !strings.Contains(stderr, "--batch-scheduler=false") {
			t.Errorf("serve --batch-scheduler=false %s: exit %d, %q", strings.Join(tc, " "), code, stderr)
		}
	}
}

// TestServePromptTuningDefault: a model served with a prompt-tuning
// adapter through `gptgo serve --lora`, no other flag, answers as a
// session of the model with the adapter (its virtual tokens in front of
// the prompt), batched.
func TestServePromptTuningDefault(t *testing.T) {
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	const P = 6
	rng := rand.New(rand.NewPCG(1, 2))
	x := make([]float32, P*m.Embd)
	for i := range x {
		x[i] = float32(rng.NormFloat64())
	}
	pt, err := tensor.FromFloat32(model.PromptTuningName, x, m.Embd, P)
	if err != nil {
		t.Fatal(err)
	}
	ad := &model.Adapter{Arch: m.Arch, Prompt: pt}
	path := filepath.Join(t.TempDir(), "prompt.gguf")
	if err := ad.WriteFile(path); err != nil {
		t.Fatal(err)
	}
	am, err := m.WithAdapters(model.ScaledAdapter{Adapter: ad, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer am.Close()
	st, err := am.NewState(model.Options{Ctx: 128, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The default model's continuation of this prompt changes with these
	// virtual tokens (server.TestServePromptAdapter), so an adapter left out
	// shows.
	const prompt = "Once upon a time there"
	want, err := generate.NewSession(st, generate.FromTokenizer(tok)).Generate(context.Background(),
		tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true}), generate.Options{MaxTokens: 6}, nil)
	if err != nil {
		t.Fatal(err)
	}

	url, _, _, _, _ := startServe(t, "--ctx", "128", "--lora", "default="+path)
	if got := complete(t, url, prompt, 6); got != want.Text || got == "" {
		t.Fatalf("served with the prompt-tuning adapter: %q, a session of the model with it: %q", got, want.Text)
	}
	plainURL, _, _, _, _ := startServe(t, "--ctx", "128")
	if plain := complete(t, plainURL, prompt, 6); plain == want.Text {
		t.Fatalf("the adapter changed nothing: %q", plain)
	}
}
