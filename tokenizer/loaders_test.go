// Reference: ../shared/data/README.md ("llama.cpp tokenizer test vectors": which
// files reproduce which llama.cpp vectors) and each loader's format reference.

package tokenizer

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func openFile(t testing.TB, p string) *os.File {
	t.Helper()
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// loadLlama3 builds the LLaMA-3 vocabulary from vocab.json + merges.txt.
func loadLlama3(t testing.TB) *Tokenizer {
	t.Helper()
	dir := testkit.Shared(t, "data", "5-models-tokenizers")
	tok, err := FromVocabMerges(openFile(t, dir+"/llama3.2_encoder.json"), openFile(t, dir+"/llama3.2_vocab.bpe"), "llama-bpe")
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestLlama3Vectors: llama3.2_encoder.json + llama3.2_vocab.bpe reproduce
// llama.cpp's ggml-vocab-llama-bpe vectors.
func TestLlama3Vectors(t *testing.T) {
	tok := loadLlama3(t)
	roundTripSharedInputs(t, tok)
	base := llamaCppModels(t, "ggml-vocab-llama-bpe.gguf.inp")
	base = base[:len(base)-len(".inp")]
	checkVectors(t, tok, readVectors(t, base+".inp", base+".out"), true)
}

// roundTripSharedInputs checks Decode(Encode(x)) == x on the 46 hard inputs
// that ship with the shared reference (the same texts as llama.cpp's
// vectors), which still runs when llama.cpp's own .out files are absent.
func roundTripSharedInputs(t *testing.T, tok *Tokenizer) {
	t.Helper()
	base := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-gpt-2.gguf")
	for _, c := range readVectors(t, base+".inp", base+".out") {
		if d := tok.Decode(tok.Encode(c.text, EncodeOptions{})); d != c.text {
			t.Errorf("round trip of %q gave %q", c.text, d)
		}
	}
}

// TestQwenVectors: qwen.tiktoken with the Qwen pre-tokenizer reproduces
// llama.cpp's ggml-vocab-qwen2 vectors.
func TestQwenVectors(t *testing.T) {
	tok, err := Load(testkit.Shared(t, "data", "5-models-tokenizers", "qwen.tiktoken"))
	if err != nil {
		t.Fatal(err)
	}
	if id, _ := tok.TokenID("<|im_end|>"); id != 151645 || !tok.IsEOG(id) {
		t.Fatalf("<|im_end|> = %d (EOG %v), want 151645", id, tok.IsEOG(id))
	}
	roundTripSharedInputs(t, tok)
	base := llamaCppModels(t, "ggml-vocab-qwen2.gguf.inp")
	base = base[:len(base)-len(".inp")]
	checkVectors(t, tok, readVectors(t, base+".inp", base+".out"), true)
}

// TestGPT2VocabMerges: GPT-2's vocab.json + merges.txt give tiktoken's gpt2 ids.
func TestGPT2VocabMerges(t *testing.T) {
	dir := testkit.Shared(t, "data", "5-models-tokenizers")
	tok, err := FromVocabMerges(openFile(t, dir+"/gpt2_vocab.json"), openFile(t, dir+"/gpt2_merges.txt"), "gpt-2")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(testkit.Shared(t, "data", "6-tokenizer-tests", "tiktoken_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v tiktokenVectors
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	cases := v.Encodings["gpt2"]
	if len(cases) == 0 {
		t.Fatal("no gpt2 vectors")
	}
	for i, c := range cases {
		if got := tok.Encode(c.Text, EncodeOptions{}); !equalIDs(got, c.IDs) {
			t.Errorf("case %d %q:\n got  %v\n want %v", i, c.Text, got, c.IDs)
		}
	}
}

// TestSentencePieceModelMatchesGGUF: the .model file the tiny LLaMA was made
// from gives the same vocabulary and the same tokens as the GGUF.
func TestSentencePieceModelMatchesGGUF(t *testing.T) {
	sp, err := Load(testkit.Shared(t, "reference", "tokenizer", "tiny-spm1024.model"))
	if err != nil {
		t.Fatal(err)
	}
	gg := openVocab(t, testkit.Shared(t, "reference", "models", "tiny-llama-f32.gguf"))
	if sp.VocabSize() != gg.VocabSize() {
		t.Fatalf("vocab %d vs GGUF %d", sp.VocabSize(), gg.VocabSize())
	}
	for i := int32(0); i < int32(sp.VocabSize()); i++ {
		if sp.Piece(i) != gg.Piece(i) || sp.Type(i) != gg.Type(i) || sp.scores[i] != gg.scores[i] {
			t.Fatalf("token %d: %q/%d/%g vs GGUF %q/%d/%g", i, sp.Piece(i), sp.Type(i), sp.scores[i], gg.Piece(i), gg.Type(i), gg.scores[i])
		}
	}
	base := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")
	for _, c := range readVectors(t, base+".inp", base+".out") {
		opt := EncodeOptions{AddSpecial: true, ParseSpecial: true}
		if a, b := sp.Encode(c.text, opt), gg.Encode(c.text, opt); !equalIDs(a, b) {
			t.Errorf("%q: .model %v, GGUF %v", c.text, a, b)
		}
	}
}

// TestLlama2Model: LLaMA-2's tokenizer.model reproduces llama.cpp's
// llama-spm vectors and llama2.c's encode vectors (BOS, dummy prefix).
func TestLlama2Model(t *testing.T) {
	tok, err := Load(testkit.Shared(t, "data", "5-models-tokenizers", "llama2-tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	base := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")
	checkVectors(t, tok, readVectors(t, base+".inp", base+".out"), true)

	b, err := os.ReadFile(testkit.Shared(t, "data", "6-tokenizer-tests", "llama2c_spm_vectors.json"))
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Cases []struct {
			Text string  `json:"text"`
			IDs  []int32 `json:"ids"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	if len(v.Cases) == 0 {
		t.Fatal("no llama2.c vectors")
	}
	gg := openVocab(t, base)
	bin, err := Load(testkit.Shared(t, "data", "5-models-tokenizers", "llama2c-tokenizer.bin"))
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range v.Cases {
		for name, tk := range map[string]*Tokenizer{"model": tok, "gguf": gg, "llama2.c bin": bin} {
			got := tk.Encode(c.Text, EncodeOptions{AddSpecial: true})
			if !equalIDs(got, c.IDs) {
				t.Errorf("%s case %d %q:\n got  %v\n want %v", name, i, c.Text, got, c.IDs)
			}
			if d := tk.Decode(got); d != c.Text {
				t.Errorf("%s case %d: Decode = %q, want %q", name, i, d, c.Text)
			}
		}
	}
}

// TestHFJSONLlama: a LLaMA tokenizer.json (BPE with ▁ and byte fallback)
// tokenizes llama.cpp's llama-spm vectors the same way.
func TestHFJSONLlama(t *testing.T) {
	tok, err := Load(testkit.Shared(t, "data", "5-models-tokenizers", "dolma_llama-tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if tok.Kind() != KindSPM || tok.BOS() != 1 || !tok.AddBOS() {
		t.Fatalf("kind %v BOS %d add %v", tok.Kind(), tok.BOS(), tok.AddBOS())
	}
	base := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")
	checkVectors(t, tok, readVectors(t, base+".inp", base+".out"), true)
}

// TestHFJSONByteLevel: GPT-NeoX's tokenizer.json (ByteLevel pre-tokenizer
// with the GPT-2 pattern) round-trips and finds the whole-word tokens.
func TestHFJSONByteLevel(t *testing.T) {
	hf, err := Load(testkit.Shared(t, "data", "5-models-tokenizers", "dolma_gpt-neo-tokenizer.json"))
	if err != nil {
		t.Fatal(err)
	}
	if hf.Kind() != KindBPE {
		t.Fatalf("kind %v", hf.Kind())
	}
	hello, _ := hf.TokenID("Hello")
	world, _ := hf.TokenID("Ġworld")
	if got := hf.Encode("Hello world", EncodeOptions{}); !equalIDs(got, []int32{hello, world}) {
		t.Fatalf("Hello world = %v, want [%d %d]", got, hello, world)
	}
	base := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-gpt-2.gguf")
	for _, c := range readVectors(t, base+".inp", base+".out") {
		if d := hf.Decode(hf.Encode(c.text, EncodeOptions{})); d != c.text {
			t.Errorf("round trip of %q gave %q", c.text, d)
		}
	}
}
