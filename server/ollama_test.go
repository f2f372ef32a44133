package server

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/modelstore"
)

// ollamaCtx is the test server's context: small, so that a prompt too long
// for it is cheap to make.
const ollamaCtx = 128

// newOllamaServer serves a fresh models directory (the embedded default
// model only) on a loopback port.
func newOllamaServer(t *testing.T) (*Server, *httptest.Server, *modelstore.Store) {
	t.Helper()
	store, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(Config{Models: store, Ctx: ollamaCtx, Threads: 1, Version: "0.0.1-test",
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { ts.Close(); srv.Close() })
	return srv, ts, store
}

// ollamaDo sends method url with body and returns the status, the
// Content-Type and the body.
func ollamaDo(t *testing.T, method, url, body string) (int, string, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), string(b)
}

// ndjsonLines splits an NDJSON body into objects, failing on a line that
// is not one JSON object.
func ndjsonLines(t *testing.T, body string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("NDJSON line %q: %v", sc.Text(), err)
		}
		out = append(out, m)
	}
	if len(out) == 0 {
		t.Fatalf("empty NDJSON body")
	}
	return out
}

// checkFinal checks a final object's documented fields.
func checkFinal(t *testing.T, m map[string]any, reason string) {
	t.Helper()
	if m["done"] != true || m["done_reason"] != reason {
		t.Errorf("final object done=%v done_reason=%v, want true %q: %v", m["done"], m["done_reason"], reason, m)
	}
	for _, k := range []string{"total_duration", "load_duration", "prompt_eval_count", "prompt_eval_duration", "eval_count", "eval_duration"} {
		if v, ok := m[k].(float64); !ok || v <= 0 || v != float64(int64(v)) {
			t.Errorf("final object %s = %v, want a positive integer", k, m[k])
		}
	}
	if m["total_duration"].(float64) < m["eval_duration"].(float64) {
		t.Errorf("total_duration %v < eval_duration %v", m["total_duration"], m["eval_duration"])
	}
	if _, err := time.Parse(time.RFC3339Nano, m["created_at"].(string)); err != nil {
		t.Errorf("created_at: %v", err)
	}
}

func TestOllamaGenerate(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	// Streaming by default: the documented request, greedy and bounded.
	body := `{"model": "default", "prompt": "Once upon a time", "options": {"temperature": 0, "num_predict": 12}}`
	code, ctype, out := ollamaDo(t, "POST", ts.URL+"/api/generate", body)
	if code != 200 || ctype != "application/x-ndjson" {
		t.Fatalf("status %d, Content-Type %q: %s", code, ctype, out)
	}
	lines := ndjsonLines(t, out)
	var streamed strings.Builder
	for _, m := range lines[:len(lines)-1] {
		if m["done"] != false || m["model"] != "default" {
			t.Errorf("chunk %v", m)
		}
		streamed.WriteString(m["response"].(string))
	}
	last := lines[len(lines)-1]
	reason := last["done_reason"].(string)
	if reason != "length" && reason != "stop" {
		t.Errorf("done_reason %q", reason)
	}
	checkFinal(t, last, reason)
	if last["response"] != "" {
		t.Errorf("final streamed object carries response %q", last["response"])
	}
	ctxTokens, _ := last["context"].([]any)
	if len(ctxTokens) != int(last["prompt_eval_count"].(float64))+int(last["eval_count"].(float64)) {
		t.Errorf("context has %d tokens, prompt_eval_count %v + eval_count %v", len(ctxTokens), last["prompt_eval_count"], last["eval_count"])
	}
	if n := last["eval_count"].(float64); n > 12 {
		t.Errorf("eval_count %v over num_predict 12", n)
	}

	// stream: false gives the same greedy text in one object.
	code, ctype, out = ollamaDo(t, "POST", ts.URL+"/api/generate", strings.Replace(body, `"prompt"`, `"stream": false, "prompt"`, 1))
	if code != 200 || !strings.HasPrefix(ctype, "application/json") {
		t.Fatalf("stream false: %d %q %s", code, ctype, out)
	}
	var one map[string]any
	if err := json.Unmarshal([]byte(out), &one); err != nil {
		t.Fatal(err)
	}
	checkFinal(t, one, reason)
	if one["response"] != streamed.String() || streamed.Len() == 0 {
		t.Errorf("stream false response %q, streamed %q", one["response"], streamed.String())
	}

	// The context continues the conversation: the next prompt runs after it.
	ctxJSON, _ := json.Marshal(one["context"])
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":" And then","stream":false,"context":`+string(ctxJSON)+`,"options":{"num_predict":4,"temperature":0}}`)
	var next map[string]any
	if code != 200 || json.Unmarshal([]byte(out), &next) != nil {
		t.Fatalf("with context: %d %s", code, out)
	}
	if n := len(next["context"].([]any)); n <= len(one["context"].([]any)) {
		t.Errorf("context after a continuation has %d tokens, before %d", n, len(one["context"].([]any)))
	}

	// raw: no template, no context in the answer; a stop string ends the text.
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,"num_predict":12,"stop":["`+firstWord(one["response"].(string))+`"]}}`)
	var raw map[string]any
	if code != 200 || json.Unmarshal([]byte(out), &raw) != nil {
		t.Fatalf("raw: %d %s", code, out)
	}
	if _, has := raw["context"]; has {
		t.Error("raw answer carries a context")
	}

	// A template override (Jinja) and a system prompt change the prompt.
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":"hi","system":"SYS","template":"{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}","stream":false,"options":{"num_predict":1}}`)
	var tm map[string]any
	if code != 200 || json.Unmarshal([]byte(out), &tm) != nil {
		t.Fatalf("template: %d %s", code, out)
	}
	if pc := tm["prompt_eval_count"].(float64); pc < 6 {
		t.Errorf("templated prompt has %v tokens", pc)
	}
}

