// Reference: OpenAI API reference "Create embeddings", driven through the official Go client
// (github.com/openai/openai-go/v3), and ollama docs/api.md "Generate Embeddings" on its documented JSON.

package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer"
)

// The tests of this file embed with a decoder: the embedded base model,
// default-base (pooled; "default" and no model are the default embedder,
// embed_default_test.go).

// embedCtx is the context the embedding tests run the decoder with:
// small, so that "too long" inputs are cheap to make and to truncate.
const embedCtx = 48

// newEmbedServer serves an empty models directory (so only the embedded
// default models) on a loopback port.
func newEmbedServer(t testing.TB) (*Server, *httptest.Server) {
	t.Helper()
	return newEmbedServerIn(t, t.TempDir())
}

// newEmbedServerIn serves the models directory dir.
func newEmbedServerIn(t testing.TB, dir string) (*Server, *httptest.Server) {
	t.Helper()
	store, err := modelstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Models: store, Ctx: embedCtx, Threads: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return srv, ts
}

func embedClient(ts *httptest.Server) *openai.Client {
	c := openai.NewClient(option.WithBaseURL(ts.URL+"/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0))
	return &c
}

// defaultTokenizer is the base model's tokenizer, to make token inputs
// and count tokens independently of the server.
func defaultTokenizer(t *testing.T) *tokenizer.Tokenizer {
	t.Helper()
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// vec32 returns the client's float64 vector as the float32 values the
// server computed (every float32 survives JSON's shortest form and the
// base64 bytes exactly).
func vec32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

func sameVec32(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

func l2norm(v []float32) float64 {
	var ss float64
	for _, x := range v {
		ss += float64(x) * float64(x)
	}
	return math.Sqrt(ss)
}

// TestOpenAIEmbeddings drives /v1/embeddings with the official client:
// float and base64 give the same bits, vectors have unit norm, the same
// text gives the same vector wherever it sits in a batch, batch order is
// kept, token ids give what their text gives, and usage counts tokens.
func TestOpenAIEmbeddings(t *testing.T) {
	_, ts := newEmbedServer(t)
	c := embedClient(ts)
	ctx := context.Background()
	texts := []string{"The sky is blue.", "Grass is green.", "The sky is blue."}
	req := openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}}
	floats, err := c.Embeddings.New(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	req.EncodingFormat = openai.EmbeddingNewParamsEncodingFormatBase64
	b64, err := c.Embeddings.New(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if floats.Object != "list" || floats.Model != "default-base" || len(floats.Data) != 3 || len(b64.Data) != 3 {
		t.Fatalf("response: object %q model %q, %d and %d vectors", floats.Object, floats.Model, len(floats.Data), len(b64.Data))
	}
	if !strings.Contains(b64.RawJSON(), `"embedding":"`) || strings.Contains(floats.RawJSON(), `"embedding":"`) {
		t.Error("base64 was not sent as a string, or float was")
	}
	tok := defaultTokenizer(t)
	wantTokens := 0
	for _, s := range texts {
		wantTokens += len(tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true}))
	}
	if floats.Usage.PromptTokens != int64(wantTokens) || floats.Usage.TotalTokens != int64(wantTokens) {
		t.Errorf("usage %+v, want %d prompt and total tokens", floats.Usage, wantTokens)
	}
	var vecs [][]float32
	for i, d := range floats.Data {
		v := vec32(d.Embedding)
		if d.Index != int64(i) || d.Object != "embedding" {
			t.Errorf("data[%d]: index %d object %q", i, d.Index, d.Object)
		}
		if !sameVec32(v, vec32(b64.Data[i].Embedding)) {
			t.Errorf("data[%d]: base64 and float differ", i)
		}
		if n := l2norm(v); math.Abs(n-1) > 1e-6 {
			t.Errorf("data[%d]: norm %g, want 1", i, n)
		}
		vecs = append(vecs, v)
	}
	if !sameVec32(vecs[0], vecs[2]) {
		t.Error("the same text gave different vectors in one batch")
	}
	if sameVec32(vecs[0], vecs[1]) {
		t.Error("different texts gave the same vector")
	}
	// Alone and in reverse order, each text gets the same bits.
	one, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[1])}})
	if err != nil || !sameVec32(vec32(one.Data[0].Embedding), vecs[1]) {
		t.Errorf("a single text differs from its vector in a batch (%v)", err)
	}
	// Token ids, one array and an array of arrays, give their text's vector.
	ids := func(s string) []int64 {
		var out []int64
		for _, id := range tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true}) {
			out = append(out, int64(id))
		}
		return out
	}
	byTok, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: ids(texts[0])}})
	if err != nil || !sameVec32(vec32(byTok.Data[0].Embedding), vecs[0]) {
		t.Errorf("token ids differ from their text (%v)", err)
	}
	byToks, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokenArrays: [][]int64{ids(texts[1]), ids(texts[0])}}})
	if err != nil || len(byToks.Data) != 2 || !sameVec32(vec32(byToks.Data[0].Embedding), vecs[1]) || !sameVec32(vec32(byToks.Data[1].Embedding), vecs[0]) {
		t.Errorf("token arrays differ from their texts or came out of order (%v)", err)
	}
	// The embedded tokens count in /metrics' prompt tokens: five requests
	// above, of wantTokens, wantTokens, 1 text, 1 text, 2 texts.
	resp, err := http.Get(ts.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	n0, n1 := len(tok.Encode(texts[0], tokenizer.EncodeOptions{AddSpecial: true})), len(tok.Encode(texts[1], tokenizer.EncodeOptions{AddSpecial: true}))
	line := fmt.Sprintf(`gptgo_prompt_tokens_total{model="default-base:latest"} %d`, 2*wantTokens+n1+n0+n1+n0)
	if !strings.Contains(string(metrics), line+"\n") {
		t.Errorf("/metrics lacks %q:\n%s", line, metrics)
	}
}

