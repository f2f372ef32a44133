// Reference: google/sentencepiece src/sentencepiece_model.proto (the fields
// written and read back here).

package tokenizer

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
)

func TestSentencePieceRoundTrip(t *testing.T) {
	v := tinySPM()
	v.PAD = 3
	v.AddSpacePrefix = false
	b, err := v.EncodeSentencePiece()
	if err != nil {
		t.Fatal(err)
	}
	back, err := ReadSentencePieceVocab(b)
	if err != nil {
		t.Fatal(err)
	}
	if back.Unigram || !reflect.DeepEqual(back.Tokens, v.Tokens) || !reflect.DeepEqual(back.Scores, v.Scores) ||
		!reflect.DeepEqual(back.Types, v.Types) || back.PAD != 3 || back.BOS != 1 || back.AddSpacePrefix {
		t.Fatalf("round trip changed the vocabulary: %+v", back)
	}
	// Written again from what was read: the same bytes.
	again, err := back.EncodeSentencePiece()
	if err != nil || !reflect.DeepEqual(again, b) {
		t.Fatalf("second write differs (%v)", err)
	}
	// Negative ids (pad_id: -1) are sign-extended varints.
	v.PAD = -1
	b, _ = v.EncodeSentencePiece()
	if back, err := ReadSentencePieceVocab(b); err != nil || back.PAD != -1 {
		t.Fatalf("pad %v %v", back, err)
	}
	if _, err := (&Vocab{Model: "llama", Tokens: []string{"a"}, Types: []TokenType{TypeNormal}, BOS: 5, EOS: -1, UNK: -1, PAD: -1}).EncodeSentencePiece(); err == nil {
		t.Error("out-of-range BOS accepted")
	}
}

func FuzzReadSentencePieceVocab(f *testing.F) {
	b, _ := tinySPM().EncodeSentencePiece()
	f.Add(b)
	f.Add([]byte{})
	f.Add([]byte{0x12, 0x02, 0x18, 0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		v, err := ReadSentencePieceVocab(data)
		if err != nil {
			return
		}
		if len(v.Tokens) != len(v.Types) || len(v.Tokens) != len(v.Scores) {
			t.Fatalf("%d tokens, %d types, %d scores", len(v.Tokens), len(v.Types), len(v.Scores))
		}
		if !v.Unigram {
			v.Tokenizer() // may refuse, must not panic
		}
	})
}

// TestVocabOfReferenceGGUF reads llama.cpp's vocab-only files, rebuilds
// their Vocab and writes it: the tokenizer keys come back value for value.
func TestVocabOfReferenceGGUF(t *testing.T) {
	for _, name := range []string{"ggml-vocab-gpt-2.gguf", "ggml-vocab-llama-spm.gguf", "ggml-vocab-deepseek-coder.gguf", "ggml-vocab-phi-3.gguf"} {
		ref := testkit.Shared(t, "reference", "tokenizer", name)
		v, err := LoadVocab(ref)
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(t.TempDir(), name)
		if err := v.WriteGGUF(out); err != nil {
			t.Fatal(err)
		}
		a, err := gguf.Open(ref)
		if err != nil {
			t.Fatal(err)
		}
		b, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		for _, kv := range a.KV {
			if !strings.HasPrefix(kv.Key, "tokenizer.ggml.") {
				continue
			}
			got, ok := b.Lookup(kv.Key)
			if !ok {
				t.Errorf("%s: %s missing", name, kv.Key)
				continue
			}
			if !reflect.DeepEqual(got.X, kv.Value.X) {
				t.Errorf("%s: %s differs", name, kv.Key)
			}
		}
		a.Close()
		b.Close()
	}
}
