// Reference: ../shared/reference/outputs/*.jsonl (llama.cpp's tokens, top-8 logits and greedy
// continuations), driven through the whole CLI path: file → tokenizer → model → generation → text.

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer"
)

type refLine struct {
	Prompt string         `json:"prompt"`
	Tokens []int32        `json:"tokens"`
	TopK   [][][2]float64 `json:"topk"`
	Greedy []int32        `json:"greedy"`
}

// refLines reads the reference outputs of a model and returns them with the
// model's path; it skips when the shared material is absent.
func refLines(t *testing.T, name string) (string, []refLine) {
	t.Helper()
	path := testkit.Shared(t, "reference", "models", name+".gguf")
	return path, testkit.ReadJSONL[refLine](t, testkit.Shared(t, "reference", "outputs", name+".jsonl"))
}

// TestRunGreedyMatchesLlamaCpp runs `gptgo run --temp 0 --json` on every
// reference prompt of the float models: the prompt text must tokenize to
// llama.cpp's ids and the 24 greedy tokens must be llama.cpp's.
func TestRunGreedyMatchesLlamaCpp(t *testing.T) {
	for _, name := range []string{"tiny-llama-f32", "tiny-qwen2-f16", "tiny-gpt2-f32"} {
		path, lines := refLines(t, name)
		for i, l := range lines {
			if testing.Short() && i > 1 {
				break
			}
			// The near-tie at step 13 of prompt 1 in tiny-gpt2-f32 (0.003
			// apart, see model's reference test) is checked up to step 13.
			n := 24
			if name == "tiny-gpt2-f32" && i == 1 {
				n = 13
			}
			out, errOut, code := runCLI(t, "", "run", path, l.Prompt, "--temp", "0", "-n", fmt.Sprint(n), "--json", "--ignore-eos")
			if code != 0 {
				t.Fatalf("%s prompt %d: exit %d: %s", name, i, code, errOut)
			}
			var r struct {
				PromptIDs []int32 `json:"prompt_ids"`
				IDs       []int32 `json:"ids"`
				Text      string  `json:"text"`
				Stop      string  `json:"stop"`
			}
			if err := json.Unmarshal([]byte(out), &r); err != nil {
				t.Fatalf("%s: %v\n%s", name, err, out)
			}
			if fmt.Sprint(r.PromptIDs) != fmt.Sprint(l.Tokens) {
				t.Errorf("%s prompt %d %q: tokens %v, llama.cpp %v", name, i, l.Prompt, r.PromptIDs, l.Tokens)
			}
			if fmt.Sprint(r.IDs) != fmt.Sprint(l.Greedy[:n]) {
				t.Errorf("%s prompt %d: greedy %v, llama.cpp %v", name, i, r.IDs, l.Greedy[:n])
			}
			if r.Stop != "length" || (r.Text == "" && n > 0) {
				t.Errorf("%s prompt %d: stop %q, text %q", name, i, r.Stop, r.Text)
			}
		}
	}
}

// TestRunStreamsText checks the plain (streaming) output against the JSON
// text, reading the prompt from stdin, with a stop string.
func TestRunStreamsText(t *testing.T) {
	path, lines := refLines(t, "tiny-llama-f32")
	js, _, code := runCLI(t, lines[0].Prompt+"\n", "run", path, "--temp", "0", "-n", "24", "--json")
	if code != 0 {
		t.Fatal("run --json failed")
	}
	var r struct{ Text string }
	if err := json.Unmarshal([]byte(js), &r); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, lines[0].Prompt+"\n", "run", "--model", path, "--temp", "0", "-n", "24", "--verbose")
	if code != 0 || out != r.Text+"\n" {
		t.Fatalf("exit %d, streamed %q, want %q", code, out, r.Text+"\n")
	}
	for _, want := range []string{"tokens/s", "resident", "KV cache"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("--verbose output lacks %q:\n%s", want, errOut)
		}
	}
	stop := strings.TrimSpace(r.Text)[4:7]
	out, _, _ = runCLI(t, "", "run", path, lines[0].Prompt, "--temp", "0", "-n", "24", "--stop", stop)
	if want := r.Text[:strings.Index(r.Text, stop)] + "\n"; out != want {
		t.Fatalf("with --stop %q: %q, want %q", stop, out, want)
	}
	// Seeded sampling is reproducible through the CLI.
	a, _, _ := runCLI(t, "", "run", path, "Once", "-n", "16", "--seed", "7", "--temp", "1.2")
	b, _, _ := runCLI(t, "", "run", path, "Once", "-n", "16", "--seed", "7", "--temp", "1.2")
	if a != b || a == "" {
		t.Fatalf("seed 7 gave %q then %q", a, b)
	}
}

