package eval

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestArenaOpenAIChat checks the request OpenAIChat posts (path, bearer
// key, greedy body with max_tokens and response_format) and that an
// OpenAI error envelope comes back as the server's message.
func TestArenaOpenAIChat(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" || r.Header.Get("Authorization") != "Bearer k" {
			t.Errorf("%s %s, Authorization %q", r.Method, r.URL.Path, r.Header.Get("Authorization"))
		}
		got = nil
		if err := json.NewDecoder(r.Body).Decode(&got); err != nil {
			t.Error(err)
		}
		if got["model"] == "missing" {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"error":{"message":"model 'missing' not found","type":"not_found_error"}}`))
			return
		}
		w.Write([]byte(`{"choices":[{"message":{"role":"assistant","content":"[[A]]"}}]}`))
	}))
	defer srv.Close()
	ctx := context.Background()
	c := &OpenAIChat{BaseURL: srv.URL + "/v1", Model: "m", APIKey: "k", MaxTokens: 7}
	if s, err := c.Answer(ctx, "hi"); err != nil || s != "[[A]]" {
		t.Fatalf("Answer: %q, %v", s, err)
	}
	if got["model"] != "m" || got["temperature"] != 0.0 || got["max_tokens"] != 7.0 || got["response_format"] != nil {
		t.Errorf("body %v", got)
	}
	msgs, _ := got["messages"].([]any)
	if len(msgs) != 1 || msgs[0].(map[string]any)["content"] != "hi" {
		t.Errorf("messages %v", got["messages"])
	}
	if _, err := c.chatWith(ctx, nil, map[string]string{"type": "json_object"}); err != nil {
		t.Fatal(err)
	}
	if rf, _ := got["response_format"].(map[string]any); rf["type"] != "json_object" {
		t.Errorf("response_format %v", got["response_format"])
	}
	c.Model = "missing"
	if _, err := c.Answer(ctx, "hi"); err == nil || !strings.Contains(err.Error(), "HTTP 404: model 'missing' not found") {
		t.Errorf("error %v", err)
	}
}
