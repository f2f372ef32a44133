// Reference: net/http/httptest (a real server on loopback) and the official OpenAI Go client
// (github.com/openai/openai-go/v3), which the tests drive the server with.

package server

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/gptgo/gptgo/modelstore"
)

// startServer runs a server over an empty models directory (so only the
// embedded default model exists) on a loopback listener, closed when the
// test ends. cfg's Models is filled in; one thread per session keeps the
// two-core test machine usable for the other packages' tests.
func startServer(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	cfg.BatchScheduler = cfg.BatchScheduler || *batchFlag // -args -batch-scheduler (sched_test.go)
	return startServerAs(t, cfg)
}

// startSessions is startServer on the sessions path (Config.BatchScheduler
// off: a session per running request, the others in a FIFO queue) even
// under -args -batch-scheduler, for the tests of that path's own
// behaviour: its queue, its sessions held by WithSession.
func startSessions(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	cfg.BatchScheduler = false
	return startServerAs(t, cfg)
}

// startServerAs is startServer with cfg.BatchScheduler as it is.
func startServerAs(t testing.TB, cfg Config) (*Server, string) {
	t.Helper()
	store, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Models = store
	if cfg.Threads == 0 {
		cfg.Threads = 1
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		ts.Close()
		s.Close()
	})
	return s, ts.URL
}

// client is the official OpenAI client pointed at url, without retries
// (a retried 4xx/5xx would hide the status under test).
func client(url string, opts ...option.RequestOption) openai.Client {
	return openai.NewClient(append([]option.RequestOption{option.WithBaseURL(url + "/v1/"), option.WithAPIKey("unused"), option.WithMaxRetries(0)}, opts...)...)
}

// post sends a raw JSON body and returns the status and body.
func post(t testing.TB, url, body string, header ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
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
	return resp.StatusCode, b
}

// openAIErr decodes OpenAI's error envelope, failing the test unless the
// body is exactly that shape (all four keys present).
func openAIErr(t testing.TB, body []byte) openAIError {
	t.Helper()
	var env map[string]map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("error body is not an object of objects: %v: %s", err, body)
	}
	e, ok := env["error"]
	if !ok || len(env) != 1 {
		t.Fatalf("error body has no single \"error\" key: %s", body)
	}
	for _, k := range []string{"message", "type", "param", "code"} {
		if _, ok := e[k]; !ok {
			t.Fatalf("error object lacks %q: %s", k, body)
		}
	}
	var out struct{ Error openAIError }
	if err := json.Unmarshal(body, &out); err != nil {
		t.Fatal(err)
	}
	return out.Error
}

// sseEvents splits an SSE body into its data payloads, checking the framing
// ("data: …" then a blank line).
func sseEvents(t testing.TB, body []byte) []string {
	t.Helper()
	var out []string
	sc := bufio.NewScanner(bytes.NewReader(body))
	sc.Buffer(nil, 1<<20)
	blank := true
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if blank {
				t.Fatalf("two blank lines in a row in the stream:\n%s", body)
			}
			blank = true
			continue
		}
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok || !blank {
			t.Fatalf("malformed SSE line %q in:\n%s", line, body)
		}
		blank = false
		out = append(out, data)
	}
	if !blank {
		t.Fatalf("stream does not end with a blank line:\n%s", body)
	}
	return out
}

// optionKey sets the API key the client sends.
var optionKey = option.WithAPIKey
