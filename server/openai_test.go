// Reference: OpenAI API reference (chat completions, completions, models, streaming, logprobs, errors),
// exercised through the official Go client github.com/openai/openai-go/v3.

package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
)

func TestOpenAIModels(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	page, err := c.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Data) != 1 || page.Data[0].ID != "default:latest" || page.Data[0].OwnedBy != "gptgo" || page.Data[0].Created < 0 {
		t.Fatalf("models = %+v, want the default model alone", page.Data)
	}
	m, err := c.Models.Get(ctx, "default")
	if err != nil {
		t.Fatal(err)
	}
	if m.ID != "default:latest" {
		t.Errorf("GET /v1/models/default: id %q", m.ID)
	}
	_, err = c.Models.Get(ctx, "nosuch")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusNotFound || apiErr.Code != "model_not_found" {
		t.Fatalf("GET /v1/models/nosuch: %v, want 404 model_not_found", err)
	}
}

// greedy is a deterministic chat request for n tokens.
func greedy(prompt string, n int64) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{
		Model:       "default",
		Messages:    []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("You are terse."), openai.UserMessage(prompt)},
		MaxTokens:   openai.Int(n),
		Temperature: openai.Float(0),
		Seed:        openai.Int(1),
	}
}

func TestOpenAIChat(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	r, err := c.Chat.Completions.New(ctx, greedy("Tell me a story about a cat.", 12))
	if err != nil {
		t.Fatal(err)
	}
	if r.Object != "chat.completion" || !strings.HasPrefix(r.ID, "chatcmpl-") || len(r.Choices) != 1 {
		t.Fatalf("response %+v", r)
	}
	ch := r.Choices[0]
	if ch.Message.Role != "assistant" || ch.Message.Content == "" {
		t.Errorf("message %+v", ch.Message)
	}
	u := r.Usage
	if u.PromptTokens <= 0 || u.CompletionTokens <= 0 || u.CompletionTokens > 12 || u.TotalTokens != u.PromptTokens+u.CompletionTokens {
		t.Errorf("usage %+v", u)
	}
	want := map[bool]string{true: "length", false: "stop"}[u.CompletionTokens == 12]
	if ch.FinishReason != want {
		t.Errorf("finish_reason %q with %d tokens, want %q", ch.FinishReason, u.CompletionTokens, want)
	}
	// Greedy decoding is deterministic, and the second turn reuses the cache.
	r2, err := c.Chat.Completions.New(ctx, greedy("Tell me a story about a cat.", 12))
	if err != nil {
		t.Fatal(err)
	}
	if r2.Choices[0].Message.Content != ch.Message.Content {
		t.Errorf("greedy answers differ: %q vs %q", ch.Message.Content, r2.Choices[0].Message.Content)
	}
	if r2.Usage.PromptTokensDetails.CachedTokens == 0 {
		t.Errorf("the repeated prompt reused no cached tokens: %+v", r2.Usage)
	}
}

