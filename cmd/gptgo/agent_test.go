package main

import (
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/agent"
)

// TestAgentAgainstServe runs gptgo agent against a real gptgo serve on
// loopback with the default model: the plumbing (request, tool fallback,
// transcript) is under test, not the model's answer.
func TestAgentAgainstServe(t *testing.T) {
	url, _, _, _, _ := startServe(t)
	tp := filepath.Join(t.TempDir(), "run.jsonl")
	// The default model's context is 256 tokens: a short system prompt
	// and one tool leave room for a few turns.
	_, stderr, code := runCLI(t, "", "agent", "--url", url+"/v1", "--model", "default", "--tools", "calculator", "--max-steps", "3", "-n", "24",
		"--temp", "0", "--system", "Be brief.", "--transcript", tp, "--verbose", "What is 6*7?")
	if code != 0 && !strings.Contains(stderr, "limit reached") && !strings.Contains(stderr, "does not fit the model's context") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	b, err := os.ReadFile(tp)
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var e agent.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("transcript line %q: %v", line, err)
		}
		types = append(types, e.Type)
	}
	if types[0] != "start" || types[len(types)-1] != "end" || !strings.Contains(strings.Join(types, " "), "model") {
		t.Fatalf("transcript events %v", types)
	}
	if !strings.Contains(stderr, "task: What is 6*7?") {
		t.Fatalf("no trace:\n%s", stderr)
	}
}

func TestAgentFlagErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"agent", "--tools", "run_command", "--root", t.TempDir(), "x"}, "--allow-shell"},
		{[]string{"agent", "--tools", "read_file", "x"}, "--root"},
		{[]string{"agent", "--tools", "nope", "x"}, `no tool "nope"`},
		{[]string{"agent", "--resume", filepath.Join(t.TempDir(), "missing.jsonl")}, "--resume"},
	} {
		_, stderr, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, stderr, c.want)
		}
	}
}

// TestMCPCommand drives gptgo mcp over streamable HTTP with the SDK's
// client (through agent.ConnectMCP).
func TestMCPCommand(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	errb := &syncBuffer{}
	done := make(chan int)
	go func() {
		done <- runMain(ctx, &env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: errb},
			[]string{"mcp", "--http", "127.0.0.1:0", "-n", "8", "--temp", "0"})
	}()
	defer func() { stop(); <-done }()
	var url string
	for deadline := time.Now().Add(20 * time.Second); url == ""; time.Sleep(5 * time.Millisecond) {
		if s := errb.String(); strings.Contains(s, "listening on ") {
			url = strings.TrimSpace(strings.SplitN(s[strings.Index(s, "listening on ")+len("listening on "):], "\n", 2)[0])
		}
		if time.Now().After(deadline) {
			t.Fatalf("gptgo mcp never listened:\n%s", errb.String())
		}
	}
	tools, closeMCP, err := agent.ConnectMCP(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer closeMCP()
	ts := agent.Tools{}
	ts.Add(tools...)
	if len(ts) != 3 || ts["generate"] == nil || ts["calculator"].SideEffects() {
		t.Fatalf("tools %v", ts.Specs())
	}
	if out, err := ts["calculator"].Call(ctx, json.RawMessage(`{"expression":"2^10"}`)); err != nil || out != "1024" {
		t.Fatalf("calculator: %q %v", out, err)
	}
	if out, err := ts["generate"].Call(ctx, json.RawMessage(`{"prompt":"Once upon a time"}`)); err != nil || out == "" {
		t.Fatalf("generate: %q %v", out, err)
	}
}