// firstWord is a stop string that the greedy answer surely contains.
func firstWord(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > 3 {
		return s[len(s)/2 : len(s)/2+2]
	}
	return s
}

func TestOllamaChat(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	body := `{"model": "default", "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "why is the sky blue?"}], "options": {"seed": 101, "temperature": 0, "num_predict": 10}}`
	code, ctype, out := ollamaDo(t, "POST", ts.URL+"/api/chat", body)
	if code != 200 || ctype != "application/x-ndjson" {
		t.Fatalf("status %d %q: %s", code, ctype, out)
	}
	lines := ndjsonLines(t, out)
	var text strings.Builder
	for _, m := range lines[:len(lines)-1] {
		msg := m["message"].(map[string]any)
		if m["done"] != false || msg["role"] != "assistant" {
			t.Errorf("chunk %v", m)
		}
		text.WriteString(msg["content"].(string))
	}
	last := lines[len(lines)-1]
	checkFinal(t, last, last["done_reason"].(string))
	if _, has := last["context"]; has {
		t.Error("chat answer carries a context")
	}
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/chat", strings.Replace(body, `"options"`, `"stream": false, "options"`, 1))
	var one struct {
		Message struct{ Role, Content string }
		Done    bool
	}
	if code != 200 || json.Unmarshal([]byte(out), &one) != nil || !one.Done || one.Message.Role != "assistant" || one.Message.Content != text.String() {
		t.Errorf("stream false: %d %s (streamed %q)", code, out, text.String())
	}
	// A history with an assistant turn and a tool result renders (through
	// the base model's short template: in the default model's ChatML it
	// is longer than the test server's context).
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"default-base","stream":false,"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"x":1}}}]},{"role":"tool","content":"2","tool_name":"f"},{"role":"user","content":"so?"}],"options":{"num_predict":2}}`)
	if code != 200 {
		t.Errorf("history with tool turns: %d %s", code, out)
	}
}

