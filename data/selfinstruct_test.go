package data

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/oaiclient"
)

func TestRougeL(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want float64
	}{
		{"Name three colours.", "name THREE colours", 1},
		{"the cat sat", "the cat", 0.8}, // l 2, P 2/3, R 1
		{"a b c d", "d c b a", 0.25},    // l 1
		{"abc", "xyz", 0},
		{"", "abc", 0},
		{"把句子翻译成英文", "把这句话翻译成英文", 14.0 / 17}, // l 7 of 8 and 9
	} {
		got := RougeL(RougeWords(c.a), RougeWords(c.b))
		if math.Abs(got-c.want) > 1e-12 {
			t.Errorf("RougeL(%q, %q) = %v, want %v", c.a, c.b, got, c.want)
		}
		if back := RougeL(RougeWords(c.b), RougeWords(c.a)); back != got {
			t.Errorf("RougeL not symmetric on %q, %q: %v vs %v", c.a, c.b, got, back)
		}
	}
}

func TestSelfInstructPromptAndParse(t *testing.T) {
	seeds := []Instruction{{Instruction: "Give an antonym.", Input: "hot", Output: "cold"}, {Instruction: "Say hi.", Output: "Hi!"}}
	p := SelfInstructPrompt("Requirements.\n\nList of 20 tasks:\n", seeds)
	want := "Requirements.\n\nList of 20 tasks:\n###\n1. Instruction: Give an antonym.\n1. Input:\nhot\n1. Output:\ncold\n" +
		"###\n2. Instruction: Say hi.\n2. Input:\n<noinput>\n2. Output:\nHi!\n###\n3. Instruction:"
	if p != want {
		t.Fatalf("prompt:\n%q\nwant\n%q", p, want)
	}
	reply := " Sort the numbers in ascending order.\n3. Input:\n3, 1, 2\n3. Output:\n1, 2, 3\n" +
		"###\n4. Instruction: Name the capital of France.\n4. Input:\n<noinput>\n4. Output:\nParis.\n" +
		"###\n5. Instruction: Broken task without output.\n5. Input:\nx\n" +
		"###\n6. Instruction: Cut off"
	tasks, dropped := ParseSelfInstruct(Completion{Text: reply, Truncated: true}, 2)
	wantTasks := []Instruction{
		{Instruction: "Sort the numbers in ascending order.", Input: "3, 1, 2", Output: "1, 2, 3"},
		{Instruction: "Name the capital of France.", Output: "Paris."},
	}
	if fmt.Sprint(tasks) != fmt.Sprint(wantTasks) || dropped != 2 {
		t.Fatalf("parsed %q, %d dropped; want %q, 2 dropped", tasks, dropped, wantTasks)
	}
	// The same reply, not truncated: task 6 is still malformed (no fields).
	if _, d := ParseSelfInstruct(Completion{Text: reply}, 2); d != 2 {
		t.Errorf("untruncated: %d dropped, want 2", d)
	}
}

// scripted replies with one task per request, numbered after the examples.
type scripted struct {
	replies []string
	prompts []string
}

func (s *scripted) Complete(_ context.Context, prompt string) (Completion, error) {
	s.prompts = append(s.prompts, prompt)
	if len(s.replies) == 0 {
		return Completion{}, fmt.Errorf("no more replies")
	}
	r := s.replies[0]
	s.replies = s.replies[1:]
	return Completion{Text: r}, nil
}

func task(n int, inst, out string) string {
	return fmt.Sprintf(" %s\n%d. Input:\n<noinput>\n%d. Output:\n%s\n", inst, n, n, out)
}