// TestOpenAIEmbeddingErrors checks each failure's status, type, param and
// code as the official client reports them.
func TestOpenAIEmbeddingErrors(t *testing.T) {
	srv, ts := newEmbedServer(t)
	c := embedClient(ts)
	ctx := context.Background()
	long := strings.Repeat("many words make a long text ", 40)
	str := func(s string) openai.EmbeddingNewParamsInputUnion {
		return openai.EmbeddingNewParamsInputUnion{OfString: openai.String(s)}
	}
	for _, tc := range []struct {
		name   string
		p      openai.EmbeddingNewParams
		status int
		param  string
		code   string
		msg    string
	}{
		{"dimensions", openai.EmbeddingNewParams{Model: "default-base", Input: str("hi"), Dimensions: openai.Int(8)}, 400, "dimensions", "", "cannot shorten"},
		{"empty string", openai.EmbeddingNewParams{Model: "default-base", Input: str("")}, 400, "input", "", "empty string"},
		{"empty array", openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", ""}}}, 400, "input", "", "input[1] must not be an empty string"},
		{"too long", openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"short", long}}}, 400, "input", "context_length_exceeded", "more than the context of 48 tokens"},
		{"vocabulary", openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfTokens: []int64{1, 1 << 30}}}, 400, "input", "", "outside the model's vocabulary"},
		{"unknown model", openai.EmbeddingNewParams{Model: "no-such-model", Input: str("hi")}, 404, "model", "model_not_found", "no-such-model"},
	} {
		_, err := c.Embeddings.New(ctx, tc.p)
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Errorf("%s: error %v is not an API error", tc.name, err)
			continue
		}
		if apiErr.StatusCode != tc.status || apiErr.Param != tc.param || apiErr.Code != tc.code || !strings.Contains(apiErr.Message, tc.msg) || apiErr.Type == "" {
			t.Errorf("%s: %d type %q param %q code %q %q; want %d param %q code %q message containing %q",
				tc.name, apiErr.StatusCode, apiErr.Type, apiErr.Param, apiErr.Code, apiErr.Message, tc.status, tc.param, tc.code, tc.msg)
		}
	}
	// The official client never sends these; a hand-made body can.
	for _, tc := range []struct{ body, msg string }{
		{`{"model":"default-base","input":"hi","encoding_format":"int8"}`, "encoding_format"},
		{`{"model":"default-base","input":"hi","temperature":0}`, `unknown field \"temperature\"`},
		{`{"model":"default-base","input":[]}`, "empty array"},
		{`{"model":"default-base"}`, "input is required"},
	} {
		status, body := embedPost(t, ts.URL+"/v1/embeddings", tc.body)
		if status != 400 || !strings.Contains(body, tc.msg) || !strings.Contains(body, `"type":"invalid_request_error"`) {
			t.Errorf("%s: %d %s", tc.body, status, body)
		}
	}
	// A failed request leaves the model's session free for the next.
	if _, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: str("still works")}); err != nil {
		t.Errorf("after the errors: %v", err)
	}
	for _, m := range srv.Running() {
		if m.InUse != 0 {
			t.Errorf("model %s still held by %d requests", m.Entry.Name, m.InUse)
		}
	}
}