func TestOllamaLoadUnloadAndPs(t *testing.T) {
	srv, ts, _ := newOllamaServer(t)
	ps := func() []map[string]any {
		code, _, out := ollamaDo(t, "GET", ts.URL+"/api/ps", "")
		var r struct{ Models []map[string]any }
		if code != 200 || json.Unmarshal([]byte(out), &r) != nil {
			t.Fatalf("ps: %d %s", code, out)
		}
		return r.Models
	}
	if m := ps(); len(m) != 0 {
		t.Fatalf("ps before any load: %v", m)
	}
	code, _, out := ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","keep_alive":"10m"}`)
	if code != 200 || !strings.Contains(out, `"done_reason":"load"`) || !strings.Contains(out, `"done":true`) {
		t.Fatalf("load: %d %s", code, out)
	}
	m := ps()
	if len(m) != 1 || m[0]["name"] != "default:latest" || m[0]["size"].(float64) <= 0 || m[0]["context_length"] != float64(ollamaCtx) {
		t.Fatalf("ps after load: %v", m)
	}
	exp, err := time.Parse(time.RFC3339Nano, m[0]["expires_at"].(string))
	if left := time.Until(exp); err != nil || left < 9*time.Minute || left > 10*time.Minute+time.Second {
		t.Errorf("expires_at %v (%v from now), want about 10m", m[0]["expires_at"], left)
	}
	// keep_alive -1 (a number): forever, shown as a far future time.
	ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"default","messages":[],"keep_alive":-1}`)
	exp, _ = time.Parse(time.RFC3339Nano, ps()[0]["expires_at"].(string))
	if exp.Year() < 2200 {
		t.Errorf("keep_alive -1: expires_at %v", exp)
	}
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"default","messages":[],"keep_alive":0}`)
	if code != 200 || !strings.Contains(out, `"done_reason":"unload"`) || !strings.Contains(out, `"role":"assistant"`) {
		t.Fatalf("unload: %d %s", code, out)
	}
	if m := ps(); len(m) != 0 || srv.models.count() != 0 {
		t.Errorf("ps after unload: %v", m)
	}
	// keep_alive 0 on a generation unloads the model after it.
	ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":"a","stream":false,"keep_alive":"0s","options":{"num_predict":1}}`)
	if m := ps(); len(m) != 0 {
		t.Errorf("ps after a keep_alive 0 generation: %v", m)
	}
}

