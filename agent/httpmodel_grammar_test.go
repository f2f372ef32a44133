// Reference: llama.cpp server README, the "grammar" request field (GBNF); docs/agents.md, Models.

package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gptgo/gptgo/generate/grammar"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/server"
)

// TestReActGBNFIsTheGrammar: the text HTTPModel sends is the grammar the
// in-process model compiles, and it reads back through the GBNF parser.
func TestReActGBNFIsTheGrammar(t *testing.T) {
	specs := basicTools(t).Specs()
	src, err := reactGBNF(specs, false)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(src, "root ::= \"Thought: \"") {
		t.Fatalf("no ReAct root rule:\n%s", src)
	}
	g, err := grammar.CompileGBNF(src)
	if err != nil {
		t.Fatal(err)
	}
	for text, ok := range map[string]bool{
		"Thought: sum\nAction: {\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}": true,
		"Thought: done\nFinal Answer: 2":                                                       true,
		"Thought: sum\nAction: {\"name\": \"nope\", \"arguments\": {}}":                        false,
		"Thought: sum\nAction: {\"name\": \"calculator\", \"arguments\": {\"expr\": \"1+1\"}}": false,
		"Action: {\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}":         false,
		"Thought: " + strings.Repeat("x", reactThought+1) + "\nFinal Answer: 2":                false,
	} {
		m := grammar.NewMatcher(g, nil)
		got := m.AcceptBytes([]byte(text)) == nil && m.Accepting()
		if got != ok {
			t.Errorf("%q: accepted %v, want %v", text, got, ok)
		}
	}
}

// TestHTTPModelReActGrammarAgainstServe runs ReAct turns against a real
// gptgo serve (the default model, loopback) at temperature 1 over several
// seeds: with the grammar sent, every reply is a ReAct step whose Action
// names a real tool with arguments valid under its schema. The default
// model is tiny and untrained for ReAct; unconstrained, its samples are
// not ReAct at all.
func TestHTTPModelReActGrammarAgainstServe(t *testing.T) {
	store, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Models: store, Threads: 1, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	// The wrapper gives each request the test's seed (HTTPModel has no
	// seed) and keeps the grammar it carried.
	var mu sync.Mutex
	var seed int64
	var grammars []string
	var replies []wireResponseText
	h := srv.Handler()
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
			t.Errorf("request body: %v", err)
		}
		mu.Lock()
		body["seed"] = seed
		g, _ := body["grammar"].(string)
		grammars = append(grammars, g)
		mu.Unlock()
		b, _ := json.Marshal(body)
		r.Body = io.NopCloser(bytes.NewReader(b))
		r.ContentLength = int64(len(b))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		var out wireResponseText
		json.Unmarshal(rec.Body.Bytes(), &out)
		mu.Lock()
		replies = append(replies, out)
		mu.Unlock()
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(rec.Body.Bytes())
	}))
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})

	one := 1.0
	// Tools whose arguments have bounded length, so that a reply always
	// ends within the context's room (a calculator expression is a
	// string of up to 2000 characters, which the untrained model fills).
	specs := []ToolSpec{
		{Name: "add", Description: "a+b", Parameters: json.RawMessage(`{"type":"object","properties":{"a":{"type":"integer","minimum":-99,"maximum":99},"b":{"type":"integer","minimum":-99,"maximum":99}},"required":["a","b"]}`)},
		{Name: "weekday", Description: "the next date of a weekday", Parameters: json.RawMessage(`{"type":"object","properties":{"day":{"enum":["mon","tue","wed","thu","fri","sat","sun"]}},"required":["day"]}`)},
	}
	g, err := reactGrammar(specs, false)
	if err != nil {
		t.Fatal(err)
	}
	m := &HTTPModel{BaseURL: ts.URL + "/v1", Model: "default", MaxTokens: 160, Temperature: &one}
	m.react.Store(true) // the ReAct path under test, whatever the template offers
	req := Request{Messages: []Message{{Role: "system", Content: "Be brief."}, {Role: "user", Content: "What is 6*7?"}}, Tools: specs}
	actions := 0
	for s := int64(1); s <= 6; s++ {
		mu.Lock()
		seed = s
		mu.Unlock()
		r, err := m.Complete(context.Background(), req)
		if err != nil {
			t.Fatalf("seed %d: %v", s, err)
		}
		if grammars[len(grammars)-1] == "" {
			t.Fatalf("seed %d: the request carried no grammar", s)
		}
		// The raw reply is in the grammar's language; only a Final
		// Answer, whose text is free, may be cut by max_tokens.
		raw := replies[len(replies)-1]
		if len(raw.Choices) != 1 {
			t.Fatalf("seed %d: %+v", s, raw)
		}
		text, finish := raw.Choices[0].Message.Content, raw.Choices[0].FinishReason
		t.Logf("seed %d (%s): %q", s, finish, text)
		mt := grammar.NewMatcher(g, nil)
		if err := mt.AcceptBytes([]byte(text)); err != nil {
			t.Fatalf("seed %d: the reply leaves the ReAct grammar: %v", s, err)
		}
		if !mt.Accepting() && (finish != "length" || !strings.Contains(text, "\nFinal Answer: ")) {
			t.Fatalf("seed %d: the reply %q (%s) is not a whole ReAct step", s, text, finish)
		}
		if len(r.Calls) > 0 {
			actions++
			c := r.Calls[0]
			if len(r.Calls) != 1 {
				t.Fatalf("seed %d: %d calls in one step", s, len(r.Calls))
			}
			if err := checkTestArgs(c); err != nil {
				t.Fatalf("seed %d: %v", s, err)
			}
		}
	}
	t.Logf("%d of 6 seeds called the tool", actions)
}

