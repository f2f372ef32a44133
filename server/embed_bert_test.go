// Reference: ../shared/reference/README.md ("BERT embedding models"): llama-embedding's vectors for
// tiny-bert-{f32,f16,q8_0}.gguf, which /v1/embeddings must reproduce for a bert GGUF in the models
// directory; llama.cpp's server refuses completions on an embedding model.

package server

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"math"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/modelstore"
)

type bertRefLine struct {
	Text      string    `json:"text"`
	Tokens    []int64   `json:"tokens"`
	Embedding []float64 `json:"embedding"`
}

// bertModelsDir copies the tiny-bert reference files into a fresh models
// directory (the store takes any GGUF dropped in; the copies live in the
// test's temporary directory) and returns it with the reference outputs.
func bertModelsDir(t *testing.T, kinds ...string) (string, map[string][]bertRefLine) {
	t.Helper()
	dir := t.TempDir()
	refs := map[string][]bertRefLine{}
	for _, kind := range kinds {
		b, err := os.ReadFile(testkit.Shared(t, "reference", "models", "tiny-bert-"+kind+".gguf"))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "tiny-bert-"+kind+".gguf"), b, 0o644); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(testkit.Shared(t, "reference", "outputs", "tiny-bert-"+kind+".jsonl"))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			var r bertRefLine
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatal(err)
			}
			refs[kind] = append(refs[kind], r)
		}
		f.Close()
	}
	return dir, refs
}

// newBertServer serves dir with the models' own context (tiny-bert's 512,
// which its 294-token text needs) and parallel states per model (0: 1).
func newBertServer(t *testing.T, dir string, parallel ...int) *httptest.Server {
	t.Helper()
	store, err := modelstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Models: store, Threads: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if len(parallel) > 0 {
		cfg.Parallel = parallel[0]
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return ts
}

func cosineF(a, b []float64) float64 {
	var ab, aa, bb float64
	for i := range a {
		ab, aa, bb = ab+a[i]*b[i], aa+a[i]*a[i], bb+b[i]*b[i]
	}
	return ab / math.Sqrt(aa*bb)
}

// TestBertEmbeddingsMatchLlamaCpp sends every reference text in one
// /v1/embeddings request (through the official OpenAI client) to each
// tiny-bert model: cosine ≥ 0.9999 with llama-embedding's vectors, usage
// counting llama.cpp's tokens. The same request with llama.cpp's token ids
// as input must give the very same vectors, so the server's tokens are
// llama.cpp's. /api/embed gives the /v1 vectors.
func TestBertEmbeddingsMatchLlamaCpp(t *testing.T) {
	kinds := []string{"f32", "f16", "q8_0"}
	dir, refs := bertModelsDir(t, kinds...)
	ts := newBertServer(t, dir)
	c := embedClient(ts)
	ctx := context.Background()
	for _, kind := range kinds {
		name := "tiny-bert-" + kind
		var texts []string
		var ids [][]int64
		tokens := 0
		for _, r := range refs[kind] {
			texts = append(texts, r.Text)
			ids = append(ids, r.Tokens)
			tokens += len(r.Tokens)
		}
		byText, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: name, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		byIDs, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: name, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: ids}})
		if err != nil {
			t.Fatalf("%s token input: %v", name, err)
		}
		if len(byText.Data) != len(texts) || len(byIDs.Data) != len(texts) || byText.Usage.PromptTokens != int64(tokens) {
			t.Fatalf("%s: %d and %d vectors for %d texts, usage %d tokens (llama.cpp %d)", name, len(byText.Data), len(byIDs.Data), len(texts), byText.Usage.PromptTokens, tokens)
		}
		worst := 1.0
		for i, d := range byText.Data {
			cos := cosineF(d.Embedding, refs[kind][i].Embedding)
			worst = min(worst, cos)
			if cos < 0.9999 {
				t.Errorf("%s text %d: cosine %.7f with llama.cpp, want ≥ 0.9999", name, i, cos)
			}
			for k, v := range d.Embedding {
				if v != byIDs.Data[i].Embedding[k] {
					t.Errorf("%s text %d: the text and llama.cpp's token ids give different vectors", name, i)
					break
				}
			}
		}
		t.Logf("%s: worst cosine %.9f", name, worst)

		body, _ := json.Marshal(map[string]any{"model": name, "input": texts[:2]})
		code, resp := embedPost(t, ts.URL+"/api/embed", string(body))
		var out struct {
			Embeddings [][]float64 `json:"embeddings"`
		}
		if code != 200 || json.Unmarshal([]byte(resp), &out) != nil || len(out.Embeddings) != 2 {
			t.Fatalf("%s /api/embed: %d %s", name, code, resp)
		}
		for i, v := range out.Embeddings {
			if cosineF(v, byText.Data[i].Embedding) < 0.9999999 {
				t.Errorf("%s /api/embed vector %d differs from /v1's", name, i)
			}
		}
	}
}

