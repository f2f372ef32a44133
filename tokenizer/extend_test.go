// Reference: ymcui/Chinese-LLaMA-Alpaca (the merged Chinese-LLaMA
// vocabulary has 49,953 pieces and about halves the tokens of Chinese text).

package tokenizer

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestExtendChineseLLaMA(t *testing.T) {
	dir := testkit.Shared(t, "data", "5-models-tokenizers")
	base, err := LoadVocab(filepath.Join(dir, "llama2-tokenizer.model"))
	if err != nil {
		t.Fatal(err)
	}
	add, err := LoadVocab(filepath.Join(dir, "chinese-llama-alpaca_chinese_sp.model"))
	if err != nil {
		t.Fatal(err)
	}
	if !add.Unigram || base.Unigram {
		t.Fatalf("unigram flags: base %v add %v", base.Unigram, add.Unigram)
	}
	ext, rep, err := Extend(base, add, ExtendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ext.Tokens) != 49953 || rep.Added != 17953 {
		t.Fatalf("%d tokens (%+v), want 49953", len(ext.Tokens), rep)
	}
	for i := range base.Tokens {
		if ext.Tokens[i] != base.Tokens[i] || ext.Scores[i] != base.Scores[i] || ext.Types[i] != base.Types[i] {
			t.Fatalf("id %d changed: %q -> %q", i, base.Tokens[i], ext.Tokens[i])
		}
	}
	want, err := ext.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := base.Tokenizer()
	text := "人工智能是计算机科学的一个分支，它企图了解智能的实质。"
	ids := want.Encode(text, EncodeOptions{})
	if n := len(old.Encode(text, EncodeOptions{})); 2*len(ids) > n+2 {
		t.Errorf("extension does not shorten Chinese: %d tokens before, %d after", n, len(ids))
	}
	if got := want.Decode(ids); got != text {
		t.Fatalf("decode %q", got)
	}
	tmp := t.TempDir()
	for _, name := range []string{"zh.model", "zh.gguf"} {
		p := filepath.Join(tmp, name)
		if err := ext.WriteFile(p); err != nil {
			t.Fatal(err)
		}
		got, err := Load(p)
		if err != nil {
			t.Fatal(err)
		}
		if g := got.Encode(text, EncodeOptions{AddSpecial: true}); !reflect.DeepEqual(g[1:], ids) || g[0] != 1 {
			t.Errorf("%s: %v, want [1] + %v", name, g, ids)
		}
	}
	// The .model keeps LLaMA's trainer and normalizer specs byte for byte.
	orig, _ := os.ReadFile(filepath.Join(dir, "llama2-tokenizer.model"))
	back, _ := LoadVocab(filepath.Join(tmp, "zh.model"))
	if first := spmRestOf(orig); !reflect.DeepEqual(back.spmRest, first) {
		t.Error("the written .model lost the base's trainer/normalizer specs")
	}

	zh := testkit.Shared(t, "data", "3-sft", "alpaca_zh_demo.json")
	before, err := FileStats(old, zh, "")
	if err != nil {
		t.Fatal(err)
	}
	after, err := FileStats(want, zh, "")
	if err != nil {
		t.Fatal(err)
	}
	ratio := Per(before.Tokens, after.Tokens)
	t.Logf("alpaca_zh_demo.json: %.3f -> %.3f tokens per Chinese character (%d -> %d tokens, %.2fx fewer)",
		Per(before.Tokens, before.Han), Per(after.Tokens, after.Han), before.Tokens, after.Tokens, ratio)
	if ratio < 1.8 {
		t.Errorf("extension cuts tokens by %.2fx, Chinese-LLaMA reports about 2x", ratio)
	}
}

// spmRestOf returns the non-piece fields of a .model.
func spmRestOf(b []byte) []byte {
	v, err := ReadSentencePieceVocab(b)
	if err != nil {
		return nil
	}
	return v.spmRest
}

