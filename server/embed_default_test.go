// Reference: OpenAI API reference "Create embeddings" through the official Go client
// (github.com/openai/openai-go/v3), ollama docs/api.md "Generate Embeddings"; models/embed.md
// (the default embedder that "default" and no model name select, issue #21).

package server

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/openai/openai-go/v3"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// embedderVectors embeds texts with the embedded embedder directly, as
// `gptgo embed` without a model does: the reference the server must give.
func embedderVectors(t *testing.T, texts []string) (vecs [][]float32, tokens int) {
	t.Helper()
	f, err := models.OpenEmbed()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	enc, err := model.OpenEncoderFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	st, err := enc.NewState(model.Options{Ctx: embedCtx, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	seqs := make([][]int32, len(texts))
	for i, s := range texts {
		seqs[i] = tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		tokens += len(seqs[i])
	}
	vecs = make([][]float32, len(texts))
	err = st.EmbedEach(context.Background(), seqs, model.EmbedOptions{Pooling: enc.Pooling, Normalize: true}, func(i int, v []float32) error {
		vecs[i] = append([]float32(nil), v...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return vecs, tokens
}

// closeVec32 allows the last bits of float32 arithmetic done in another
// order (the server packs a request's texts into one pass).
func closeVec32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-5 {
			return false
		}
	}
	return true
}

func dot32(a, b []float32) float64 {
	var s float64
	for i := range a {
		s += float64(a[i]) * float64(b[i])
	}
	return s
}

// TestDefaultModelEmbedsWithEmbedder checks that /v1/embeddings (official
// client) and /api/embed embed with the default embedder when the request
// names "default", "default-embed" or no model: the vectors are the
// embedder's (its width, the values `gptgo embed` computes), not the pooled
// decoder's that "default-base" gives, the answer names the model, the
// loaded model is default-embed:latest, and a question lands nearer its
// passage than another passage.
func TestDefaultModelEmbedsWithEmbedder(t *testing.T) {
	srv, ts := newEmbedServer(t)
	c := embedClient(ts)
	ctx := context.Background()
	texts := []string{
		"When was the Bell Rock Lighthouse built?",
		"The Bell Rock Lighthouse, off the coast of Angus, Scotland, was built between 1807 and 1810 by Robert Stevenson.",
		"The Danube flows through Vienna, Budapest and Belgrade before it reaches the Black Sea.",
	}
	want, wantTokens := embedderVectors(t, texts)
	if len(want[0]) == 0 {
		t.Fatal("the embedder gave an empty vector")
	}
	for _, name := range []string{"default", "default:latest", "default-embed", ""} {
		r, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: name, Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}})
		if err != nil {
			t.Fatalf("model %q: %v", name, err)
		}
		wantModel := name
		if name == "" {
			wantModel = "default-embed"
		}
		if r.Model != wantModel || len(r.Data) != len(texts) || r.Usage.PromptTokens != int64(wantTokens) {
			t.Fatalf("model %q: answer names %q, %d vectors, %d tokens (want %q, %d, %d)", name, r.Model, len(r.Data), r.Usage.PromptTokens, wantModel, len(texts), wantTokens)
		}
		for i, d := range r.Data {
			if got := vec32(d.Embedding); !closeVec32(got, want[i]) {
				t.Errorf("model %q, text %d: the vector (%d values) is not the default embedder's (%d values)", name, i, len(got), len(want[i]))
			}
		}
	}
	run := srv.Running()
	if len(run) != 1 || run[0].Entry.Name != "default-embed:latest" {
		t.Errorf("loaded models: %+v, want default-embed:latest alone", run)
	}
	q, right, wrong := want[0], want[1], want[2]
	if dot32(q, right) <= dot32(q, wrong) {
		t.Errorf("the question is nearer the unrelated passage (%.3f) than its own (%.3f)", dot32(q, wrong), dot32(q, right))
	}

	// The pooled decoder is still there, by its name, and differs.
	base, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[0])}})
	if err != nil {
		t.Fatal(err)
	}
	if closeVec32(vec32(base.Data[0].Embedding), want[0]) {
		t.Error("default-base gave the embedder's vector")
	}

	// /api/embed, with "default" and without a model.
	for _, body := range []string{`{"model":"default","input":["` + texts[0] + `","` + texts[2] + `"]}`, `{"input":["` + texts[0] + `","` + texts[2] + `"]}`} {
		status, out := embedPost(t, ts.URL+"/api/embed", body)
		var resp struct {
			Model      string      `json:"model"`
			Embeddings [][]float32 `json:"embeddings"`
		}
		if err := json.Unmarshal([]byte(out), &resp); status != 200 || err != nil || len(resp.Embeddings) != 2 {
			t.Fatalf("%s: %d %s (%v)", body, status, out, err)
		}
		if resp.Model != "default" && resp.Model != "default-embed" {
			t.Errorf("%s: answer names model %q", body, resp.Model)
		}
		if !closeVec32(resp.Embeddings[0], want[0]) || !closeVec32(resp.Embeddings[1], want[2]) {
			t.Errorf("%s: not the default embedder's vectors", body)
		}
	}

	// The embedder's width is the only one it gives.
	_, err = c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("x")}, Dimensions: openai.Int(int64(len(want[0]) / 2))})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "dimensions" {
		t.Errorf("dimensions below the embedder's width: %v", err)
	}
}