// TestBertRefusesGeneration checks that chat and completions on a bert
// model are 400s that say it is an embedding model, on both APIs, and that
// the model still embeds afterwards.
func TestBertRefusesGeneration(t *testing.T) {
	dir, _ := bertModelsDir(t, "q8_0")
	ts := newBertServer(t, dir)
	for _, c := range []struct{ path, body string }{
		{"/v1/chat/completions", `{"model":"tiny-bert-q8_0","messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/chat/completions", `{"model":"tiny-bert-q8_0","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
		{"/v1/completions", `{"model":"tiny-bert-q8_0","prompt":"hi"}`},
		{"/api/generate", `{"model":"tiny-bert-q8_0","prompt":"hi"}`},
		{"/api/chat", `{"model":"tiny-bert-q8_0","messages":[{"role":"user","content":"hi"}]}`},
	} {
		code, body := embedPost(t, ts.URL+c.path, c.body)
		if code != 400 || !strings.Contains(body, "embedding model") {
			t.Errorf("%s %s: %d %s; want 400 naming an embedding model", c.path, c.body, code, body)
		}
	}
	code, body := embedPost(t, ts.URL+"/v1/embeddings", `{"model":"tiny-bert-q8_0","input":"still works","dimensions":64}`)
	if code != 400 || !strings.Contains(body, "dimensions") {
		t.Errorf("dimensions 64: %d %s", code, body)
	}
	code, body = embedPost(t, ts.URL+"/v1/embeddings", `{"model":"tiny-bert-q8_0","input":"still works"}`)
	if code != 200 || !strings.Contains(body, `"embedding"`) {
		t.Errorf("embedding after the refusals: %d %s", code, body)
	}
	long := strings.Repeat("word ", 600)
	code, body = embedPost(t, ts.URL+"/v1/embeddings", `{"model":"tiny-bert-q8_0","input":"`+long+`"}`)
	if code != 400 || !strings.Contains(body, "more than the context of 512") {
		t.Errorf("a 600-word input: %d %s", code, body)
	}
}

// TestBertConcurrentRequests sends 12 requests at once to a bert model
// with two states: each gets the vector its text gets alone, so requests
// never share a state's buffers; then a request whose client has gone
// leaves the states free for the next.
func TestBertConcurrentRequests(t *testing.T) {
	dir, refs := bertModelsDir(t, "q8_0")
	ts := newBertServer(t, dir, 2)
	c := embedClient(ts)
	ctx := context.Background()
	texts := make([]string, len(refs["q8_0"]))
	for i, r := range refs["q8_0"] {
		texts[i] = r.Text
	}
	alone, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "tiny-bert-q8_0", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "tiny-bert-q8_0", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[i])}})
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			if cos := cosineF(r.Data[0].Embedding, alone.Data[i].Embedding); cos < 0.9999999 {
				t.Errorf("request %d: cosine %.8f with the same text in one batch", i, cos)
			}
		}()
	}
	wg.Wait()
	gone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := c.Embeddings.New(gone, openai.EmbeddingNewParams{Model: "tiny-bert-q8_0", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}}); err == nil {
		t.Error("a cancelled request succeeded")
	}
	for range 3 { // more than the two states: each must have come back
		if _, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "tiny-bert-q8_0", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("after")}}); err != nil {
			t.Fatal(err)
		}
	}
}
