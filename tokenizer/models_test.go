// Reference: ../shared/reference/README.md (outputs/*.jsonl: llama.cpp's prompt
// tokens, BOS added where the model says, specials parsed).

package tokenizer

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// TestModelPrompts checks the prompt tokens of llama.cpp's reference runs
// (BOS where the model says, specials parsed) for the tiny models.
func TestModelPrompts(t *testing.T) {
	for _, m := range []string{"tiny-llama", "tiny-qwen2", "tiny-gpt2"} {
		t.Run(m, func(t *testing.T) {
			tok := openVocab(t, testkit.Shared(t, "reference", "models", m+"-f32.gguf"))
			f, err := os.Open(testkit.Shared(t, "reference", "outputs", m+"-f32.jsonl"))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<24)
			n := 0
			for sc.Scan() {
				var rec struct {
					Prompt string  `json:"prompt"`
					Tokens []int32 `json:"tokens"`
				}
				if err := json.Unmarshal(sc.Bytes(), &rec); err != nil {
					t.Fatal(err)
				}
				n++
				got := tok.Encode(rec.Prompt, EncodeOptions{AddSpecial: true, ParseSpecial: true})
				if !equalIDs(got, rec.Tokens) {
					t.Errorf("%q:\n got  %v\n want %v", rec.Prompt, got, rec.Tokens)
				}
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if n == 0 {
				t.Fatal("no prompts")
			}
		})
	}
}

// TestTinyQwen2Specials checks the ChatML tokens and end-of-generation set.
func TestTinyQwen2Specials(t *testing.T) {
	tok := openVocab(t, testkit.Shared(t, "reference", "models", "tiny-qwen2-f32.gguf"))
	end, ok := tok.TokenID("<|im_end|>")
	if !ok || !tok.IsEOG(end) {
		t.Fatalf("<|im_end|> id %d ok %v, IsEOG %v", end, ok, tok.IsEOG(end))
	}
	start, _ := tok.TokenID("<|im_start|>")
	if tok.IsEOG(start) {
		t.Fatal("<|im_start|> must not end generation")
	}
	ids := tok.Encode("<|im_start|>", EncodeOptions{ParseSpecial: true})
	if len(ids) != 1 || ids[0] != start {
		t.Fatalf("parsed %v, want [%d]", ids, start)
	}
	if ids := tok.Encode("<|im_start|>", EncodeOptions{}); len(ids) <= 1 {
		t.Fatalf("without ParseSpecial the marker must be plain text, got %v", ids)
	}
}
