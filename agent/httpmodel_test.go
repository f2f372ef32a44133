package agent

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeOpenAI answers chat completions from a script of handlers and keeps
// the request bodies.
func fakeOpenAI(t *testing.T, answers ...func(body map[string]any) (int, string)) (*httptest.Server, *[]map[string]any) {
	var bodies []map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("request %s, auth %q", r.URL.Path, r.Header.Get("Authorization"))
		}
		b, _ := io.ReadAll(r.Body)
		var body map[string]any
		json.Unmarshal(b, &body)
		bodies = append(bodies, body)
		if len(answers) == 0 {
			w.WriteHeader(500)
			return
		}
		code, text := answers[0](body)
		answers = answers[1:]
		w.WriteHeader(code)
		io.WriteString(w, text)
	}))
	t.Cleanup(srv.Close)
	return srv, &bodies
}

func completion(content string, calls string) string {
	c, _ := json.Marshal(content)
	if calls == "" {
		calls = "null"
	}
	return `{"choices":[{"message":{"role":"assistant","content":` + string(c) + `,"tool_calls":` + calls + `}}],"usage":{"prompt_tokens":7,"completion_tokens":3}}`
}

func TestHTTPModelNativeTools(t *testing.T) {
	srv, bodies := fakeOpenAI(t,
		func(map[string]any) (int, string) {
			return 200, completion("", `[{"id":"c1","type":"function","function":{"name":"calculator","arguments":"{\"expression\":\"6*7\"}"}}]`)
		},
		func(map[string]any) (int, string) { return 200, completion("42", "") },
	)
	m := &HTTPModel{BaseURL: srv.URL + "/v1", Model: "m", APIKey: "k"}
	res, err := (&Agent{Model: m, Tools: basicTools(t)}).Run(context.Background(), "6*7?")
	if err != nil || res.Answer != "42" || m.ReAct() {
		t.Fatalf("%+v %v (react %v)", res, err, m.ReAct())
	}
	second, _ := json.Marshal((*bodies)[1]["messages"])
	if !strings.Contains(string(second), `"tool_call_id":"c1"`) || !strings.Contains(string(second), `"content":"42"`) || (*bodies)[0]["tools"] == nil {
		t.Fatalf("second request: %s", second)
	}
	if res.Usage != (Usage{Prompt: 14, Completion: 6}) {
		t.Fatalf("usage %+v", res.Usage)
	}
}

// TestHTTPModelReActFallback: a server that refuses tools (as gptgo serve
// does before tool calling) gets the ReAct protocol instead.
func TestHTTPModelReActFallback(t *testing.T) {
	srv, bodies := fakeOpenAI(t,
		func(map[string]any) (int, string) {
			return 400, `{"error":{"message":"tool calling is not supported yet","type":"invalid_request_error","code":"not_supported","param":"tools"}}`
		},
		func(map[string]any) (int, string) {
			return 200, completion("Thought: multiply\nAction: {\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"}}", "")
		},
		func(map[string]any) (int, string) { return 200, completion("Thought: known\nFinal Answer: 42", "") },
	)
	m := &HTTPModel{BaseURL: srv.URL + "/v1", APIKey: "k"}
	res, err := (&Agent{Model: m, Tools: basicTools(t)}).Run(context.Background(), "6*7?")
	if err != nil || res.Answer != "42" || !m.ReAct() {
		t.Fatalf("%+v %v", res, err)
	}
	if len(*bodies) != 3 || (*bodies)[1]["tools"] != nil {
		t.Fatalf("%d requests; the second still has tools", len(*bodies))
	}
	third, _ := json.Marshal((*bodies)[2]["messages"])
	for _, want := range []string{`calculator(expression: string)`, `Action: {\"name\":\"calculator\"`, `Observation: 42`} {
		if !strings.Contains(string(third), want) {
			t.Errorf("third request lacks %s: %s", want, third)
		}
	}
}

func TestHTTPModelErrors(t *testing.T) {
	srv, _ := fakeOpenAI(t,
		func(map[string]any) (int, string) {
			return 400, `{"error":{"message":"prompt too long","code":"context_length_exceeded"}}`
		},
		func(map[string]any) (int, string) { return 503, `{"error":{"message":"busy"}}` },
		func(map[string]any) (int, string) { return 200, `{"choices":[]}` },
	)
	m := &HTTPModel{BaseURL: srv.URL + "/v1", APIKey: "k"}
	req := Request{Messages: []Message{{Role: "user", Content: "x"}}}
	if _, err := m.Complete(context.Background(), req); err == nil || !strings.Contains(err.Error(), "does not fit") {
		t.Fatalf("context: %v", err)
	}
	if _, err := m.Complete(context.Background(), req); err == nil || !strings.Contains(err.Error(), "503: busy") {
		t.Fatalf("503: %v", err)
	}
	if _, err := m.Complete(context.Background(), req); err == nil || !strings.Contains(err.Error(), "no choices") {
		t.Fatalf("empty: %v", err)
	}
}

// TestHTTPModelReActWhenToolsDoNotFit: a server whose rendering of the
// tools overflows the context, while the ReAct prompt fits.
func TestHTTPModelReActWhenToolsDoNotFit(t *testing.T) {
	srv, bodies := fakeOpenAI(t,
		func(map[string]any) (int, string) {
			return 400, `{"error":{"message":"prompt too long","code":"context_length_exceeded"}}`
		},
		func(map[string]any) (int, string) { return 200, completion("Thought: easy\nFinal Answer: 42", "") },
		func(map[string]any) (int, string) { return 200, completion("Final Answer: again", "") },
	)
	m := &HTTPModel{BaseURL: srv.URL + "/v1", APIKey: "k"}
	req := Request{Messages: []Message{{Role: "system", Content: "s"}, {Role: "user", Content: "x"}}, Tools: basicTools(t).Specs()}
	r, err := m.Complete(context.Background(), req)
	if err != nil || r.Content != "42" || !m.ReAct() || (*bodies)[1]["tools"] != nil {
		t.Fatalf("%+v %v react %v", r, err, m.ReAct())
	}
	if r, err := m.Complete(context.Background(), req); err != nil || r.Content != "again" || len(*bodies) != 3 {
		t.Fatalf("the second turn did not go straight to ReAct: %+v %v, %d requests", r, err, len(*bodies))
	}
}