func TestRunErrors(t *testing.T) {
	// No model and no prompt: the default model, whose vocabulary adds no
	// BOS, has nothing to continue.
	_, errOut, code := runCLI(t, "", "run")
	if code != 1 || !strings.Contains(errOut, "prompt is empty") {
		t.Errorf("no model, empty stdin: exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "", "run", "/nonexistent/model.gguf", "hi")
	if code != 1 || !strings.Contains(errOut, "/nonexistent/model.gguf") {
		t.Errorf("missing file: exit %d, %q", code, errOut)
	}
	path, _ := refLines(t, "tiny-llama-q4_0")
	_, errOut, code = runCLI(t, "", "run", path, "hi", "--kv-type", "q8_0")
	if code != 1 || !strings.Contains(errOut, "kv-type") {
		t.Errorf("bad kv type: exit %d, %q", code, errOut)
	}
	long := strings.Repeat("Once upon a time ", 100)
	_, errOut, code = runCLI(t, "", "run", path, long, "-n", "4")
	if code != 1 || !strings.Contains(errOut, "prompt too long") {
		t.Errorf("long prompt: exit %d, %q", code, errOut)
	}
	_, errOut, code = runCLI(t, "", "run", path, long, "-n", "4", "--truncate", "--temp", "0")
	if code != 0 || !strings.Contains(errOut, "dropped") {
		t.Errorf("--truncate: exit %d, %q", code, errOut)
	}
}

// TestLogitsMatchesReference runs `gptgo logits` on every reference prompt:
// text → tokens as llama.cpp, top-8 logits within the README's 0.02 for
// float files.
func TestLogitsMatchesReference(t *testing.T) {
	for _, name := range []string{"tiny-llama-f16", "tiny-qwen2-f32", "tiny-gpt2-f16"} {
		path, lines := refLines(t, name)
		var maxD float64
		for i, l := range lines {
			if testing.Short() && i > 1 {
				break
			}
			out, errOut, code := runCLI(t, "", "logits", path, l.Prompt, "--top", "8")
			if code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			var rec logitsRecord
			if err := json.Unmarshal([]byte(out), &rec); err != nil {
				t.Fatal(err)
			}
			if rec.Prompt != l.Prompt || fmt.Sprint(rec.Tokens) != fmt.Sprint(l.Tokens) {
				t.Fatalf("%s prompt %d: tokens %v, llama.cpp %v", name, i, rec.Tokens, l.Tokens)
			}
			for p := range l.TopK {
				got := map[int]float64{}
				for _, e := range rec.TopK[p] {
					got[int(e[0])] = e[1]
				}
				// Top-1 must agree unless llama.cpp's pick is within the
				// tolerance of ours (a near-tie, as at one position of tiny-llama-f16).
				if w, ok := got[int(l.TopK[p][0][0])]; !ok || rec.TopK[p][0][1]-w > 0.02 {
					t.Errorf("%s prompt %d position %d: top-1 %v, llama.cpp %v", name, i, p, rec.TopK[p][0], l.TopK[p][0])
				}
				for _, e := range l.TopK[p] {
					v, ok := got[int(e[0])]
					if !ok {
						// Not in our top 8: only possible within the tolerance of the 8th.
						v = rec.TopK[p][7][1]
						if e[1]-v > 0.02 {
							t.Errorf("%s prompt %d position %d: token %v missing from our top 8", name, i, p, e)
						}
						continue
					}
					maxD = math.Max(maxD, math.Abs(v-e[1]))
				}
			}
		}
		t.Logf("%s: max |Δlogit| over top-8 %.4f", name, maxD)
		if maxD > 0.02 {
			t.Errorf("%s: max |Δlogit| %.4f > 0.02", name, maxD)
		}
	}
}

// TestChatFollowsTemplate talks to tiny-qwen2 through `gptgo chat`: the
// first turn renders to exactly the reference's ChatML prompt, so the
// greedy answer must be llama.cpp's greedy continuation of it.
func TestChatFollowsTemplate(t *testing.T) {
	path, lines := refLines(t, "tiny-qwen2-f32")
	ref := lines[len(lines)-1] // "<|im_start|>user\nWhat is LoRA?<|im_end|>\n<|im_start|>assistant\n"
	if !strings.HasSuffix(ref.Prompt, "<|im_start|>assistant\n") {
		t.Fatalf("unexpected last reference prompt %q", ref.Prompt)
	}
	tok, err := tokenizer.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	var want []int32
	for _, id := range ref.Greedy[:12] {
		if tok.IsEOG(id) {
			break
		}
		want = append(want, id)
	}
	wantText := tok.Decode(want)
	stdin := "What is LoRA?\n/set temp 0.9\n/set foo 1\nAnd then?\n/reset\n/system You are terse.\nhi\n/bye\nnever read\n"
	out, errOut, code := runCLI(t, stdin, "chat", path, "--temp", "0", "-n", "12")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	first := strings.TrimPrefix(out, "> ")
	if !strings.HasPrefix(first, wantText) {
		t.Fatalf("first answer %q, want llama.cpp's %q", first[:min(len(first), 80)], wantText)
	}
	for _, want := range []string{"(temp = 0.9)", `unknown setting "foo"`, "(conversation cleared)", "(system prompt set)"} {
		if !strings.Contains(out, want) {
			t.Errorf("chat output lacks %q:\n%s", want, out)
		}
	}
	if n := strings.Count(out, "> "); n < 8 {
		t.Errorf("%d prompts shown, want 8 (stdin after /bye is not read):\n%s", n, out)
	}
}

// TestChatSaysWhenTemplateIsFallback: a file without tokenizer.chat_template
// (tiny-llama) is chatted with through a built-in, and the user is told;
// a file with one (tiny-qwen2, above) is not.
func TestChatSaysWhenTemplateIsFallback(t *testing.T) {
	path := testkit.Shared(t, "reference", "models", "tiny-llama-f16.gguf")
	_, errOut, code := runCLI(t, "/bye\n", "chat", path)
	if code != 0 || !strings.Contains(errOut, "has no chat template; using the built-in") {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	qwen, _ := refLines(t, "tiny-qwen2-f32")
	if _, errOut, _ := runCLI(t, "/bye\n", "chat", qwen); strings.Contains(errOut, "no chat template") {
		t.Fatalf("tiny-qwen2 has a template, but chat said %q", errOut)
	}
}

func TestTopLogits(t *testing.T) {
	l := []float32{1, 5, 3, 5, -2, 4}
	got := fmt.Sprint(topLogits(l, 3))
	if want := "[[1 5] [3 5] [5 4]]"; got != want {
		t.Fatalf("top 3 of %v = %s, want %s", l, got, want)
	}
	if got := len(topLogits(l, 10)); got != len(l) {
		t.Fatalf("top 10 of 6 gave %d", got)
	}
}

// TestLogitsFromStdin reads the prompt from stdin and prints the head of
// the last position's logits.
func TestLogitsFromStdin(t *testing.T) {
	path, lines := refLines(t, "tiny-qwen2-f16")
	out, errOut, code := runCLI(t, lines[0].Prompt+"\n", "logits", path, "--top", "2", "--head", "5")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rec logitsRecord
	if err := json.Unmarshal([]byte(out), &rec); err != nil {
		t.Fatal(err)
	}
	if rec.Prompt != lines[0].Prompt || len(rec.TopK) != len(lines[0].Tokens) || len(rec.TopK[0]) != 2 || len(rec.LastHead) != 5 {
		t.Fatalf("record %+v", rec)
	}
}

// TestChatContextFull: a message that does not fit the context is refused
// with a hint, and the chat goes on.
func TestChatContextFull(t *testing.T) {
	path, _ := refLines(t, "tiny-qwen2-q8_0")
	long := strings.Repeat("tell me more about that ", 20)
	out, errOut, code := runCLI(t, long+"\nhi\n", "chat", path, "--ctx", "48", "-n", "4", "--temp", "0")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "prompt too long") || !strings.Contains(out, "/reset starts over") || strings.Count(out, "> ") < 3 {
		t.Fatalf("output:\n%s", out)
	}
}
