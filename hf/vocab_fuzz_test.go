// Reference: Go fuzzing (go.dev/doc/security/fuzz); Hugging Face's
// tokenizer.json and tokenizer_config.json as vocab.go reads them.

package hf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
)

// FuzzTokenizerFiles feeds readVocab a fuzzed tokenizer.json and
// tokenizer_config.json for one of the architectures Convert reads (arch
// picks it). An accepted pair gives metadata that writes as GGUF and
// parses back with the same keys: the converter's output must be a file.
func FuzzTokenizerFiles(f *testing.F) {
	cfg := []byte(`{"bos_token":"<|endoftext|>","eos_token":{"content":"<|endoftext|>"},"add_bos_token":true,` +
		`"added_tokens_decoder":{"258":{"content":"<|endoftext|>","special":true}},` +
		`"chat_template":[{"name":"default","template":"{{ messages[0]['content'] }}"}]}`)
	for i, pre := range []string{preFor["gpt2"], preFor["llama"], preFor["qwen2"]} {
		f.Add([]byte(tinyTokenizer(pre)), cfg, byte(i))
	}
	f.Add([]byte(`{"model":{"type":"WordPiece","vocab":{"[UNK]":0,"[CLS]":1,"[SEP]":2,"a":3,"##b":4}}}`), []byte(`{"do_lower_case":true,"cls_token":"[CLS]"}`), byte(len(archs)-1))
	if b, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(), "..", "shared", "data", "5-models-tokenizers", "minimind_tokenizer_config.json")); err == nil {
		f.Add([]byte(tinyTokenizer(preFor["qwen2"])), b, byte(2))
	}
	f.Fuzz(func(t *testing.T, tokJSON, tokConfig []byte, archIdx byte) {
		a := archs[int(archIdx)%len(archs)]
		dir := t.TempDir()
		for name, b := range map[string][]byte{"tokenizer.json": tokJSON, "tokenizer_config.json": tokConfig,
			"config.json": []byte(`{"architectures":["` + a.hf + `"],"type_vocab_size":2}`)} {
			if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		c, err := readConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		kv, err := readVocab(dir, a, 300, c)
		if err != nil {
			return
		}
		h := &gguf.Header{KV: append([]gguf.KV{{Key: "general.architecture", Value: gguf.NewValue(a.gguf)}}, kv...)}
		if err := h.Layout(); err != nil {
			t.Fatalf("accepted vocabulary gives a header that does not lay out: %v", err)
		}
		// In memory: a file's fsync would cost more than the rest of the run.
		var buf bytes.Buffer
		if err := gguf.Write(&buf, h, nil); err != nil {
			t.Fatalf("accepted vocabulary does not write: %v", err)
		}
		g, err := gguf.Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("written vocabulary does not parse: %v", err)
		}
		if len(g.KV) != len(h.KV) {
			t.Fatalf("%d keys read back, %d written", len(g.KV), len(h.KV))
		}
	})
}
