// Reference: ../shared/reference/outputs/tiny-llama-f32.jsonl (llama.cpp's ids
// for "Hello world").

package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestTokenizeCommand(t *testing.T) {
	model := testkit.Shared(t, "reference", "models", "tiny-llama-f32.gguf")
	// llama.cpp's ids for "Hello world" with BOS (reference/outputs/tiny-llama-f32.jsonl).
	out, errOut, code := runCLI(t, "", "tokenize", model, "Hello world", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		IDs    []int32  `json:"ids"`
		Pieces []string `json:"pieces"`
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	want := []int32{1, 330, 431, 927, 849}
	if len(got.IDs) != len(want) || len(got.Pieces) != len(want) {
		t.Fatalf("ids %v pieces %q, want ids %v", got.IDs, got.Pieces, want)
	}
	for i := range want {
		if got.IDs[i] != want[i] {
			t.Fatalf("ids %v, want %v", got.IDs, want)
		}
	}
	if got.Pieces[0] != "<s>" {
		t.Errorf("first piece %q, want <s>", got.Pieces[0])
	}

	out, _, code = runCLI(t, "Hello world\n", "tokenize", "--no-bos", model)
	if code != 0 || strings.Contains(out, "<s>") || !strings.Contains(out, "   330 -> ") {
		t.Fatalf("--no-bos from stdin: exit %d\n%s", code, out)
	}
}

func TestTokenizeCommandParseSpecial(t *testing.T) {
	model := testkit.Shared(t, "reference", "models", "tiny-qwen2-f32.gguf")
	out, _, code := runCLI(t, "", "tokenize", model, "<|im_end|>", "--json")
	if code != 0 || !strings.Contains(out, `"pieces":["<|im_end|>"]`) {
		t.Fatalf("exit %d: %s", code, out)
	}
	out, _, code = runCLI(t, "", "tokenize", model, "<|im_end|>", "--json", "--no-parse-special")
	if code != 0 || strings.Contains(out, `"pieces":["<|im_end|>"]`) {
		t.Fatalf("--no-parse-special still parsed: exit %d: %s", code, out)
	}
}

func TestTokenizeCommandErrors(t *testing.T) {
	if _, _, code := runCLI(t, "", "tokenize", "a", "b", "c"); code != 2 {
		t.Fatalf("three arguments: exit %d, want 2", code)
	}
	_, errOut, code := runCLI(t, "", "tokenize", "/no/such/model.gguf", "hi")
	if code != 1 || !strings.Contains(errOut, "/no/such/model.gguf") {
		t.Fatalf("missing file: exit %d, stderr %q", code, errOut)
	}
}