func embedPost(t *testing.T, url, body string) (int, string) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// TestOllamaEmbed checks /api/embed on the documented request and
// response: the same unit vectors as /v1, durations in nanoseconds,
// prompt_eval_count, truncation by default and a 400 without it, num_ctx
// from options, the empty input that only loads the model, and keep_alive 0.
func TestOllamaEmbed(t *testing.T) {
	srv, ts := newEmbedServer(t)
	texts := []string{"Why is the sky blue?", "Why is the grass green?"}
	ref, err := embedClient(ts).Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}})
	if err != nil {
		t.Fatal(err)
	}
	var resp struct {
		Model           string      `json:"model"`
		Embeddings      [][]float32 `json:"embeddings"`
		TotalDuration   int64       `json:"total_duration"`
		LoadDuration    *int64      `json:"load_duration"`
		PromptEvalCount int         `json:"prompt_eval_count"`
	}
	post := func(body string, want int) string {
		t.Helper()
		status, out := embedPost(t, ts.URL+"/api/embed", body)
		if status != want {
			t.Fatalf("%s: status %d, want %d: %s", body, status, want, out)
		}
		resp.Embeddings, resp.LoadDuration = nil, nil
		if status == 200 {
			dec := json.NewDecoder(strings.NewReader(out))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&resp); err != nil {
				t.Fatalf("%s: %v", out, err)
			}
		}
		return out
	}
	post(`{"model":"default-base","input":["Why is the sky blue?","Why is the grass green?"]}`, 200)
	if resp.Model != "default-base" || len(resp.Embeddings) != 2 || resp.TotalDuration <= 0 || resp.LoadDuration == nil || resp.PromptEvalCount != int(ref.Usage.PromptTokens) {
		t.Fatalf("response %+v", resp)
	}
	for i := range texts {
		if !sameVec32(resp.Embeddings[i], vec32(ref.Data[i].Embedding)) {
			t.Errorf("input %d: /api/embed and /v1/embeddings differ", i)
		}
	}
	post(`{"model":"default-base","input":"Why is the sky blue?"}`, 200)
	if len(resp.Embeddings) != 1 || !sameVec32(resp.Embeddings[0], vec32(ref.Data[0].Embedding)) {
		t.Error("a string input differs from the same text in an array")
	}

	long := strings.Repeat("many words make a long text ", 40)
	post(`{"model":"default-base","input":"`+long+`"}`, 200)
	if resp.PromptEvalCount != embedCtx || len(resp.Embeddings) != 1 || math.Abs(l2norm(resp.Embeddings[0])-1) > 1e-6 {
		t.Errorf("truncated by default: %d tokens (want %d), %d vectors", resp.PromptEvalCount, embedCtx, len(resp.Embeddings))
	}
	truncated := resp.Embeddings[0]
	if out := post(`{"model":"default-base","input":"`+long+`","truncate":false}`, 400); !strings.Contains(out, `"error":"input[0] is`) || !strings.Contains(out, "more than the context of 48 tokens") {
		t.Errorf("truncate false: %s", out)
	}
	// A num_ctx over the loaded context (what Home Assistant and Continue
	// send whatever the model) is capped to it, as Ollama caps it.
	post(`{"model":"default-base","input":"`+long+`","options":{"num_ctx":100000}}`, 200)
	if resp.PromptEvalCount != embedCtx || !sameVec32(resp.Embeddings[0], truncated) {
		t.Errorf("num_ctx 100000: %d tokens, want the loaded context's %d", resp.PromptEvalCount, embedCtx)
	}
	post(`{"model":"default-base","input":"`+long+`","options":{"num_ctx":8,"temperature":0.5}}`, 200)
	if resp.PromptEvalCount != 8 || sameVec32(resp.Embeddings[0], truncated) {
		t.Errorf("num_ctx 8: %d tokens", resp.PromptEvalCount)
	}
	for _, c := range []struct{ body, msg string }{
		{`{"model":"default-base","input":"x","options":{"bogus":1}}`, `unknown options: bogus`},
		{`{"model":"default-base","input":"x","options":{"mirostat":2}}`, "not supported"},
		{`{"model":"default-base","input":"x","options":[1]}`, "options: expected an object"},
		{`{"model":"default-base","input":"x","keep_alive":"soon"}`, "keep_alive"},
		{`{"model":"default-base","input":"x","dimensions":7}`, "cannot shorten"},
		{`{"model":"default-base","input":[1,2]}`, "a string or an array of strings"},
	} {
		if out := post(c.body, 400); !strings.Contains(out, c.msg) || !strings.HasPrefix(out, `{"error":"`) {
			t.Errorf("%s: %s", c.body, out)
		}
	}
	if out := post(`{"model":"nope","input":"x"}`, 404); !strings.HasPrefix(out, `{"error":"model \"nope\" not found`) {
		t.Errorf("unknown model: %s", out)
	}

	// An empty input loads the model and embeds nothing; keep_alive 0
	// unloads it once the request is done.
	if out := post(`{"model":"default-base","input":[],"keep_alive":0}`, 200); !strings.Contains(out, `"embeddings":[]`) {
		t.Errorf("empty input: %s", out)
	}
	if n := len(srv.Running()); n != 0 {
		t.Errorf("keep_alive 0 left %d models loaded", n)
	}
	post(`{"model":"default-base","input":"x","keep_alive":"1m"}`, 200)
	if r := srv.Running(); len(r) != 1 || r[0].ExpiresAt.IsZero() || time.Until(r[0].ExpiresAt) > time.Minute {
		t.Errorf("keep_alive 1m: %+v", r)
	}
	if status, _ := embedPost(t, ts.URL+"/api/embed", `{"model":"default-base","input":"x","keep_alive":-1}`); status != 200 {
		t.Errorf("keep_alive -1: %d", status)
	}
	if r := srv.Running(); len(r) != 1 || !r[0].ExpiresAt.IsZero() {
		t.Errorf("keep_alive -1 should keep the model forever: %+v", r)
	}
	resp2, err := http.Get(ts.URL + "/api/embed")
	if err != nil {
		t.Fatal(err)
	}
	resp2.Body.Close()
	if resp2.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /api/embed: %d", resp2.StatusCode)
	}
}