func TestOllamaTagsShowVersion(t *testing.T) {
	_, ts, store := newOllamaServer(t)
	mf, err := modelstore.ParseModelfile("FROM default\nSYSTEM Be brief.\nPARAMETER stop <end>\nPARAMETER temperature 0.5\n")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := store.Create(context.Background(), "brief:v1", mf, modelstore.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, _, out := ollamaDo(t, "GET", ts.URL+"/api/tags", "")
	var tags struct {
		Models []struct {
			Name, Model, Digest string
			ModifiedAt          time.Time `json:"modified_at"`
			Size                int64
			Details             map[string]any
		}
	}
	if code != 200 || json.Unmarshal([]byte(out), &tags) != nil || len(tags.Models) != 2 {
		t.Fatalf("tags: %d %s", code, out)
	}
	b := tags.Models[1]
	if b.Name != "brief:v1" || b.Model != "brief:v1" || len(b.Digest) != 64 || b.Size <= 0 || b.ModifiedAt.IsZero() ||
		b.Details["format"] != "gguf" || b.Details["family"] != "llama" || b.Details["parameter_size"] == "" || b.Details["quantization_level"] != "Q8_0" {
		t.Errorf("tags entry %+v", b)
	}

	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/show", `{"model":"brief:v1"}`)
	var show map[string]any
	if code != 200 || json.Unmarshal([]byte(out), &show) != nil {
		t.Fatalf("show: %d %s", code, out)
	}
	info := show["model_info"].(map[string]any)
	if info["llama.context_length"] != float64(1024) || info["general.architecture"] != "llama" || info["general.parameter_count"].(float64) <= 0 {
		t.Errorf("model_info %v", info)
	}
	if v, has := info["tokenizer.ggml.tokens"]; !has || v != nil {
		t.Errorf("tokenizer.ggml.tokens without verbose: %v", v)
	}
	if show["system"] != "Be brief." || !strings.Contains(show["parameters"].(string), `"<end>"`) || !strings.Contains(show["modelfile"].(string), "PARAMETER temperature 0.5") ||
		show["template"] == "" || show["capabilities"].([]any)[0] != "completion" {
		t.Errorf("show: %v", show)
	}
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/show", `{"name":"brief:v1","verbose":true}`)
	if code != 200 || !strings.Contains(out, `"tokenizer.ggml.tokens":["`) {
		t.Errorf("show verbose (old name field): %d %.200s", code, out)
	}

	code, _, out = ollamaDo(t, "GET", ts.URL+"/api/version", "")
	if code != 200 || strings.TrimSpace(out) != `{"version":"0.0.1-test"}` {
		t.Errorf("version: %d %s", code, out)
	}

	// copy and delete, as Ollama answers them.
	if code, _, out = ollamaDo(t, "POST", ts.URL+"/api/copy", `{"source":"brief:v1","destination":"brief-backup"}`); code != 200 {
		t.Errorf("copy: %d %s", code, out)
	}
	if code, _, out = ollamaDo(t, "DELETE", ts.URL+"/api/delete", `{"model":"brief-backup"}`); code != 200 {
		t.Errorf("delete: %d %s", code, out)
	}
	if code, _, out = ollamaDo(t, "DELETE", ts.URL+"/api/delete", `{"model":"brief-backup"}`); code != 404 || out != "{\"error\":\"model 'brief-backup' not found\"}\n" {
		t.Errorf("delete twice: %d %s", code, out)
	}
	if code, _, out = ollamaDo(t, "POST", ts.URL+"/api/copy", `{"source":"nope","destination":"x"}`); code != 404 {
		t.Errorf("copy of a missing model: %d %s", code, out)
	}
	if code, _, _ = ollamaDo(t, "DELETE", ts.URL+"/api/delete", `{"model":"default"}`); code != 400 {
		t.Errorf("delete default: %d", code)
	}
}

func TestOllamaRootHealth(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	code, _, out := ollamaDo(t, "GET", ts.URL+"/", "")
	if code != 200 || out != "Ollama is running" {
		t.Errorf("GET /: %d %q", code, out)
	}
	if code, _, out = ollamaDo(t, "HEAD", ts.URL+"/", ""); code != 200 || out != "" {
		t.Errorf("HEAD /: %d %q", code, out)
	}
}

func TestOllamaErrors(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	long := strings.Repeat("the cat sat on the mat and ", 200)
	for _, c := range []struct {
		method, path, body string
		code               int
		want               string
	}{
		{"POST", "/api/chat", `{"model":"nope","messages":[{"role":"user","content":"hi"}]}`, 404, `{"error":"model \"nope\" not found, try pulling it first"}`},
		{"POST", "/api/generate", `{"model":"nope","prompt":"hi"}`, 404, `not found, try pulling it first`},
		{"POST", "/api/generate", `{"model":"nope"}`, 404, `not found`},
		{"POST", "/api/show", `{"model":"nope"}`, 404, `{"error":"model 'nope' not found"}`},
		{"POST", "/api/generate", `{"model":"../x","prompt":"hi"}`, 400, `invalid model name`},
		{"POST", "/api/generate", `{"prompt":"hi"}`, 400, `model is required`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"temprature":1,"num_gpu":1,"foo":2}}`, 400, `unknown options: foo, temprature`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"mirostat":2}}`, 400, `mirostat is not supported`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"top_k":"40"}}`, 400, `options.top_k: expected an integer`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"top_p":1.5}}`, 400, `top_p 1.5`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"top_k":{}}}`, 400, `options.top_k: expected an integer`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"stop":[""]}}`, 400, `options.stop: an empty string`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"num_ctx":0}}`, 400, `num_ctx 0: must be at least 1`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"options":{"num_predict":0}}`, 400, `num_predict 0`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"format":"yaml"}`, 400, `format must be \"json\" or a JSON schema`},
		{"POST", "/api/generate", `{"model":"default","prompt":"hi","format":{"type":"object","if":{}}}`, 400, `if at /: keyword not supported`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"tools":[{"type":"code"}]}`, 400, `only function tools are supported`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi","images":["aGk="]}]}`, 400, `images`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"user","content":"hi"}],"think":true}`, 400, `thinking`},
		{"POST", "/api/chat", `{"model":"default","messages":[{"role":"wizard","content":"hi"}]}`, 400, `unknown role \"wizard\"`},
		{"POST", "/api/generate", `{"model":"default","prompt":"hi","suffix":"x"}`, 400, `suffix`},
		{"POST", "/api/generate", `{"model":"default","prompt":"hi","keep_alive":"soon"}`, 400, `keep_alive: \"soon\" is neither a duration`},
		{"POST", "/api/generate", `{"model":"default","prompt":"hi","context":[1,99999999]}`, 400, `context[1] = 99999999 is not a token`},
		{"POST", "/api/generate", `{"model":"default","prompt":"hi","template":"{{ .Prompt }}"}`, 400, `Ollama Go template`},
		{"POST", "/api/generate", `{"model":"default","prompt":"` + long + `","stream":false}`, 400, `context`},
		{"POST", "/api/generate", `{"model":"default","prompt":"hi","colour":"blue"}`, 400, `unknown field \"colour\"`},
		{"POST", "/api/generate", `{"model":"default","prompt":42}`, 400, `prompt: expected a string`},
		{"POST", "/api/generate", `{"model":"default",`, 400, `invalid JSON`},
		{"GET", "/api/chat", ``, 405, `method not allowed`},
		{"POST", "/api/tags", `{}`, 405, `method not allowed`},
		{"GET", "/api/nosuch", ``, 404, `no such endpoint`},
	} {
		code, ctype, out := ollamaDo(t, c.method, ts.URL+c.path, c.body)
		var env struct{ Error string }
		if code != c.code || !strings.Contains(out, c.want) || json.Unmarshal([]byte(out), &env) != nil || env.Error == "" || !strings.HasPrefix(ctype, "application/json") {
			t.Errorf("%s %s %.80s: %d %q, want %d and %q in Ollama's envelope", c.method, c.path, c.body, code, out, c.code, c.want)
		}
	}
	// Accepted without effect: hardware hints, samplers at their off value, null.
	code, _, out := ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"default","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"num_gpu":1,"num_thread":8,"use_mmap":true,"mirostat":0,"typical_p":1.0,"temperature":null,"num_predict":2},"keep_alive":"5m","think":false,"format":""}`)
	if code != 200 {
		t.Errorf("hints and off values: %d %s", code, out)
	}
}