func TestSelfInstructFilters(t *testing.T) {
	seeds := []Instruction{{Instruction: "Write a haiku about the sea.", Output: "Waves…"}}
	s := &scripted{replies: []string{
		task(2, "Describe the water cycle in simple words.", "Water evaporates…"),
		task(2, "Short one.", "x"),
		task(2, "Draw a picture of a cat sitting on a mat.", "…"),
		task(2, "Write a program that sorts a list of integers.", "…"),
		task(2, "Describe the water cycle in very simple words.", "…"), // near-duplicate of the first
		task(2, "Write a haiku about the sea today.", "…"),             // near-duplicate of the seed
		task(2, "\"Quoted\" instructions are dropped by Alpaca.", "…"),
		task(2, "Explain why the sky looks blue at noon.", ""),
		task(2, "Ünïcode first letters are dropped in English runs.", "…"),
		task(2, "List three uses of a paper clip at the office.", "Hold paper…"),
	}}
	var calls int
	kept, rep, err := SelfInstruct(context.Background(), s, SelfInstructOptions{
		Prompt: "Make tasks.", Seeds: seeds, Target: 2, Requests: 20, Seed: 1,
		Progress: func(k []Instruction, r SelfInstructReport) error { calls++; return nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != 2 || kept[0].Instruction != "Describe the water cycle in simple words." ||
		kept[1].Instruction != "List three uses of a paper clip at the office." {
		t.Fatalf("kept %q", kept)
	}
	wantDropped := map[string]int{"too short": 1, "blacklisted word": 1, "asks for a program": 1, "near-duplicate": 2,
		"starts with punctuation": 1, "empty output": 1, "starts with a non-ASCII character": 1}
	if fmt.Sprint(rep.Dropped) != fmt.Sprint(wantDropped) || rep.Requests != 10 || rep.Kept != 2 || rep.Parsed != 10 || calls != 10 {
		t.Fatalf("report %+v (progress calls %d), want dropped %v over 10 requests", rep, calls, wantDropped)
	}
	if !strings.Contains(s.prompts[0], "###\n1. Instruction: Write a haiku about the sea.\n") || !strings.HasSuffix(s.prompts[0], "###\n2. Instruction:") {
		t.Errorf("prompt %q", s.prompts[0])
	}
	// Going on from the first run: its tasks count toward the target and
	// a repeat of them is a near-duplicate.
	s2 := &scripted{replies: []string{task(2, "List three uses of a paper clip at the office!", "…"), task(2, "Name a large mammal living in the ocean.", "The blue whale.")}}
	more, rep2, err := SelfInstruct(context.Background(), s2, SelfInstructOptions{Prompt: "Make tasks.", Seeds: seeds, Target: 3, Kept: kept})
	if err != nil || len(more) != 3 || more[2].Output != "The blue whale." || rep2.Dropped["near-duplicate"] != 1 {
		t.Fatalf("resumed: %q, %+v, %v", more, rep2, err)
	}
	// A failing endpoint stops the run with what was kept.
	part, _, err := SelfInstruct(context.Background(), &scripted{}, SelfInstructOptions{Seeds: seeds, Kept: kept, Target: 5})
	if err == nil || !strings.Contains(err.Error(), "request 1") || len(part) != 2 {
		t.Fatalf("failing endpoint: %q, %v", part, err)
	}
}

func TestOpenAICompleterOverHTTP(t *testing.T) {
	var got map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(b, &got)
		switch r.URL.Path {
		case "/v1/completions":
			if r.Header.Get("Authorization") != "Bearer k" {
				w.WriteHeader(http.StatusUnauthorized)
				io.WriteString(w, `{"error":{"message":"bad key"}}`)
				return
			}
			io.WriteString(w, `{"choices":[{"text":" continued","finish_reason":"length"}]}`)
		case "/v1/chat/completions":
			io.WriteString(w, `{"choices":[{"message":{"role":"assistant","content":"chat reply"},"finish_reason":"stop"}]}`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	c := &OpenAICompleter{Client: oaiclient.Client{BaseURL: srv.URL, APIKey: "k"}, Model: "m", Temperature: 1, TopP: 1, Stop: []string{"\n20"}}
	r, err := c.Complete(context.Background(), "p")
	if err != nil || r.Text != " continued" || !r.Truncated {
		t.Fatalf("completion %+v, %v", r, err)
	}
	if got["prompt"] != "p" || got["model"] != "m" || got["max_tokens"] != 3072.0 || fmt.Sprint(got["stop"]) != "[\n20]" {
		t.Errorf("request body %v", got)
	}
	c.Chat = true
	c.Client.BaseURL = srv.URL + "/v1/"
	if r, err := c.Complete(context.Background(), "p"); err != nil || r.Text != "chat reply" || r.Truncated {
		t.Fatalf("chat %+v, %v", r, err)
	}
	c.Chat, c.Client.APIKey = false, "wrong"
	if _, err := c.Complete(context.Background(), "p"); err == nil || !strings.Contains(err.Error(), "HTTP 401: bad key") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestReadSeedTasks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "seeds.jsonl")
	os.WriteFile(p, []byte(`{"instruction": "Add.", "instances": [{"input": "1+1", "output": "2"}]}`+"\n\n"+`{"instruction":"Greet.","input":"","output":"Hello."}`+"\n"), 0o644)
	got, err := ReadSeedTasks(p)
	if err != nil || len(got) != 2 || got[0] != (Instruction{"Add.", "1+1", "2"}) || got[1].Output != "Hello." {
		t.Fatalf("%q, %v", got, err)
	}
	os.WriteFile(p, []byte(`{"instruction": "No output."}`), 0o644)
	if _, err := ReadSeedTasks(p); err == nil || !strings.Contains(err.Error(), "seeds.jsonl:1") {
		t.Errorf("missing output: %v", err)
	}
	real := "../../shared/data/3-sft/alpaca_seed_tasks.jsonl"
	if _, err := os.Stat(real); err != nil {
		t.Skip("../shared/data/3-sft is absent (a fresh clone): the real seed file is not checked")
	}
	seeds, err := ReadSeedTasks(real)
	if err != nil || len(seeds) != 175 {
		t.Fatalf("Alpaca's seed tasks: %d, %v", len(seeds), err)
	}
}