// TestOllamaLegacyEmbeddings checks /api/embeddings: {"embedding": [...]}
// not normalised (as Ollama's), pointing the way /api/embed's unit vector
// does; an empty prompt gives an empty vector.
func TestOllamaLegacyEmbeddings(t *testing.T) {
	_, ts := newEmbedServer(t)
	status, out := embedPost(t, ts.URL+"/api/embeddings", `{"model":"default-base","prompt":"Here is an article about llamas..."}`)
	var legacy struct {
		Embedding []float32 `json:"embedding"`
	}
	if err := json.Unmarshal([]byte(out), &legacy); status != 200 || err != nil || len(legacy.Embedding) == 0 {
		t.Fatalf("%d %s (%v)", status, out, err)
	}
	status, out = embedPost(t, ts.URL+"/api/embed", `{"model":"default-base","input":"Here is an article about llamas..."}`)
	var unit struct {
		Embeddings [][]float32 `json:"embeddings"`
	}
	if err := json.Unmarshal([]byte(out), &unit); status != 200 || err != nil || len(unit.Embeddings) != 1 {
		t.Fatalf("%d %s (%v)", status, out, err)
	}
	n := l2norm(legacy.Embedding)
	if math.Abs(n-1) < 1e-3 {
		t.Errorf("legacy vector has norm %g: it should not be normalised", n)
	}
	for i, v := range legacy.Embedding {
		if d := math.Abs(float64(v)/n - float64(unit.Embeddings[0][i])); d > 1e-6 {
			t.Fatalf("element %d: %g / %g differs from the unit vector's %g", i, v, n, unit.Embeddings[0][i])
		}
	}
	if status, out := embedPost(t, ts.URL+"/api/embeddings", `{"model":"default-base","prompt":""}`); status != 200 || strings.TrimSpace(out) != `{"embedding":[]}` {
		t.Errorf("empty prompt: %d %s", status, out)
	}
	if status, out := embedPost(t, ts.URL+"/api/embeddings", `{"model":"default-base","input":"x"}`); status != 400 || !strings.Contains(out, `unknown field`) {
		t.Errorf("input instead of prompt: %d %s", status, out)
	}
}

