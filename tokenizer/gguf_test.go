// Reference: ggml/docs/gguf.md (file layout, metadata value types) and
// llama.cpp src/llama-vocab.cpp (the defaults FromGGUF must reproduce).

package tokenizer

import (
	"bytes"
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
)

// ggufBytes writes a tensor-less GGUF v3 file holding kv (string, []string,
// uint32, bool, []float32, []int32 values), for tests that need no shared data.
func ggufBytes(t *testing.T, kv [][2]any) []byte {
	t.Helper()
	var b bytes.Buffer
	w := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	str := func(s string) { w(uint64(len(s))); b.WriteString(s) }
	w(uint32(gguf.Magic))
	w(uint32(3))
	w(uint64(0))
	w(uint64(len(kv)))
	for _, e := range kv {
		str(e[0].(string))
		switch v := e[1].(type) {
		case string:
			w(uint32(gguf.TypeString))
			str(v)
		case uint32:
			w(uint32(gguf.TypeUint32))
			w(v)
		case bool:
			w(uint32(gguf.TypeBool))
			if v {
				w(uint8(1))
			} else {
				w(uint8(0))
			}
		case []string:
			w(uint32(gguf.TypeArray))
			w(uint32(gguf.TypeString))
			w(uint64(len(v)))
			for _, s := range v {
				str(s)
			}
		case []float32:
			w(uint32(gguf.TypeArray))
			w(uint32(gguf.TypeFloat32))
			w(uint64(len(v)))
			for _, f := range v {
				w(math.Float32bits(f))
			}
		case []int32:
			w(uint32(gguf.TypeArray))
			w(uint32(gguf.TypeInt32))
			w(uint64(len(v)))
			w(v)
		default:
			t.Fatalf("ggufBytes: unsupported %T", v)
		}
	}
	return b.Bytes()
}

func parseGGUF(t *testing.T, kv [][2]any) *gguf.File {
	t.Helper()
	f, err := gguf.Parse(ggufBytes(t, kv))
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestFromGGUFSPM(t *testing.T) {
	toks := []string{"<unk>", "<s>", "</s>", "▁", "a", "▁a"}
	f := parseGGUF(t, [][2]any{
		{"tokenizer.ggml.model", "llama"},
		{"tokenizer.ggml.tokens", toks},
		{"tokenizer.ggml.scores", []float32{0, 0, 0, -1, -1, -0.5}},
		{"tokenizer.ggml.token_type", []int32{2, 3, 3, 1, 1, 1}},
		{"tokenizer.ggml.add_eos_token", true},
	})
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	// llama.cpp's SPM defaults: BOS 1 added, EOS 2 (added here by the flag), ▁ prefix.
	got := tok.Encode("a a", EncodeOptions{AddSpecial: true})
	if want := []int32{1, 5, 5, 2}; !equalIDs(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if tok.BOS() != 1 || tok.EOS() != 2 || !tok.IsEOG(2) || tok.VocabSize() != 6 {
		t.Fatalf("BOS %d EOS %d vocab %d", tok.BOS(), tok.EOS(), tok.VocabSize())
	}
	if tok.Decode(got) != "a a" || tok.Piece(5) != "▁a" || tok.TokenBytes(5) != " a" {
		t.Fatalf("decode %q piece %q bytes %q", tok.Decode(got), tok.Piece(5), tok.TokenBytes(5))
	}
}

func TestFromGGUFBPEDefaults(t *testing.T) {
	var toks []string
	for b := 0; b < 256; b++ {
		toks = append(toks, string(byteToRune[b]))
	}
	toks = append(toks, "<|begin_of_text|>", "<|eot_id|>", "<|fim_prefix|>", "<|fim_pad|>")
	f := parseGGUF(t, [][2]any{
		{"tokenizer.ggml.model", "gpt2"},
		{"tokenizer.ggml.pre", "llama-bpe"},
		{"tokenizer.ggml.tokens", toks},
		{"tokenizer.ggml.merges", []string{}},
		{"tokenizer.ggml.bos_token_id", uint32(256)},
	})
	tok, err := FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	// LLaMA-3's pre-tokenizer adds BOS by default; <|eot_id|> ends generation
	// and becomes a control token even though the file typed nothing.
	got := tok.Encode("a<|eot_id|>", EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if want := []int32{256, 'a', 257}; !equalIDs(got, want) {
		t.Fatalf("got %v want %v", got, want)
	}
	if s := tok.String(); s != "bpe (llama-bpe), 260 tokens, BOS 256 (added true), EOS 11 (added false), 3 end-of-generation ids" {
		t.Errorf("String() = %q", s)
	}
	if !tok.IsEOG(257) || !tok.IsControl(257) {
		t.Fatal("<|eot_id|> is not an end-of-generation control token")
	}
	// FIM tokens recognised by text become control; only pad/repo/sep end generation.
	if !tok.IsControl(258) || tok.IsEOG(258) || !tok.IsControl(259) || !tok.IsEOG(259) {
		t.Fatalf("FIM: prefix control %v EOG %v, pad control %v EOG %v",
			tok.IsControl(258), tok.IsEOG(258), tok.IsControl(259), tok.IsEOG(259))
	}
}

func TestFromGGUFErrors(t *testing.T) {
	for _, c := range []struct {
		kv   [][2]any
		want string
	}{
		{nil, "tokenizer.ggml.model"},
		{[][2]any{{"tokenizer.ggml.model", "llama"}}, "tokenizer.ggml.tokens"},
		{[][2]any{{"tokenizer.ggml.model", "rwkv"}, {"tokenizer.ggml.tokens", []string{"a"}}}, "unsupported"},
		{[][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", []string{"a"}}}, "merges"},
		{[][2]any{{"tokenizer.ggml.model", "gpt2"}, {"tokenizer.ggml.tokens", []string{"a"}},
			{"tokenizer.ggml.merges", []string{}}, {"tokenizer.ggml.pre", "martian"}}, "martian"},
		{[][2]any{{"tokenizer.ggml.model", "llama"}, {"tokenizer.ggml.tokens", []string{"a"}},
			{"tokenizer.ggml.scores", []float32{1, 2}}}, "scores"},
	} {
		_, err := FromGGUF(parseGGUF(t, c.kv))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one naming %q", c.kv, err, c.want)
		}
	}
}