// tinySPM is a small SentencePiece BPE vocabulary built in memory.
func tinySPM() *Vocab {
	v := &Vocab{Model: "llama", BOS: 1, EOS: 2, UNK: 0, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	add := func(tok string, score float32, ty TokenType) {
		v.Tokens = append(v.Tokens, tok)
		v.Scores = append(v.Scores, score)
		v.Types = append(v.Types, ty)
	}
	add("<unk>", 0, TypeUnknown)
	add("<s>", 0, TypeControl)
	add("</s>", 0, TypeControl)
	for b := 0; b < 256; b++ {
		add(string([]byte{"0123456789ABCDEF"[b>>4], "0123456789ABCDEF"[b&15]}), 0, TypeByte)
		v.Tokens[len(v.Tokens)-1] = "<0x" + v.Tokens[len(v.Tokens)-1] + ">"
	}
	for i, p := range []string{"▁t", "he", "▁the", "▁", "t", "h", "e", "a"} {
		add(p, -float32(i), TypeNormal)
	}
	return v
}

func TestExtendTinySPM(t *testing.T) {
	base := tinySPM()
	add := &Vocab{Model: "llama", Tokens: []string{"<unk>", "▁the", "猫", "▁猫", "<0x41>"},
		Types: []TokenType{TypeUnknown, TypeNormal, TypeNormal, TypeNormal, TypeByte}, Scores: []float32{0, -1, -2, -3, 0}}
	for _, c := range []struct {
		mode string
		want []float32
	}{{"", []float32{0, 0}}, {"add", []float32{-2, -3}}, {"below", []float32{-8, -9}}} {
		ext, rep, err := Extend(base, add, ExtendOptions{Scores: c.mode})
		if err != nil {
			t.Fatal(err)
		}
		n := len(base.Tokens)
		if rep.Added != 2 || rep.Skipped != 3 || len(ext.Tokens) != n+2 || ext.Tokens[n] != "猫" || ext.Tokens[n+1] != "▁猫" {
			t.Fatalf("%s: %+v %q", c.mode, rep, ext.Tokens[n:])
		}
		if got := ext.Scores[n:]; !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: scores %v, want %v", c.mode, got, c.want)
		}
	}
	ext, _, _ := Extend(base, add, ExtendOptions{})
	tk, err := ext.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	if ids := tk.Encode("the 猫", EncodeOptions{}); len(ids) != 2 || tk.Piece(ids[1]) != "▁猫" {
		t.Fatalf("ids %v", ids)
	}
	// Through a .model written without a base file (synthesised specs).
	b, err := ext.EncodeSentencePiece()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromSentencePiece(b)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := back.Encode("the 猫", EncodeOptions{AddSpecial: true}), tk.Encode("the 猫", EncodeOptions{AddSpecial: true}); !reflect.DeepEqual(g, w) {
		t.Fatalf(".model round trip: %v, want %v", g, w)
	}
	if _, _, err := Extend(base, &Vocab{Model: "gpt2"}, ExtendOptions{}); err == nil {
		t.Error("mixed kinds accepted")
	}
	if _, _, err := Extend(base, add, ExtendOptions{Scores: "x"}); err == nil {
		t.Error("unknown score mode accepted")
	}
	if _, err := ReadSentencePieceVocab([]byte{0x0a, 0xff}); err == nil {
		t.Error("truncated .model accepted")
	}
}

func TestExtendByteLevel(t *testing.T) {
	train := func(text string, size int) *Vocab {
		tr, _ := NewTrainer(TrainOptions{VocabSize: size, Specials: []string{"<|endoftext|>"}})
		tr.Add(t.Context(), text)
		v, err := tr.Train(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	base := train("the cat sat on the mat the cat", 270)
	add := train("国王 国王 国家 国家 国家 the king", 275)
	ext, rep, err := Extend(base, add, ExtendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(ext.Tokens[:len(base.Tokens)], base.Tokens) || rep.MergesAdded == 0 || rep.Added == 0 {
		t.Fatalf("%+v", rep)
	}
	tk, err := ext.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	old, _ := base.Tokenizer()
	if a, b := len(tk.Encode("国家", EncodeOptions{})), len(old.Encode("国家", EncodeOptions{})); a >= b {
		t.Errorf("extension does not shorten 国家: %d vs %d tokens", a, b)
	}
}