// TestEmbedConcurrentAndCancelled runs several embedding requests at once
// on a model with one session: they queue and each gets the vectors it
// gets alone. Then a long request whose client goes away stops early and
// frees the session and the model.
func TestEmbedConcurrentAndCancelled(t *testing.T) {
	srv, ts := newEmbedServer(t)
	c := embedClient(ts)
	ctx := context.Background()
	texts := []string{"one", "two words", "three more words", "and four more words"}
	want := make([][]float32, len(texts))
	for i, s := range texts {
		r, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(s)}})
		if err != nil {
			t.Fatal(err)
		}
		want[i] = vec32(r.Data[0].Embedding)
	}
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			k := i % len(texts)
			r, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[k])}})
			if err != nil || !sameVec32(vec32(r.Data[0].Embedding), want[k]) {
				t.Errorf("concurrent request %d: %v or a different vector", i, err)
			}
		})
	}
	wg.Wait()

	// 2048 inputs of most of the context: about 15 s of work on one
	// thread. A request that arrives meanwhile waits for one input, not for
	// the batch; then the big request's client goes away, and the server
	// stops it between batches and releases the model.
	long := make([]string, maxEmbedInputs)
	for i := range long {
		long[i] = strings.Repeat("many words make a long text ", 4)
	}
	body, _ := json.Marshal(map[string]any{"model": "default-base", "input": long})
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, _ := http.NewRequestWithContext(cctx, "POST", ts.URL+"/v1/embeddings", bytes.NewReader(body))
	bigDone := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("finished with " + resp.Status)
		}
		bigDone <- err
	}()
	inUse := func() int {
		n := 0
		for _, m := range srv.Running() {
			n += m.InUse
		}
		return n
	}
	for inUse() == 0 { // until the big request holds the model
		time.Sleep(time.Millisecond)
	}
	time.Sleep(50 * time.Millisecond)
	small := time.Now()
	r, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(texts[0])}})
	if err != nil || !sameVec32(vec32(r.Data[0].Embedding), want[0]) {
		t.Errorf("request during the batch: %v or a different vector", err)
	}
	wait := time.Since(small)
	t.Logf("a one-text request during the 2048-text batch took %v", wait.Round(time.Millisecond))
	// Had it waited for the batch, the batch would be over by now: it
	// must still be running (an order, not a clock, so load cannot fail it).
	select {
	case err := <-bigDone:
		t.Fatalf("the one-text request returned only after the 2048-text batch ended (%v)", err)
	default:
	}
	if inUse() == 0 {
		t.Fatal("the 2048-text batch let go of the model before the one-text request returned")
	}
	start := time.Now()
	cancel()
	if err := <-bigDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("the big request: %v, want it cancelled", err)
	}
	for inUse() != 0 {
		time.Sleep(5 * time.Millisecond)
	}
	// The batch is 2048 inputs; the one-text request above cost about two
	// of them (its own and the one it waited for). Stopping between inputs
	// frees the model within a few inputs' time; finishing the batch would
	// take about a thousand times the one-text request. The ratio holds
	// under any load, which slows both alike.
	if held := time.Since(start); held > 200*wait {
		t.Errorf("the model was held %v after the client left, over 200× a one-text request (%v): the batch was not stopped", held, wait)
	}
	t.Logf("released %v after the client left", time.Since(start).Round(time.Millisecond))
	if _, err := c.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("after")}}); err != nil {
		t.Errorf("after the cancelled request: %v", err)
	}
}

