package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/agent"
	"github.com/modelcontextprotocol/go-sdk/mcp"
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
		t.Fatalf("transcript events %v\n%s", types, stderr)
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

// fakeChat is an OpenAI-compatible endpoint answering from a script:
// each entry is a tool call (name and JSON arguments) or, with no name,
// a text answer.
func fakeChat(t *testing.T, script ...[2]string) string {
	t.Helper()
	var mu sync.Mutex
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if len(script) == 0 {
			http.Error(w, `{"error":{"message":"script exhausted"}}`, 500)
			return
		}
		step := script[0]
		script = script[1:]
		msg := map[string]any{"role": "assistant", "content": step[1]}
		if step[0] != "" {
			msg["content"] = nil
			msg["tool_calls"] = []any{map[string]any{"id": "c", "type": "function",
				"function": map[string]any{"name": step[0], "arguments": step[1]}}}
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": msg}},
			"usage": map[string]int{"prompt_tokens": 5, "completion_tokens": 2}})
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/v1"
}

func TestAgentConfirmsOnStdin(t *testing.T) {
	for _, c := range []struct {
		stdin string
		yes   bool
		wrote bool
	}{{"n\n", false, false}, {"", false, false}, {"y\n", false, true}, {"", true, true}} {
		root := t.TempDir()
		url := fakeChat(t, [2]string{"write_file", `{"path":"a.txt","content":"hi"}`}, [2]string{"", "ok"})
		args := []string{"agent", "--url", url, "--root", root, "--transcript", filepath.Join(t.TempDir(), "t.jsonl")}
		if c.yes {
			args = append(args, "--yes")
		}
		stdout, stderr, code := runCLI(t, c.stdin, append(args, "write a.txt")...)
		_, err := os.Stat(filepath.Join(root, "a.txt"))
		if code != 0 || strings.TrimSpace(stdout) != "ok" || (err == nil) != c.wrote {
			t.Fatalf("stdin %q yes %v: exit %d, stdout %q, written %v\n%s", c.stdin, c.yes, code, stdout, err == nil, stderr)
		}
		if asked := strings.Contains(stderr, `allow write_file {"path":"a.txt","content":"hi"}? [y/N]`); asked == c.yes {
			t.Fatalf("stdin %q yes %v: asked %v\n%s", c.stdin, c.yes, asked, stderr)
		}
	}
}

func TestAgentResumeCLI(t *testing.T) {
	tp := filepath.Join(t.TempDir(), "run.jsonl")
	url := fakeChat(t, [2]string{"calculator", `{"expression":"6*7"}`})
	_, stderr, code := runCLI(t, "", "agent", "--url", url, "--max-steps", "1", "--transcript", tp, "six times seven")
	if code == 0 || !strings.Contains(stderr, "1 steps (--max-steps)") {
		t.Fatalf("first run: exit %d\n%s", code, stderr)
	}
	url = fakeChat(t, [2]string{"", "42"})
	stdout, stderr, code := runCLI(t, "", "agent", "--url", url, "--resume", tp)
	if code != 0 || strings.TrimSpace(stdout) != "42" {
		t.Fatalf("resume: exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	b, _ := os.ReadFile(tp)
	f, _ := os.Open(tp)
	defer f.Close()
	st, err := agent.ReadTranscript(f, tp)
	if err != nil || !st.Finished || st.Steps != 2 || !strings.Contains(string(b), `"type":"resume"`) {
		t.Fatalf("transcript: %+v %v", st, err)
	}
	if _, stderr, code := runCLI(t, "", "agent", "--resume", tp, "another task"); code == 0 || !strings.Contains(stderr, "give no TASK") {
		t.Fatalf("--resume with a task: %d %s", code, stderr)
	}
}

func TestAgentModelName(t *testing.T) {
	dir := t.TempDir()
	if _, stderr, code := runCLI(t, "", "agent", "--models", dir, "--model", "nosuch", "x"); code == 0 || !strings.Contains(stderr, `model "nosuch:latest" not found`) && !strings.Contains(stderr, `"nosuch"`) {
		t.Fatalf("unknown name: %d %s", code, stderr)
	}
}

// TestMCPCommandStdio runs gptgo mcp as a child process (the test binary
// as gptgo) and drives it over stdio with the SDK's client: the way an
// MCP client's configuration starts it.
func TestMCPCommandStdio(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(exe, "mcp", "--no-generate")
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	ctx := context.Background()
	tools, closeMCP, err := agent.ConnectMCPTransport(ctx, &mcp.CommandTransport{Command: cmd}, "gptgo mcp")
	if err != nil {
		t.Fatal(err)
	}
	defer closeMCP()
	ts := agent.Tools{}
	ts.Add(tools...)
	if len(ts) != 2 || ts["time"] == nil {
		t.Fatalf("tools %v", ts.Specs())
	}
	if out, err := ts["calculator"].Call(ctx, json.RawMessage(`{"expression":"0.1+0.2"}`)); err != nil || out != "3/10 = 0.3" {
		t.Fatalf("calculator: %q %v", out, err)
	}
}

// TestAgentUsesMCPServer: gptgo agent --mcp starts a stdio MCP server (the
// test binary as gptgo mcp) and the model's call reaches its calculator.
func TestAgentUsesMCPServer(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv(helperEnv, "1") // for the child only: this process is past TestMain
	tp := filepath.Join(t.TempDir(), "t.jsonl")
	url := fakeChat(t, [2]string{"calculator", `{"expression":"2^10"}`}, [2]string{"", "done"})
	stdout, stderr, code := runCLI(t, "", "agent", "--url", url, "--tools", "read_file", "--root", t.TempDir(),
		"--mcp", exe+" mcp --no-generate", "--transcript", tp, "--verbose", "compute")
	if code != 0 || strings.TrimSpace(stdout) != "done" || !strings.Contains(stderr, "→ calculator 1024") {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
	// A clash with a built-in tool's name is an error that says what to do.
	_, stderr, code = runCLI(t, "", "agent", "--url", url, "--mcp", exe+" mcp --no-generate", "x")
	if code == 0 || !strings.Contains(stderr, "added twice") || !strings.Contains(stderr, "--tools") {
		t.Fatalf("clash: exit %d\n%s", code, stderr)
	}
}

func TestAgentInteractive(t *testing.T) {
	url := fakeChat(t, [2]string{"", "first"}, [2]string{"", "second"})
	stdout, stderr, code := runCLI(t, "one\n\ntwo\n", "agent", "--url", url, "--transcript", filepath.Join(t.TempDir(), "t.jsonl"))
	if code != 0 || stdout != "first\nsecond\n" || strings.Count(stderr, "task> ") != 4 {
		t.Fatalf("exit %d, stdout %q\n%s", code, stdout, stderr)
	}
}

// TestAgentInProcess runs the embedded default model in-process under the
// ReAct grammar: plumbing only (turns taken, transcript written).
func TestAgentInProcess(t *testing.T) {
	tp := filepath.Join(t.TempDir(), "run.jsonl")
	_, stderr, code := runCLI(t, "", "agent", "--tools", "calculator", "--system", "Be brief.", "-n", "32", "--temp", "0",
		"--threads", "1", "--max-steps", "2", "--transcript", tp, "What is 6*7?")
	if code != 0 && !strings.Contains(stderr, "limit reached") && !strings.Contains(stderr, "does not fit the model's context") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	f, err := os.Open(tp)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := agent.ReadTranscript(f, tp)
	if err != nil || st.Usage.Prompt == 0 || st.Usage.Completion == 0 {
		t.Fatalf("transcript: %+v %v\n%s", st, err, stderr)
	}
}
