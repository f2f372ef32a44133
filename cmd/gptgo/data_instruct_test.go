package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/data"
)

// writeSelfInstructInputs writes three seed tasks and a requirements file.
func writeSelfInstructInputs(t *testing.T) (seeds, prompt string) {
	dir := t.TempDir()
	seeds, prompt = filepath.Join(dir, "seeds.jsonl"), filepath.Join(dir, "prompt.txt")
	var b strings.Builder
	for i, inst := range []string{"Give the opposite of the word.", "Summarise the sentence in five words.", "Name a fruit that is yellow."} {
		fmt.Fprintf(&b, `{"instruction": %q, "instances": [{"input": "", "output": "answer %d"}]}`+"\n", inst, i)
	}
	os.WriteFile(seeds, []byte(b.String()), 0o644)
	os.WriteFile(prompt, []byte("Come up with 20 diverse tasks.\n\nList of 20 tasks:"), 0o644)
	return seeds, prompt
}

func TestDataSelfInstructScriptedEndpoint(t *testing.T) {
	var prompts []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Prompt string `json:"prompt"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		prompts = append(prompts, req.Prompt)
		reply := " Explain how a rainbow forms after rain.\n4. Input:\n<noinput>\n4. Output:\nSunlight is refracted by droplets.\n" +
			"###\n5. Instruction: Draw a map of your town.\n5. Input:\n<noinput>\n5. Output:\n…\n"
		json.NewEncoder(w).Encode(map[string]any{"choices": []map[string]any{{"text": reply, "finish_reason": "stop"}}})
	}))
	defer srv.Close()
	seeds, prompt := writeSelfInstructInputs(t)
	out := filepath.Join(t.TempDir(), "tasks.json")
	stdout, stderr, code := runCLI(t, "", "data", "self-instruct", "--url", srv.URL, "--model", "m", "--seeds", seeds, "--prompt", prompt, "-o", out, "-n", "2", "--requests", "3", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	got, err := data.ReadInstructions(out)
	if err != nil || len(got) != 1 || got[0].Instruction != "Explain how a rainbow forms after rain." {
		t.Fatalf("kept %q, %v", got, err)
	}
	if !strings.Contains(stdout, "3 requests, 6 tasks read, 1 kept, 3 blacklisted word, 2 near-duplicate") {
		t.Errorf("report: %q", stdout)
	}
	if len(prompts) != 3 || !strings.HasPrefix(prompts[0], "Come up with 20 diverse tasks.\n\nList of 20 tasks:\n###\n1. Instruction: ") {
		t.Errorf("prompts sent: %q", prompts)
	}
	// A second run goes on from the file.
	_, stderr, code = runCLI(t, "", "data", "self-instruct", "--url", srv.URL, "--model", "m", "--seeds", seeds, "--prompt", prompt, "-o", out, "-n", "2", "--requests", "1", "--quiet")
	if code != 0 || !strings.Contains(stderr, "1 tasks kept so far") {
		t.Fatalf("resume: exit %d, %q", code, stderr)
	}
	// Missing flags and a dead endpoint are clear errors.
	if _, stderr, code := runCLI(t, "", "data", "self-instruct", "--url", srv.URL); code == 0 || !strings.Contains(stderr, "needs --model") {
		t.Errorf("missing --model: exit %d, %q", code, stderr)
	}
	srv.Close()
	if _, stderr, code := runCLI(t, "", "data", "self-instruct", "--url", srv.URL, "--model", "m", "--seeds", seeds, "--prompt", prompt, "-o", out, "-n", "5", "--quiet"); code == 0 || !strings.Contains(stderr, "request 1") || !strings.Contains(stderr, "1 tasks kept in") {
		t.Errorf("dead endpoint: exit %d, %q", code, stderr)
	}
}

// TestDataSelfInstructAgainstServe drives a real `gptgo serve` with the
// embedded default model: whatever the tiny model writes, the run makes
// its requests and leaves a valid Alpaca file.
func TestDataSelfInstructAgainstServe(t *testing.T) {
	url, _, _, _, _ := startServe(t)
	seeds, prompt := writeSelfInstructInputs(t)
	out := filepath.Join(t.TempDir(), "tasks.json")
	stdout, stderr, code := runCLI(t, "", "data", "self-instruct", "--url", url, "--model", "default", "--seeds", seeds, "--prompt", prompt,
		"-o", out, "-n", "3", "--requests", "2", "--max-tokens", "48", "--seed", "7", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "2 requests") {
		t.Errorf("report: %q", stdout)
	}
	if _, err := data.ReadInstructions(out); err != nil {
		t.Fatal(err)
	}
}

func TestDataConversations(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "sharegpt.json")
	long := strings.Repeat("word ", 15)
	os.WriteFile(in, []byte(`[
{"id": "x", "conversations": [{"from": "human", "value": "<p>Hello <b>there</b></p>"}, {"from": "gpt", "value": "<p>Hi!</p><pre><code class=\"language-go\">fmt.Println(1)</code></pre>"},
  {"from": "human", "value": "`+long+`"}, {"from": "gpt", "value": "`+long+`"}]},
{"id": "y", "conversations": [{"from": "human", "value": "only a question"}]}
]`), 0o644)
	out := filepath.Join(dir, "clean.jsonl")
	stdout, stderr, code := runCLI(t, "", "data", "conversations", in, "-o", out, "--template", "chatml", "--max-tokens", "64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the conversation split in two pieces, got %d lines:\n%s\n%s", len(lines), b, stdout)
	}
	var first data.ShareGPT
	if err := json.Unmarshal([]byte(lines[0]), &first); err != nil || first.ID != "x_0" ||
		first.Conversations[1].Value != "Hi!\n\n```go\nfmt.Println(1)\n```" {
		t.Fatalf("first piece %+v, %v", first, err)
	}
	if _, err := os.Stat(out + ".report.json"); err != nil {
		t.Error(err)
	}
	for _, want := range []string{"no answered question", "conversations split", "wrote " + out} {
		if !strings.Contains(stdout, want) {
			t.Errorf("summary lacks %q:\n%s", want, stdout)
		}
	}
	if _, stderr, code := runCLI(t, "", "data", "conversations", in); code == 0 || !strings.Contains(stderr, "needs -o") {
		t.Errorf("no -o: exit %d, %q", code, stderr)
	}
}