// checkTestArgs validates a call against the schemas of the serve test's
// tools, by hand, so that the check does not go through the grammar.
func checkTestArgs(c ToolCall) error {
	d := json.NewDecoder(bytes.NewReader(c.Arguments))
	d.DisallowUnknownFields()
	switch c.Name {
	case "add":
		var a struct{ A, B *int }
		if err := d.Decode(&a); err != nil || a.A == nil || a.B == nil || *a.A < -99 || *a.A > 99 || *a.B < -99 || *a.B > 99 {
			return fmt.Errorf("add's arguments %s are not {a, b: integers in [-99, 99]} (%v)", c.Arguments, err)
		}
	case "weekday":
		var a struct{ Day *string }
		if err := d.Decode(&a); err != nil || a.Day == nil || !strings.Contains(" mon tue wed thu fri sat sun ", " "+*a.Day+" ") {
			return fmt.Errorf("weekday's arguments %s are not {day: a weekday} (%v)", c.Arguments, err)
		}
	default:
		return fmt.Errorf("the call names no tool: %+v", c)
	}
	return nil
}

// wireResponseText is the part of a chat completion the test reads.
type wireResponseText struct {
	Choices []struct {
		Message struct {
			Content string `json:"content"`
		} `json:"message"`
		FinishReason string `json:"finish_reason"`
	} `json:"choices"`
}

// TestHTTPModelRetriesWithoutGrammar: an endpoint that refuses the grammar
// field (OpenAI's 400 for an unknown parameter) gets the request again
// without it, and later turns do not send it; the lenient parser reads the
// unconstrained reply.
func TestHTTPModelRetriesWithoutGrammar(t *testing.T) {
	refuse := func(body map[string]any) (int, string) {
		if body["grammar"] == nil {
			t.Errorf("the first request has no grammar")
		}
		return 400, `{"error":{"message":"Unrecognized request argument supplied: grammar","type":"invalid_request_error","param":null,"code":null}}`
	}
	srv, bodies := fakeOpenAI(t,
		refuse,
		func(map[string]any) (int, string) {
			return 200, completion("I should multiply.\nAction: {\"name\": \"calculator\", \"arguments\": {\"expression\": \"6*7\"}}", "")
		},
		func(map[string]any) (int, string) { return 200, completion("Final Answer: 42", "") },
	)
	m := &HTTPModel{BaseURL: srv.URL + "/v1", APIKey: "k"}
	m.react.Store(true)
	res, err := (&Agent{Model: m, Tools: basicTools(t)}).Run(context.Background(), "6*7?")
	if err != nil || res.Answer != "42" {
		t.Fatalf("%+v %v", res, err)
	}
	if len(*bodies) != 3 {
		t.Fatalf("%d requests, want 3 (refused, retried, next turn)", len(*bodies))
	}
	for i, b := range (*bodies)[1:] {
		if b["grammar"] != nil {
			t.Errorf("request %d still sends the grammar", i+2)
		}
	}
}

// TestHTTPModelOtherErrorsKeepGrammar: a 400 that does not name the
// grammar is the caller's error, not a reason to drop the constraint.
func TestHTTPModelOtherErrorsKeepGrammar(t *testing.T) {
	srv, bodies := fakeOpenAI(t,
		func(map[string]any) (int, string) { return 400, `{"error":{"message":"max_tokens is too large"}}` },
		func(map[string]any) (int, string) { return 200, completion("Thought: ok\nFinal Answer: 1", "") },
	)
	m := &HTTPModel{BaseURL: srv.URL + "/v1", APIKey: "k"}
	m.react.Store(true)
	req := Request{Messages: []Message{{Role: "user", Content: "x"}}, Tools: basicTools(t).Specs()}
	if _, err := m.Complete(context.Background(), req); err == nil || !strings.Contains(err.Error(), "max_tokens") {
		t.Fatalf("want the 400 back, got %v", err)
	}
	if r, err := m.Complete(context.Background(), req); err != nil || r.Content != "1" {
		t.Fatalf("%+v %v", r, err)
	}
	if len(*bodies) != 2 || (*bodies)[1]["grammar"] == nil {
		t.Fatalf("%d requests; the grammar was dropped after an unrelated error", len(*bodies))
	}
}