// TestEmbedPoolingFromGGUF puts in the models directory a copy of the
// base model whose metadata says "<arch>.pooling_type" = 3 (llama.cpp's
// last): the server must embed with it by the last token's hidden state,
// bit for bit what model.State.Embed gives with PoolLast on the same
// context and thread count, and unlike the base model's mean.
func TestEmbedPoolingFromGGUF(t *testing.T) {
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dir := t.TempDir()
	path := filepath.Join(dir, "lastpool.gguf")
	h := f.Header()
	h.Set(f.Arch()+".pooling_type", gguf.Value{Type: gguf.TypeUint32, X: uint32(model.PoolLast)})
	if err := gguf.WriteFile(path, h, f.Source()); err != nil {
		t.Fatal(err)
	}
	_, ts := newEmbedServerIn(t, dir)
	c := embedClient(ts)
	const text = "pooling by the last token"
	get := func(name string) []float32 {
		r, err := c.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: name, Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String(text)}})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return vec32(r.Data[0].Embedding)
	}
	last, mean := get("lastpool"), get("default-base")

	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if p, err := m.DefaultPooling(); p != model.PoolLast || err != nil {
		t.Fatalf("the written file's pooling: %s, %v", p, err)
	}
	st, err := m.NewState(model.Options{Ctx: embedCtx, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ids := defaultTokenizer(t).Encode(text, tokenizer.EncodeOptions{AddSpecial: true})
	want, err := st.Embed(context.Background(), ids, model.EmbedOptions{Pooling: model.PoolLast, Normalize: true})
	if err != nil {
		t.Fatal(err)
	}
	if !sameVec32(last, want) {
		t.Error("the server's vector for a last-pooling model is not the last token's")
	}
	if sameVec32(last, mean) {
		t.Error("last and mean pooling gave the same vector")
	}
}

// BenchmarkEmbed compares 32 short texts embedded through POST
// /v1/embeddings (official client, loopback, JSON floats) with the same
// texts through model.State.Embed directly, on the base model with one
// thread; tokens/s is reported for both.
//
//	go test ./server -run XXX -bench BenchmarkEmbed -benchtime 20x
func BenchmarkEmbed(b *testing.B) {
	texts := make([]string, 32)
	for i := range texts {
		texts[i] = strings.Repeat("a short text to embed, number ", 3) + strconv.Itoa(i)
	}
	f, err := models.OpenBase()
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		b.Fatal(err)
	}
	tokens := 0
	for _, s := range texts {
		tokens += len(tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true}))
	}
	b.Run("http", func(b *testing.B) {
		_, ts := newEmbedServer(b)
		c := embedClient(ts)
		p := openai.EmbeddingNewParams{Model: "default-base", Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: texts}}
		if _, err := c.Embeddings.New(context.Background(), p); err != nil { // load the model
			b.Fatal(err)
		}
		b.ResetTimer()
		for b.Loop() {
			if _, err := c.Embeddings.New(context.Background(), p); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
	b.Run("direct", func(b *testing.B) {
		m, err := model.OpenFile(f)
		if err != nil {
			b.Fatal(err)
		}
		st, err := m.NewState(model.Options{Ctx: embedCtx, Threads: 1})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		seqs := make([][]int32, len(texts))
		for i, s := range texts {
			seqs[i] = tok.Encode(s, tokenizer.EncodeOptions{AddSpecial: true})
		}
		o := model.EmbedOptions{Pooling: model.PoolMean, Normalize: true}
		for b.Loop() {
			if err := st.EmbedEach(context.Background(), seqs, o, func(int, []float32) error { return nil }); err != nil {
				b.Fatal(err)
			}
		}
		b.ReportMetric(float64(tokens*b.N)/b.Elapsed().Seconds(), "tokens/s")
	})
}