func TestOllamaStopAndLength(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	gen := func(opts string) map[string]any {
		code, _, out := ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default","prompt":"Once upon a time","raw":true,"stream":false,"options":{"temperature":0,`+opts+`}}`)
		var m map[string]any
		if code != 200 || json.Unmarshal([]byte(out), &m) != nil {
			t.Fatalf("%s: %d %s", opts, code, out)
		}
		return m
	}
	full := gen(`"num_predict":16`)
	text := full["response"].(string)
	if full["done_reason"] != "length" || full["eval_count"] != float64(16) || len(text) < 4 {
		t.Skipf("the default model ended early (%v, %q); stop strings need a longer answer", full["done_reason"], text)
	}
	stop := text[len(text)/2 : len(text)/2+2]
	cut := gen(`"num_predict":16,"stop":"` + strings.ReplaceAll(stop, `"`, `\"`) + `"`)
	if cut["done_reason"] != "stop" || strings.Contains(cut["response"].(string), stop) || !strings.HasPrefix(text, cut["response"].(string)) {
		t.Errorf("stop %q: %v %q (full %q)", stop, cut["done_reason"], cut["response"], text)
	}
	if short := gen(`"num_predict":3`); short["done_reason"] != "length" || short["eval_count"] != float64(3) {
		t.Errorf("num_predict 3: %v %v", short["done_reason"], short["eval_count"])
	}
	// Seeded sampling is reproducible.
	a, b := gen(`"num_predict":8,"temperature":1,"seed":7`), gen(`"num_predict":8,"temperature":1,"seed":7`)
	if a["response"] != b["response"] {
		t.Errorf("seed 7 gave %q then %q", a["response"], b["response"])
	}
}

