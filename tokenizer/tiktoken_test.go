// Reference: ../shared/data/6-tokenizer-tests/tiktoken_vectors.json (js-tiktoken
// outputs and openai/tiktoken tests/test_encoding.py cases).

package tokenizer

import (
	"encoding/hex"
	"encoding/json"
	"os"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

type tiktokenVectors struct {
	Encodings map[string][]struct {
		Text string  `json:"text"`
		IDs  []int32 `json:"ids"`
	} `json:"encodings"`
	Official struct {
		Cases []struct {
			Enc          string  `json:"enc"`
			Text         string  `json:"text"`
			BytesHex     string  `json:"bytes_hex"`
			AllowSpecial string  `json:"allowed_special"`
			IDs          []int32 `json:"ids"`
		} `json:"cases"`
	} `json:"official_from_openai_tiktoken_tests"`
}

// tiktokenFiles maps encoding names to their rank files in the shared data.
var tiktokenFiles = map[string]string{
	"gpt2":        "r50k_base.tiktoken", // gpt2 and r50k_base share ranks
	"r50k_base":   "r50k_base.tiktoken",
	"p50k_base":   "p50k_base.tiktoken",
	"cl100k_base": "cl100k_base.tiktoken",
	"o200k_base":  "o200k_base.tiktoken",
}

func loadTiktoken(t testing.TB, enc string) *Tokenizer {
	t.Helper()
	p := testkit.Shared(t, "data", "5-models-tokenizers", tiktokenFiles[enc])
	tok, err := loadTiktokenFile(p, enc)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestTiktokenVectors(t *testing.T) {
	p := testkit.Shared(t, "data", "6-tokenizer-tests", "tiktoken_vectors.json")
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var v tiktokenVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Encodings) == 0 || len(v.Official.Cases) == 0 {
		t.Fatal("no vectors")
	}
	toks := map[string]*Tokenizer{}
	get := func(t *testing.T, enc string) *Tokenizer {
		if toks[enc] == nil {
			toks[enc] = loadTiktoken(t, enc)
		}
		return toks[enc]
	}
	for enc, cases := range v.Encodings {
		t.Run(enc, func(t *testing.T) {
			if testing.Short() && enc == "o200k_base" {
				t.Skip("large vocabulary; skipped with -short")
			}
			tok := get(t, enc)
			for i, c := range cases {
				got := tok.Encode(c.Text, EncodeOptions{})
				if !equalIDs(got, c.IDs) {
					t.Errorf("case %d %q:\n got  %v\n want %v", i, c.Text, got, c.IDs)
					continue
				}
				if d := tok.Decode(got); d != c.Text {
					t.Errorf("case %d: Decode(Encode(%q)) = %q", i, c.Text, d)
				}
			}
		})
	}
	t.Run("official", func(t *testing.T) {
		for i, c := range v.Official.Cases {
			if testing.Short() && c.Enc == "o200k_base" {
				continue
			}
			tok := get(t, c.Enc)
			text := c.Text
			if c.BytesHex != "" {
				raw, err := hex.DecodeString(c.BytesHex)
				if err != nil {
					t.Fatal(err)
				}
				got := tok.EncodeBytes(raw)
				if !equalIDs(got, c.IDs) {
					t.Errorf("case %d bytes %s: got %v want %v", i, c.BytesHex, got, c.IDs)
				}
				continue
			}
			got := tok.Encode(text, EncodeOptions{ParseSpecial: c.AllowSpecial == "all"})
			if !equalIDs(got, c.IDs) {
				t.Errorf("case %d %s %q: got %v want %v", i, c.Enc, text, got, c.IDs)
			}
		}
	})
}
