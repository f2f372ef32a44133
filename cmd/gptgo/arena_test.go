package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gptgo/gptgo/eval"
)

// schemaJudged counts judge requests that asked for response_format json_schema.
var schemaJudged atomic.Int32

// fakeOpenAI is a real HTTP server on loopback speaking the chat
// completions API: model "bananas" and "apples" answer with their fruit;
// the judge (a request with a system message) prefers the answer that
// mentions bananas, else calls a tie.
func fakeOpenAI(t *testing.T) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/chat/completions" {
			http.Error(w, "not found", 404)
			return
		}
		var req struct {
			Model          string `json:"model"`
			Messages       []struct{ Role, Content string }
			ResponseFormat *struct {
				Type string `json:"type"`
			} `json:"response_format"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		reply := "I like " + req.Model + "."
		if req.Messages[0].Role == "system" {
			u := req.Messages[len(req.Messages)-1].Content
			a, b, _ := strings.Cut(u, "[Answer B]")
			switch {
			case strings.Contains(a, "bananas"):
				reply = "A mentions bananas. [[A]]"
			case strings.Contains(b, "bananas"):
				reply = "B mentions bananas. [[B]]"
			default:
				reply = "Neither. [[C]]"
			}
			if req.ResponseFormat != nil && req.ResponseFormat.Type == "json_schema" {
				reply = `{"verdict": "` + reply[len(reply)-3:len(reply)-2] + `"}`
				schemaJudged.Add(1)
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"choices": []any{map[string]any{"message": map[string]string{"role": "assistant", "content": reply}}}})
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A run with a local GGUF model and two endpoints, judged by a model
// through the endpoint: the bananas model wins every battle and leads;
// the files are written; the SVG is there.
func TestArenaModelJudge(t *testing.T) {
	srv := fakeOpenAI(t)
	dir := t.TempDir()
	prompts := filepath.Join(dir, "p.txt")
	os.WriteFile(prompts, []byte("Name a fruit.\nWhat do you eat for breakfast?\nTell me a story.\n"), 0o644)
	out := filepath.Join(dir, "out")
	stdout, errOut, code := runCLI(t, "", "arena", prompts,
		"--model", "local=default", "--model", "b="+srv.URL+"/v1#bananas", "--model", "a="+srv.URL+"/v1#apples",
		"--judge", srv.URL+"/v1#judge", "--max-tokens", "6", "--ctx", "64", "--bootstrap", "50", "--out", out, "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep arenaReport
	if err := json.Unmarshal([]byte(stdout), &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Battles != 9 || rep.Ratings[0].Model != "b" || rep.Ratings[0].WinRate != 1 {
		t.Fatalf("%+v", rep)
	}
	for _, f := range []string{"battles.jsonl", "ratings.json", "ratings.svg"} {
		if st, err := os.Stat(filepath.Join(out, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, _ := os.ReadFile(filepath.Join(out, "battles.jsonl"))
	shownFirst := 0
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var r eval.ArenaRecord
		json.Unmarshal([]byte(line), &r)
		if r.ShownA == "b" {
			shownFirst++
		}
	}
	if shownFirst == 0 || shownFirst == 6 {
		t.Errorf("b shown first in %d of its 6 battles: the order is not random", shownFirst)
	}
}

// --judge-json: the verdict comes as {"verdict": ...} under response_format.
func TestArenaModelJudgeJSON(t *testing.T) {
	srv := fakeOpenAI(t)
	dir := t.TempDir()
	prompts := filepath.Join(dir, "p.txt")
	os.WriteFile(prompts, []byte("Name a fruit.\nAnother one?\n"), 0o644)
	before := schemaJudged.Load()
	stdout, errOut, code := runCLI(t, "", "arena", prompts, "--model", "b="+srv.URL+"/v1#bananas", "--model", "a="+srv.URL+"/v1#apples",
		"--judge", srv.URL+"/v1#judge", "--judge-json", "--json", "--quiet")
	if n := schemaJudged.Load() - before; n != 2 {
		t.Errorf("%d judge requests with response_format, want 2", n)
	}
	var rep arenaReport
	if code != 0 || json.Unmarshal([]byte(stdout), &rep) != nil || rep.Battles != 2 || rep.Skipped != 0 || rep.Ratings[0].Model != "b" {
		t.Fatalf("exit %d: %s %s", code, stdout, errOut)
	}
	if _, errOut, code := runCLI(t, "", "arena", prompts, "--model", "b="+srv.URL+"/v1#bananas", "--model", "a="+srv.URL+"/v1#apples",
		"--judge", "length", "--judge-json"); code == 0 || !strings.Contains(errOut, "--judge-json") {
		t.Errorf("--judge-json with length: exit %d %q", code, errOut)
	}
}

// A scripted judge (a shell script reading the JSON) and the table.
func TestArenaScriptedJudge(t *testing.T) {
	srv := fakeOpenAI(t)
	dir := t.TempDir()
	prompts := filepath.Join(dir, "p.jsonl")
	os.WriteFile(prompts, []byte(`{"prompt":"Name a fruit."}`+"\n"+`{"prompt":"Another?"}`+"\n"), 0o644)
	script := filepath.Join(dir, "judge.sh")
	// Picks the answer that mentions apples.
	os.WriteFile(script, []byte("#!/bin/sh\nin=$(cat)\ncase \"$in\" in *'\"a\":\"I like apples'*) echo A;; *'\"b\":\"I like apples'*) echo B;; *) echo tie;; esac\n"), 0o755)
	stdout, errOut, code := runCLI(t, "", "arena", prompts, "--model", "b="+srv.URL+"/v1#bananas", "--model", "a="+srv.URL+"/v1#apples",
		"--judge", "cmd:sh "+script, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(stdout, "\n")
	if len(lines) < 4 || !strings.Contains(lines[2], " a ") || !strings.Contains(lines[2], "100.0%") {
		t.Errorf("table:\n%s", stdout)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{prompts, "--model", "x=default", "--judge", "length"}, "at least 2"},
		{[]string{prompts, "--model", "x=default", "--model", "y", "--judge", "length"}, "NAME=SPEC"},
		{[]string{prompts, "--model", "x=default", "--model", "y=default", "--judge", "coin"}, "--judge"},
		{[]string{prompts, "--model", "x=default", "--model", "y=nope.gguf", "--judge", "length"}, "nope.gguf"},
	} {
		if _, errOut, code := runCLI(t, "", append([]string{"arena"}, c.args...)...); code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q", c.args, code, errOut)
		}
	}
}