func TestOllamaLogprobs(t *testing.T) {
	_, ts, _ := newOllamaServer(t)
	code, _, out := ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"default","stream":false,"logprobs":true,"top_logprobs":2,"messages":[{"role":"user","content":"hi"}],"options":{"num_predict":3}}`)
	var r struct {
		Logprobs []struct {
			Token       string
			Logprob     float64
			TopLogprobs []struct{ Token string } `json:"top_logprobs"`
		}
		EvalCount int `json:"eval_count"`
	}
	if code != 200 || json.Unmarshal([]byte(out), &r) != nil || len(r.Logprobs) != r.EvalCount || len(r.Logprobs) == 0 {
		t.Fatalf("logprobs: %d %s", code, out)
	}
	for _, lp := range r.Logprobs {
		if lp.Logprob > 0 || len(lp.TopLogprobs) != 2 {
			t.Errorf("logprob %+v", lp)
		}
	}
}

// TestOllamaClientGoesAway: a client that drops a stream cancels its
// generation and the model's session is free again at once.
func TestOllamaClientGoesAway(t *testing.T) {
	srv, ts, _ := newOllamaServer(t)
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/generate", strings.NewReader(`{"model":"default","prompt":"Once","raw":true,"options":{"num_predict":-1}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadBytes('\n'); err != nil {
		t.Fatal(err)
	}
	cancel()
	resp.Body.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		running := srv.Running()
		if len(running) == 1 && running[0].InUse == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the model is still held after the client left: %+v", running)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestOllamaDuration(t *testing.T) {
	for in, want := range map[string]time.Duration{
		`"5m"`: 5 * time.Minute, `300`: 300 * time.Second, `1.5`: 1500 * time.Millisecond, `0`: 0, `"0"`: 0, `"0s"`: 0,
		`-1`: -1, `"-1"`: -1, `"-1m"`: -1, `"1h30m"`: 90 * time.Minute, `1e300`: -1,
	} {
		var d ollamaDuration
		if err := json.Unmarshal([]byte(in), &d); err != nil || d.d != want {
			t.Errorf("keep_alive %s = %v, %v; want %v", in, d.d, err, want)
		}
	}
	for _, in := range []string{`"soon"`, `true`, `"5 minutes"`, `[]`} {
		var d ollamaDuration
		if err := json.Unmarshal([]byte(in), &d); err == nil {
			t.Errorf("keep_alive %s accepted as %v", in, d.d)
		}
	}
}

