// Reference: OpenAI chat completions streaming (what `gptgo chat --host` sends and reads), against
// the real gptgo server on loopback.

package main

import (
	"strings"
	"testing"
)

func TestRemoteBase(t *testing.T) {
	for in, want := range map[string]string{
		"127.0.0.1:11434":             "http://127.0.0.1:11434",
		"localhost":                   "http://localhost:11434",
		":8080":                       "http://127.0.0.1:8080",
		"http://h:1/":                 "http://h:1",
		"http://h:1/v1":               "http://h:1",
		"https://api.example.com/v1/": "https://api.example.com",
		"http://proxy/gptgo/v1":       "http://proxy/gptgo",
		"[::1]:9000":                  "http://[::1]:9000",
		"::1":                         "http://[::1]:11434",
		"0.0.0.0:11434":               "http://127.0.0.1:11434",
		"[::]:9000":                   "http://[::1]:9000",
		"http://0.0.0.0:1/v1":         "http://127.0.0.1:1",
	} {
		if got, err := remoteBase(in); err != nil || got != want {
			t.Errorf("remoteBase(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://h", "http://", "http://h/?q=1", "http://h/#x"} {
		if got, err := remoteBase(bad); err == nil {
			t.Errorf("remoteBase(%q) = %q, want an error", bad, got)
		}
	}
}

// TestReadChatStream: the stream reader takes what servers send (CRLF,
// several data lines, comments, a usage chunk with no choices) and turns an
// error event or a cut stream into an error.
func TestReadChatStream(t *testing.T) {
	ok := ": keep-alive\r\n\r\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\n" + "data: \"delta\":{\"content\":\"lo\"}}]}\n\n" +
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"length\"}]}\n\n" +
		"data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":2}}\n\n" +
		"data: [DONE]\n\n"
	var text strings.Builder
	st, err := readChatStream(strings.NewReader(ok), func(s string) error { text.WriteString(s); return nil })
	if err != nil || text.String() != "Hello" || st.finish != "length" || st.promptTokens != 7 || st.completionTokens != 2 || !st.done {
		t.Errorf("got %q, %+v, %v", text.String(), st, err)
	}
	for name, c := range map[string]struct{ stream, want string }{
		"error event": {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\ndata: {\"error\":{\"message\":\"model unloaded\",\"type\":\"server_error\"}}\n\n", "the server stopped the answer: model unloaded"},
		"cut":         {"data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"a\"}}]}\n\n", "the stream ended before the answer did"},
		"not json":    {"data: {oops\n\n", "not JSON"},
	} {
		_, err := readChatStream(strings.NewReader(c.stream), func(string) error { return nil })
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", name, err, c.want)
		}
	}
}