func TestOpenAIChatStream(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	p := greedy("Once upon a time", 16)
	plain, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := c.Chat.Completions.NewStreaming(ctx, p)
	var text strings.Builder
	var chunks []openai.ChatCompletionChunk
	for st.Next() {
		chunks = append(chunks, st.Current())
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(chunks) < 3 {
		t.Fatalf("%d chunks", len(chunks))
	}
	if d := chunks[0].Choices[0].Delta; d.Role != "assistant" {
		t.Errorf("first delta %+v has no assistant role", d)
	}
	last := chunks[len(chunks)-1]
	if len(last.Choices) != 0 || last.Usage.TotalTokens == 0 {
		t.Errorf("last chunk %+v: want empty choices and usage", last)
	}
	if last.Usage.CompletionTokens != plain.Usage.CompletionTokens || last.Usage.PromptTokens != plain.Usage.PromptTokens {
		t.Errorf("stream usage %+v, plain %+v", last.Usage, plain.Usage)
	}
	fin := chunks[len(chunks)-2]
	for i, ch := range chunks[:len(chunks)-1] {
		if ch.Object != "chat.completion.chunk" || ch.ID != chunks[0].ID || len(ch.Choices) != 1 {
			t.Fatalf("chunk %d: %+v", i, ch)
		}
		text.WriteString(ch.Choices[0].Delta.Content)
		if ch.Choices[0].FinishReason != "" && i != len(chunks)-2 {
			t.Errorf("chunk %d has finish_reason %q before the last", i, ch.Choices[0].FinishReason)
		}
	}
	if fin.Choices[0].FinishReason != plain.Choices[0].FinishReason {
		t.Errorf("stream finish_reason %q, plain %q", fin.Choices[0].FinishReason, plain.Choices[0].FinishReason)
	}
	if text.String() != plain.Choices[0].Message.Content {
		t.Errorf("streamed %q, plain %q", text.String(), plain.Choices[0].Message.Content)
	}

	// The wire itself: data lines, finish_reason null until the end, [DONE] last.
	body, _ := json.Marshal(map[string]any{"model": "default", "stream": true, "max_tokens": 4, "temperature": 0,
		"messages": []map[string]any{{"role": "user", "content": []map[string]string{{"type": "text", "text": "Hi"}}}}})
	status, raw := post(t, url+"/v1/chat/completions", string(body))
	if status != 200 {
		t.Fatalf("status %d: %s", status, raw)
	}
	ev := sseEvents(t, raw)
	if ev[len(ev)-1] != "[DONE]" {
		t.Fatalf("stream does not end with [DONE]: %q", ev)
	}
	for i, e := range ev[:len(ev)-1] {
		var m map[string]any
		if err := json.Unmarshal([]byte(e), &m); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if _, has := m["usage"]; has {
			t.Errorf("event %d carries usage without include_usage", i)
		}
		fr := m["choices"].([]any)[0].(map[string]any)["finish_reason"]
		if (fr == nil) != (i < len(ev)-2) {
			t.Errorf("event %d: finish_reason %v", i, fr)
		}
	}
}

func TestOpenAICompletions(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	p := openai.CompletionNewParams{
		Model:       "default",
		Prompt:      openai.CompletionNewParamsPromptUnion{OfString: openai.String("The little dog")},
		MaxTokens:   openai.Int(6),
		Temperature: openai.Float(0),
		Logprobs:    openai.Int(2),
	}
	r, err := c.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if r.Object != "text_completion" || len(r.Choices) != 1 || r.Choices[0].Text == "" {
		t.Fatalf("completion %+v", r)
	}
	lp := r.Choices[0].Logprobs
	if n := int(r.Usage.CompletionTokens); len(lp.Tokens) != n || len(lp.TokenLogprobs) != n || len(lp.TopLogprobs) != n {
		t.Errorf("logprobs for %d tokens: %d/%d/%d entries", n, len(lp.Tokens), len(lp.TokenLogprobs), len(lp.TopLogprobs))
	}
	if strings.Join(lp.Tokens, "") != r.Choices[0].Text && r.Choices[0].FinishReason == "length" {
		t.Errorf("logprob tokens %q do not spell the text %q", lp.Tokens, r.Choices[0].Text)
	}
	st := c.Completions.NewStreaming(ctx, p)
	var text strings.Builder
	for st.Next() {
		for _, ch := range st.Current().Choices {
			text.WriteString(ch.Text)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if text.String() != r.Choices[0].Text {
		t.Errorf("streamed %q, plain %q", text.String(), r.Choices[0].Text)
	}
	// Token-array prompt and echo.
	p.Prompt = openai.CompletionNewParamsPromptUnion{OfArrayOfTokens: []int64{1, 300, 301}}
	p.Echo = openai.Bool(true)
	p.Logprobs = openai.Int(0)
	if _, err := c.Completions.New(ctx, p); err != nil {
		t.Fatal(err)
	}
}

func TestOpenAIStop(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	p := greedy("Write about the sea.", 24)
	full, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	text := full.Choices[0].Message.Content
	if len(text) < 8 {
		t.Skipf("greedy answer %q too short to cut", text)
	}
	stop := text[len(text)/2 : len(text)/2+3]
	want := text[:strings.Index(text, stop)]
	for _, stream := range []bool{false, true} {
		p.Stop = openai.ChatCompletionNewParamsStopUnion{OfStringArray: []string{"never-appears", stop}}
		var got, reason string
		if stream {
			st := c.Chat.Completions.NewStreaming(ctx, p)
			for st.Next() {
				if ch := st.Current().Choices; len(ch) > 0 {
					got += ch[0].Delta.Content
					reason += ch[0].FinishReason
				}
			}
			if err := st.Err(); err != nil {
				t.Fatal(err)
			}
		} else {
			r, err := c.Chat.Completions.New(ctx, p)
			if err != nil {
				t.Fatal(err)
			}
			got, reason = r.Choices[0].Message.Content, r.Choices[0].FinishReason
		}
		if got != want || reason != "stop" {
			t.Errorf("stream=%v stop %q: got %q (%s), want %q (stop)", stream, stop, got, reason, want)
		}
	}
}

func TestOpenAILogprobs(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	p := greedy("Hello there", 8)
	p.Logprobs = openai.Bool(true)
	p.TopLogprobs = openai.Int(3)
	r, err := c.Chat.Completions.New(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	content := r.Choices[0].Logprobs.Content
	if len(content) != int(r.Usage.CompletionTokens) {
		t.Fatalf("%d logprob entries for %d tokens", len(content), r.Usage.CompletionTokens)
	}
	for i, e := range content {
		if e.Logprob > 0 || math.IsNaN(e.Logprob) || len(e.TopLogprobs) != 3 {
			t.Fatalf("entry %d: %+v", i, e)
		}
		for j := 1; j < 3; j++ {
			if e.TopLogprobs[j].Logprob > e.TopLogprobs[j-1].Logprob {
				t.Errorf("entry %d: top_logprobs not sorted: %+v", i, e.TopLogprobs)
			}
		}
		// Greedy with no penalties picks the most likely token.
		if e.Token != e.TopLogprobs[0].Token || e.Logprob != e.TopLogprobs[0].Logprob {
			t.Errorf("entry %d: greedy token %q (%v) is not the top one %+v", i, e.Token, e.Logprob, e.TopLogprobs[0])
		}
		if string(intsToBytes(e.Bytes)) != e.Token && !strings.ContainsRune(e.Token, '\uFFFD') {
			t.Errorf("entry %d: bytes %v do not spell %q", i, e.Bytes, e.Token)
		}
	}
}

func intsToBytes(v []int64) []byte {
	b := make([]byte, len(v))
	for i, x := range v {
		b[i] = byte(x)
	}
	return b
}

func TestOpenAIErrors(t *testing.T) {
	_, url := startServer(t, Config{MaxBodyBytes: 4096})
	long := strings.Repeat("word ", 400) // well over the base model's 256-token context (default-base)
	for _, tc := range []struct {
		name, path, body string
		status           int
		param, code      string
	}{
		{"bad JSON", "/v1/chat/completions", `{"model":"default",`, 400, "", ""},
		{"not an object", "/v1/chat/completions", `[1,2]`, 400, "", ""},
		{"empty body", "/v1/chat/completions", ``, 400, "", ""},
		{"wrong type", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"max_tokens":"ten"}`, 400, "max_tokens", ""},
		{"wrong extension type", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"top_k":"x"}`, 400, "top_k", ""},
		{"wrong content type", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":42}]}`, 400, "content", ""},
		{"unknown field", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"temprature":0.5}`, 400, "temprature", ""},
		{"tools", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"code_interpreter"}]}`, 400, "tools[0].type", "not_supported"},
		{"response_format", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"response_format":{"type":"json_schema","json_schema":{"name":"a","schema":{"not":{}}}}}`, 400, "response_format.json_schema.schema", "not_supported"},
		{"functions", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"functions":[{"name":"f"}]}`, 400, "functions", "not_supported"},
		{"n", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"n":9}`, 400, "n", ""},
		{"n completions", "/v1/completions", `{"model":"default","prompt":"hi","n":2}`, 400, "n", ""},
		{"bad role", "/v1/chat/completions", `{"model":"default","messages":[{"role":"wizard","content":"hi"}]}`, 400, "messages[0].role", ""},
		{"no messages", "/v1/chat/completions", `{"model":"default","messages":[]}`, 400, "messages", ""},
		{"temperature", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"temperature":3}`, 400, "temperature", ""},
		{"logit_bias", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"hi"}],"logit_bias":{"999999":1}}`, 400, "logit_bias", ""},
		{"too long", "/v1/chat/completions", `{"model":"default-base","messages":[{"role":"user","content":"` + long[:1800] + `"}]}`, 400, "messages", "context_length_exceeded"},
		{"too long completion", "/v1/completions", `{"model":"default-base","prompt":"` + long[:1800] + `"}`, 400, "prompt", "context_length_exceeded"},
		{"unknown model", "/v1/chat/completions", `{"model":"nosuch","messages":[{"role":"user","content":"hi"}]}`, 404, "model", "model_not_found"},
		{"no model", "/v1/chat/completions", `{"messages":[{"role":"user","content":"hi"}]}`, 400, "model", ""},
		{"too large", "/v1/chat/completions", `{"model":"default","messages":[{"role":"user","content":"` + strings.Repeat("x", 5000) + `"}]}`, 413, "", "request_too_large"},
		{"token outside the vocabulary", "/v1/completions", `{"model":"default","prompt":[1,999999]}`, 400, "prompt", ""},
		{"suffix", "/v1/completions", `{"model":"default","prompt":"a","suffix":"b"}`, 400, "suffix", "not_supported"},
		{"unknown path", "/v1/nothing", `{}`, 404, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, url+tc.path, tc.body)
			if status != tc.status {
				t.Fatalf("status %d, want %d: %s", status, tc.status, body)
			}
			e := openAIErr(t, body)
			if e.Message == "" || e.Type == "" {
				t.Errorf("empty message or type: %s", body)
			}
			if got := deref(e.Param); got != tc.param {
				t.Errorf("param %q, want %q (%s)", got, tc.param, body)
			}
			if tc.code != "" && deref(e.Code) != tc.code {
				t.Errorf("code %q, want %q (%s)", deref(e.Code), tc.code, body)
			}
			if tc.code == "context_length_exceeded" && !strings.Contains(e.Message, "context is 256") {
				t.Errorf("over-long prompt message %q does not give the limit", e.Message)
			}
		})
	}

	// 405 with Allow, in the envelope.
	resp, err := http.Get(url + "/v1/chat/completions")
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	fmt.Fprint(&buf, resp.Header.Get("Allow"))
	b := make([]byte, 4096)
	n, _ := resp.Body.Read(b)
	resp.Body.Close()
	if resp.StatusCode != 405 || buf.String() != "POST" {
		t.Fatalf("GET /v1/chat/completions: %d, Allow %q", resp.StatusCode, buf.String())
	}
	openAIErr(t, b[:n])

	// The official client sees the status and the parsed error.
	c := client(url)
	_, err = c.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "nosuch", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Param != "model" {
		t.Fatalf("unknown model through the client: %v", err)
	}
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func TestAuthCORSAndSlashes(t *testing.T) {
	_, url := startServer(t, Config{APIKey: "sekrit", CORSOrigin: "http://app.example"})
	chat := `{"model":"default","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}`
	if status, body := post(t, url+"/v1/chat/completions", chat); status != 401 {
		t.Fatalf("no key: %d %s", status, body)
	} else if e := openAIErr(t, body); e.Type != "authentication_error" {
		t.Errorf("no key: %+v", e)
	}
	if status, _ := post(t, url+"/v1/chat/completions", chat, "Authorization", "Bearer wrong"); status != 401 {
		t.Fatalf("wrong key: %d", status)
	}
	if status, body := post(t, url+"//v1//chat/completions", chat, "Authorization", "Bearer sekrit"); status != 200 {
		t.Fatalf("right key, doubled slashes: %d %s", status, body)
	}
	// /health needs no key.
	resp, err := http.Get(url + "/health")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("/health: %d", resp.StatusCode)
	}
	// The official client with the key.
	keyed := client(url, optionKey("sekrit"))
	if _, err := keyed.Models.List(context.Background()); err != nil {
		t.Fatal(err)
	}
	// CORS: the configured origin gets a preflight answer, others nothing.
	for _, origin := range []string{"http://app.example", "http://evil.example"} {
		req, _ := http.NewRequest("OPTIONS", url+"/v1/chat/completions", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Access-Control-Allow-Origin")
		if ok := origin == "http://app.example"; ok != (got == origin && resp.StatusCode == 204) || (!ok && got != "") {
			t.Errorf("preflight from %s: %d, Allow-Origin %q", origin, resp.StatusCode, got)
		}
	}
}

func TestNoCORSByDefault(t *testing.T) {
	_, url := startServer(t, Config{})
	req, _ := http.NewRequest("GET", url+"/v1/models", nil)
	req.Header.Set("Origin", "http://app.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if h := resp.Header.Get("Access-Control-Allow-Origin"); h != "" || resp.StatusCode != 200 {
		t.Fatalf("%d, Access-Control-Allow-Origin %q without --cors-origin", resp.StatusCode, h)
	}
}

// eogBan is a logit_bias that keeps the model from ending its turn, so that
// a stream runs as long as the test needs.
func eogBan(t *testing.T, s *Server) string {
	l, release, err := s.Acquire(context.Background(), "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var parts []string
	for _, id := range l.Tok.EOGs() {
		parts = append(parts, fmt.Sprintf(`"%d":-100`, id))
	}
	return "{" + strings.Join(parts, ",") + "}"
}

func TestStreamErrorEventAtShutdown(t *testing.T) {
	s, url := startServer(t, Config{})
	body := `{"model":"default","stream":true,"max_tokens":200,"logit_bias":` + eogBan(t, s) + `,"messages":[{"role":"user","content":"Go on and on."}]}`
	resp, err := http.Post(url+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	first := make([]byte, 1)
	if _, err := resp.Body.Read(first); err != nil {
		t.Fatal(err)
	}
	s.Close() // past the grace period: running generations are cancelled
	rest, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	ev := sseEvents(t, append(first, rest...))
	last := ev[len(ev)-1]
	if strings.Contains(strings.Join(ev, "\n"), "[DONE]") || !strings.Contains(last, `"error"`) {
		t.Fatalf("stream cut by shutdown ends with %q, want an error event and no [DONE]", last)
	}
	if e := openAIErr(t, []byte(last)); e.Type != "unavailable_error" {
		t.Fatalf("error event %+v", e)
	}
}

// TestTruncateDropsOldestTurns, on the base model's 256-token context
// (default-base), where a dozen short turns do not fit.
func TestTruncateDropsOldestTurns(t *testing.T) {
	_, url := startServer(t, Config{})
	var msgs []string
	msgs = append(msgs, `{"role":"system","content":"Be brief."}`)
	for i := range 12 {
		msgs = append(msgs, fmt.Sprintf(`{"role":"user","content":"Question %d: %s"}`, i, strings.Repeat("tell me more ", 4)),
			fmt.Sprintf(`{"role":"assistant","content":"Answer %d: %s"}`, i, strings.Repeat("here is more ", 4)))
	}
	msgs = append(msgs, `{"role":"user","content":"And finally?"}`)
	base := `{"model":"default-base","max_tokens":8,"messages":[` + strings.Join(msgs, ",") + `]`
	if status, body := post(t, url+"/v1/chat/completions", base+`}`); status != 400 || openAIErr(t, body).Code == nil {
		t.Fatalf("over-long conversation without truncate: %d %s", status, body)
	}
	status, body := post(t, url+"/v1/chat/completions", base+`,"truncate":true}`)
	if status != 200 {
		t.Fatalf("with truncate: %d %s", status, body)
	}
	var r chatCompletion
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	if r.Truncated <= 0 || r.Usage.PromptTokens+8 > 256 {
		t.Fatalf("truncated_tokens %d, prompt %d tokens", r.Truncated, r.Usage.PromptTokens)
	}
}

func TestRootAndHealth(t *testing.T) {
	page := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "<html>page "+r.URL.Path) })
	_, url := startServer(t, Config{Web: page})
	get := func(method, path, accept string) (int, string) {
		req, _ := http.NewRequest(method, url+path, nil)
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct{ method, path, accept, want string }{
		{"GET", "/", "", "Ollama is running"},
		{"HEAD", "/", "", ""},
		{"GET", "/", "text/html,application/xhtml+xml", "<html>page /"},
		{"GET", "/assets/app.js", "", "<html>page /assets/app.js"},
		{"GET", "/health", "", `{"status":"ok","version":"dev"}` + "\n"},
	} {
		if status, body := get(tc.method, tc.path, tc.accept); status != 200 || body != tc.want {
			t.Errorf("%s %s (Accept %q): %d %q, want %q", tc.method, tc.path, tc.accept, status, body, tc.want)
		}
	}
	if status, body := get("GET", "/api/nothing", ""); status != 404 || !strings.HasPrefix(body, `{"error":"`) {
		t.Errorf("GET /api/nothing: %d %s, want a 404 in Ollama's envelope", status, body)
	}
	if status, _ := get("DELETE", "/", ""); status != 405 {
		t.Errorf("DELETE /: %d", status)
	}
}

func TestMaxTokensLimit(t *testing.T) {
	s, url := startServer(t, Config{MaxTokensLimit: 5})
	ban := eogBan(t, s)
	status, body := post(t, url+"/v1/chat/completions", `{"model":"default","max_tokens":10,"messages":[{"role":"user","content":"hi"}]}`)
	if e := openAIErr(t, body); status != 400 || deref(e.Param) != "max_tokens" || !strings.Contains(e.Message, "--max-tokens-limit") {
		t.Fatalf("over the limit: %d %s", status, body)
	}
	status, body = post(t, url+"/v1/chat/completions", `{"model":"default","logit_bias":`+ban+`,"messages":[{"role":"user","content":"hi"}]}`)
	var r chatCompletion
	if err := json.Unmarshal(body, &r); status != 200 || err != nil || r.Usage.CompletionTokens != 5 || r.Choices[0].FinishReason != "length" {
		t.Fatalf("no max_tokens under a limit of 5: %d %s", status, body)
	}
}

// The message shapes real clients send are accepted: developer, content
// parts, assistant null content with tool calls, tool results, and the
// fields that mean nothing locally.
func TestOpenAIMessageShapes(t *testing.T) {
	_, url := startServer(t, Config{})
	for _, body := range []string{
		`{"model":"default","max_tokens":2,"messages":[{"role":"developer","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}]}`,
		`{"model":"default","max_tokens":2,"messages":[{"role":"user","content":"Weather?"},{"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{\"city\":\"Paris\"}"}}]},{"role":"tool","tool_call_id":"call_1","content":"18C"}]}`,
		`{"model":"default","max_tokens":2,"n":1,"user":"u","store":false,"metadata":{"k":"v"},"service_tier":"auto","parallel_tool_calls":true,"response_format":{"type":"text"},"modalities":["text"],"tools":[],"stream":false,"messages":[{"role":"user","content":"x","name":"bob"}]}`,
	} {
		if status, resp := post(t, url+"/v1/chat/completions", body); status != 200 {
			t.Errorf("%s\n→ %d %s", body, status, resp)
		}
	}
}

func TestOpenAIChoices(t *testing.T) {
	_, url := startServer(t, Config{})
	c := client(url)
	ctx := context.Background()
	p := openai.ChatCompletionNewParams{
		Model:    "default",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Once upon a time")},
		N:        openai.Int(3), MaxTokens: openai.Int(10), Seed: openai.Int(5), Temperature: openai.Float(1.5),
	}
	r, err := c.Chat.Completions.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Choices) != 3 {
		t.Fatalf("%d choices", len(r.Choices))
	}
	texts := map[string]bool{}
	for i, ch := range r.Choices {
		if ch.Index != int64(i) || ch.FinishReason == "" {
			t.Errorf("choice %d: %+v", i, ch)
		}
		texts[ch.Message.Content] = true
	}
	if len(texts) < 2 {
		t.Errorf("three sampled choices are all %q: the seeds did not differ", r.Choices[0].Message.Content)
	}
	// Streamed: each choice's chunks under its index, a role first and a
	// finish last; usage sums the completions and counts the prompt once.
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := c.Chat.Completions.NewStreaming(ctx, p)
	got := make([]string, 3)
	roles, finishes := 0, 0
	var usage openai.CompletionUsage
	for st.Next() {
		ch := st.Current()
		if len(ch.Choices) == 0 {
			usage = ch.Usage
			continue
		}
		x := ch.Choices[0]
		got[x.Index] += x.Delta.Content
		if x.Delta.Role == "assistant" {
			roles++
		}
		if x.FinishReason != "" {
			finishes++
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if got[i] != r.Choices[i].Message.Content {
			t.Errorf("choice %d streamed %q, plain %q", i, got[i], r.Choices[i].Message.Content)
		}
	}
	if roles != 3 || finishes != 3 || usage.CompletionTokens != r.Usage.CompletionTokens || usage.PromptTokens != r.Usage.PromptTokens {
		t.Errorf("roles %d, finishes %d, usage %+v (plain %+v)", roles, finishes, usage, r.Usage)
	}
	if r.Usage.TotalTokens != r.Usage.PromptTokens+r.Usage.CompletionTokens || r.Usage.CompletionTokens > 30 || r.Usage.CompletionTokens < 3 {
		t.Errorf("usage %+v for three choices of at most 10 tokens", r.Usage)
	}
}