// TestOllamaShutdownEndsStreams: a stream cut short by Server.Close ends
// with an error line, not silently.
func TestOllamaShutdownEndsStreams(t *testing.T) {
	srv, ts, _ := newOllamaServer(t)
	resp, err := http.Post(ts.URL+"/api/chat", "application/json", strings.NewReader(`{"model":"default","messages":[{"role":"user","content":"Once"}],"options":{"num_predict":-1}}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	if _, err := br.ReadBytes('\n'); err != nil {
		t.Fatal(err)
	}
	srv.Close()
	rest, _ := io.ReadAll(br)
	lines := strings.Split(strings.TrimSpace(string(rest)), "\n")
	last := lines[len(lines)-1]
	if !strings.Contains(last, `"error":"the server is shutting down`) {
		t.Errorf("last line after Close: %q", last)
	}
}

// TestOllamaConcurrentStreams: eight clients stream at once, half of them
// leaving after the first line; every finished stream is well-formed and
// the goroutines and the model's session return to where they were.
func TestOllamaConcurrentStreams(t *testing.T) {
	srv, ts, _ := newOllamaServer(t)
	ollamaDo(t, "POST", ts.URL+"/api/generate", `{"model":"default"}`) // load first
	// A transport of its own, whose idle connections can be closed before counting.
	tr := &http.Transport{}
	client := &http.Client{Transport: tr}
	before := runtime.NumGoroutine()
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			body := fmt.Sprintf(`{"model":"default","prompt":"Story %d:","raw":true,"options":{"num_predict":24,"seed":%d}}`, i, i)
			req, _ := http.NewRequestWithContext(ctx, "POST", ts.URL+"/api/generate", strings.NewReader(body))
			resp, err := client.Do(req)
			if err != nil {
				errs <- err
				return
			}
			defer resp.Body.Close()
			br := bufio.NewReader(resp.Body)
			if i%2 == 1 {
				br.ReadBytes('\n')
				cancel() // leave mid-stream
				return
			}
			b, err := io.ReadAll(br)
			if err != nil {
				errs <- err
				return
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			for j, l := range lines {
				var m map[string]any
				if err := json.Unmarshal([]byte(l), &m); err != nil || (m["done"] == true) != (j == len(lines)-1) {
					errs <- fmt.Errorf("client %d line %d: %q", i, j, l)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	tr.CloseIdleConnections()
	deadline := time.Now().Add(5 * time.Second)
	for {
		r := srv.Running()
		n := runtime.NumGoroutine()
		if len(r) == 1 && r[0].InUse == 0 && n <= before {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the streams: %d goroutines (%d before), running %+v", n, before, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestOllamaCreate(t *testing.T) {
	_, ts, store := newOllamaServer(t)
	// The documented request: a new model from an existing one.
	code, ctype, out := ollamaDo(t, "POST", ts.URL+"/api/create", `{"model": "mario", "from": "default", "system": "You are Mario from Super Mario Bros.", "parameters": {"temperature": 0.7, "stop": ["<a>", "<b>"]}, "license": "MIT"}`)
	if code != 200 || ctype != "application/x-ndjson" {
		t.Fatalf("create: %d %q %s", code, ctype, out)
	}
	lines := ndjsonLines(t, out)
	if lines[len(lines)-1]["status"] != "success" {
		t.Errorf("last status %v", lines[len(lines)-1])
	}
	e, err := store.Resolve("mario")
	if err != nil || e.System != "You are Mario from Super Mario Bros." || len(e.Parameters["stop"]) != 2 || e.Parameters["temperature"][0] != "0.7" {
		t.Fatalf("created %+v %v", e, err)
	}
	// The older form: a Modelfile's text, quantized, not streamed.
	code, _, out = ollamaDo(t, "POST", ts.URL+"/api/create", `{"name": "mario:q4", "modelfile": "FROM mario\nPARAMETER temperature 0.2", "quantize": "q4_0", "stream": false}`)
	if code != 200 || strings.TrimSpace(out) != `{"status":"success"}` {
		t.Fatalf("create with modelfile: %d %s", code, out)
	}
	if e, err := store.Resolve("mario:q4"); err != nil || e.Details.QuantizationLevel != "Q4_0" || e.Parameters["temperature"][0] != "0.2" || e.System == "" {
		t.Errorf("mario:q4 %+v %v", e, err)
	}
	// The new model serves at once.
	if code, _, out = ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"mario","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"num_predict":2}}`); code != 200 {
		t.Errorf("chat with the created model: %d %s", code, out)
	}
	for _, c := range []struct {
		body string
		code int
		want string
	}{
		{`{"model":"x","from":"nope"}`, 404, `from: model 'nope' not found`},
		{`{"model":"x","from":"./evil.gguf"}`, 400, `invalid model name`},
		{`{"model":"x","modelfile":"FROM /etc/models/a.gguf"}`, 400, `invalid model name`},
		{`{"model":"x","from":"default","files":{"a.gguf":"sha256:00"}}`, 400, `no uploaded blobs`},
		{`{"model":"x","from":"default","quantize":"q9"}`, 400, `quantize`},
		{`{"model":"x","from":"default","parameters":{"temprature":1}}`, 400, `unknown parameter \"temprature\"`},
		{`{"model":"x","from":"default","template":"{{ .Prompt }}"}`, 400, `Ollama Go template`},
		{`{"model":"x","modelfile":"FROM default\nPARAMETER top_k x"}`, 400, `line 2`},
		{`{"model":"default","from":"mario"}`, 400, `cannot be changed`},
		{`{"model":"../x","from":"mario"}`, 400, `invalid model name`},
		{`{"from":"mario"}`, 400, `model is required`},
		{`{"model":"x"}`, 400, `from: name the model`},
	} {
		code, _, out := ollamaDo(t, "POST", ts.URL+"/api/create", c.body)
		if code != c.code || !strings.Contains(out, c.want) {
			t.Errorf("create %s: %d %s; want %d and %q", c.body, code, out, c.code, c.want)
		}
	}
	if _, err := store.Resolve("x"); err == nil {
		t.Error("a failed create left a model behind")
	}
}

// TestOllamaLogLine: the request's log line names the model and the tokens.
func TestOllamaLogLine(t *testing.T) {
	store, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	var mu sync.Mutex
	srv, err := New(Config{Models: store, Ctx: ollamaCtx, Threads: 1, Logger: slog.New(slog.NewTextHandler(ollamaLogWriter{&mu, &buf}, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close() }()
	if code, _, out := ollamaDo(t, "POST", ts.URL+"/api/chat", `{"model":"default","stream":false,"messages":[{"role":"user","content":"hi"}],"options":{"num_predict":3}}`); code != 200 {
		t.Fatalf("%d %s", code, out)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		mu.Lock()
		log := buf.String()
		mu.Unlock()
		if strings.Contains(log, "path=/api/chat") {
			if !strings.Contains(log, "model=default:latest") || !strings.Contains(log, "completion_tokens=") {
				t.Errorf("log line %q", log)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line for /api/chat: %q", log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

type ollamaLogWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l ollamaLogWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
