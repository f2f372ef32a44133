// Reference: issue #24 (gptgo bench serve against any OpenAI-compatible endpoint; --json output).

package main

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/loadgen"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/server"
)

// TestBenchServe drives a real gptgo server (the embedded model, batch
// scheduler) on loopback at two concurrencies, as a table and as JSON.
func TestBenchServe(t *testing.T) {
	store, err := modelstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Config{Models: store, Threads: 1, BatchScheduler: true, Parallel: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer func() { ts.Close(); srv.Close() }()

	args := []string{"bench", "serve", "--url", ts.URL, "--model", "default", "--concurrency", "1,3", "--prompt-tokens", "8", "--gen-tokens", "6", "--requests", "3"}
	stdout, stderr, code := runCLI(t, "", args...)
	if code != 0 || !strings.Contains(stdout, "gen tok/s") || strings.Count(stdout, "\n") != 3 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	stdout, stderr, code = runCLI(t, "", append(args, "--json")...)
	var rs []loadgen.Result
	if code != 0 || json.Unmarshal([]byte(stdout), &rs) != nil || len(rs) != 2 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, r := range rs {
		if r.Failed != 0 || r.GenTokens == 0 || r.TokPerSec <= 0 || r.TTFTp50 <= 0 {
			t.Errorf("%+v", r)
		}
	}
	for _, bad := range [][]string{
		{"bench", "serve", "--model", "default"},
		{"bench", "serve", "--url", ts.URL},
		{"bench", "serve", "--url", ts.URL, "--model", "default", "--concurrency", "1,x"},
		{"bench", "serve", "--url", ts.URL, "--model", "nosuch", "--requests", "1", "--concurrency", "1"},
	} {
		if _, stderr, code := runCLI(t, "", bad...); code == 0 || stderr == "" {
			t.Errorf("%v: exit %d, %q", bad, code, stderr)
		}
	}
}
