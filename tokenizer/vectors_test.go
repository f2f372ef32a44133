// Reference: llama.cpp tests/test-tokenizer-0.cpp (the .inp/.out vector
// format: inputs split on "\n__ggml_vocab_test__\n", one line of ids each).

package tokenizer

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// vectorCase is one input text and llama.cpp's ids for it (no BOS).
type vectorCase struct {
	text string
	ids  []int32
}

// readVectors reads a .inp/.out pair.
func readVectors(t testing.TB, inp, out string) []vectorCase {
	t.Helper()
	in, err := os.ReadFile(inp)
	if err != nil {
		t.Fatal(err)
	}
	ou, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	texts := strings.Split(string(in), "\n__ggml_vocab_test__\n")
	lines := strings.Split(strings.TrimRight(string(ou), "\n"), "\n")
	// The .inp file ends with a separator-terminated last text (an empty string
	// split artefact may follow); .out has exactly one line per text.
	if len(texts) == len(lines)+1 && texts[len(texts)-1] == "" {
		texts = texts[:len(texts)-1]
	}
	if len(texts) != len(lines) {
		t.Fatalf("%s: %d inputs but %d output lines", inp, len(texts), len(lines))
	}
	cases := make([]vectorCase, len(texts))
	for i := range texts {
		cases[i].text = texts[i]
		for _, f := range strings.Fields(lines[i]) {
			v, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("%s line %d: %v", out, i+1, err)
			}
			cases[i].ids = append(cases[i].ids, int32(v))
		}
	}
	return cases
}

func equalIDs(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// checkVectors encodes every case and compares with llama.cpp's ids; with
// lossless set it also checks Decode(Encode(x)) == x.
func checkVectors(t *testing.T, tok *Tokenizer, cases []vectorCase, lossless bool) {
	t.Helper()
	bad := 0
	for i, c := range cases {
		got := tok.Encode(c.text, EncodeOptions{})
		if !equalIDs(got, c.ids) {
			bad++
			if bad <= 5 {
				t.Errorf("case %d %q:\n got  %v\n want %v", i, c.text, got, c.ids)
			}
			continue
		}
		if lossless {
			if d := tok.Decode(got); d != c.text {
				t.Errorf("case %d: Decode(Encode(%q)) = %q", i, c.text, d)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d cases differ", bad, len(cases))
	}
}

// llamaCppModels returns llama.cpp's models/ directory when its source is
// checked out beside the repository (more vocabularies and vectors), or skips.
func llamaCppModels(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(testkit.ModuleRoot(), "..", "llama.cpp-src", "models", name)
	if _, err := os.Stat(p); err != nil {
		t.Skipf("skipping: %s is absent", p)
	}
	return p
}

func openVocab(t testing.TB, path string) *Tokenizer {
	t.Helper()
	tok, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestReferenceVectors(t *testing.T) {
	for _, v := range []struct {
		name     string
		lossless bool
	}{
		{"llama-spm", true},
		{"phi-3", true},
		{"gpt-2", true},
		{"deepseek-coder", true},
		{"bert-bge", false}, // WordPiece lowercases and drops accents
	} {
		t.Run(v.name, func(t *testing.T) {
			base := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-"+v.name+".gguf")
			tok := openVocab(t, base)
			checkVectors(t, tok, readVectors(t, base+".inp", base+".out"), v.lossless)
		})
	}
}

// TestLlamaCppVectors covers the further vocabularies of llama.cpp's models/
// directory when its source is present.
func TestLlamaCppVectors(t *testing.T) {
	for _, name := range []string{"falcon", "mpt", "refact", "starcoder", "deepseek-llm"} {
		t.Run(name, func(t *testing.T) {
			base := llamaCppModels(t, "ggml-vocab-"+name+".gguf")
			tok := openVocab(t, base)
			checkVectors(t, tok, readVectors(t, base+".inp", base+".out"), true)
		})
	}
}
