// Reference: google/sentencepiece src/trainer_interface.cc (the vocabulary
// layout and piece rules checked here).

package tokenizer

import (
	"context"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gptgo/gptgo/internal/testkit"
)

func trainSPMText(t *testing.T, size int, s SPMOptions, texts ...string) *Vocab {
	t.Helper()
	tr, err := NewSPMTrainer(TrainOptions{VocabSize: size, Specials: []string{"<|im_start|>"}}, s)
	if err != nil {
		t.Fatal(err)
	}
	for _, x := range texts {
		if err := tr.Add(context.Background(), x); err != nil {
			t.Fatal(err)
		}
	}
	v, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// checkSPMPieces checks the piece rules on every merged piece.
func checkSPMPieces(t *testing.T, v *Vocab, maxLen int) {
	t.Helper()
	seen := map[string]bool{}
	for i, p := range v.Tokens {
		if seen[p] {
			t.Errorf("piece %q twice", p)
		}
		seen[p] = true
		if v.Types[i] != TypeNormal {
			continue
		}
		if utf8.RuneCountInString(p) > maxLen {
			t.Errorf("piece %q longer than %d", p, maxLen)
		}
		if rest := strings.TrimLeft(p, "▁"); rest != "" && strings.Contains(rest, "▁") || strings.HasPrefix(p, "▁▁") && rest != "" {
			t.Errorf("piece %q has ▁ inside", p)
		}
	}
	for i := 1; i < len(v.Scores); i++ {
		if v.Types[i] == TypeNormal && v.Types[i-1] == TypeNormal && v.Scores[i] >= v.Scores[i-1] {
			t.Fatalf("scores not decreasing at %d", i)
		}
	}
}

func TestTrainSPMTiny(t *testing.T) {
	text := "the cat sat on the mat\nthe cat ate 12345 rats\n猫猫 cat the  end\n"
	v := trainSPMText(t, 3+1+256+40, SPMOptions{ByteFallback: true, SplitDigits: true, MaxPieceLength: 4}, text, text)
	if v.Tokens[0] != "<unk>" || v.Tokens[3] != "<|im_start|>" || v.Tokens[4] != "<0x00>" || v.Types[4] != TypeByte {
		t.Fatalf("layout %q", v.Tokens[:5])
	}
	checkSPMPieces(t, v, 4)
	// The tiny corpus runs out of mergeable pairs just before 300.
	if n := len(v.Tokens); n > 300 || n < 290 {
		t.Fatalf("%d pieces, want 290…300", n)
	}
	tk, err := v.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"the cat", "a rat ate 42 猫 and 🙂"} {
		if got := tk.Decode(tk.Encode(s, EncodeOptions{})); got != s {
			t.Errorf("round trip %q -> %q", s, got)
		}
	}
	if ids := tk.Encode("the", EncodeOptions{}); len(ids) != 1 || tk.Piece(ids[0]) != "▁the" {
		t.Errorf("\"the\" is %v", ids)
	}
	for _, p := range v.Tokens {
		if strings.ContainsAny(p, "0123456789") && utf8.RuneCountInString(p) > 1 && !strings.HasPrefix(p, "<0x") {
			t.Errorf("digit piece %q despite SplitDigits", p)
		}
		if strings.Contains(p, "猫") && strings.ContainsAny(p, "abcdefghijklmnopqrstuvwxyz") {
			t.Errorf("piece %q mixes scripts", p)
		}
	}
	b, err := v.EncodeSentencePiece()
	if err != nil {
		t.Fatal(err)
	}
	back, err := FromSentencePiece(b)
	if err != nil {
		t.Fatal(err)
	}
	if g, w := back.Encode("the cat 猫", EncodeOptions{AddSpecial: true}), tk.Encode("the cat 猫", EncodeOptions{AddSpecial: true}); !reflect.DeepEqual(g, w) {
		t.Fatalf(".model: %v, want %v", g, w)
	}
	// Coverage: with too little room for the characters, an error.
	if _, err := NewSPMTrainer(TrainOptions{VocabSize: 2}, SPMOptions{}); err == nil {
		t.Error("tiny vocabulary accepted")
	}
	tr, _ := NewSPMTrainer(TrainOptions{VocabSize: 8}, SPMOptions{})
	tr.Add(context.Background(), text)
	if _, err := tr.Train(context.Background()); err == nil {
		t.Error("vocabulary too small for the characters accepted")
	}
}

func TestTrainSPMBotchan(t *testing.T) {
	p := testkit.Shared(t, "data", "6-tokenizer-tests", "spm_botchan.txt")
	tr, err := NewSPMTrainer(TrainOptions{VocabSize: 2000}, SPMOptions{ByteFallback: true, SplitDigits: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := tr.AddFile(context.Background(), p, ""); err != nil {
		t.Fatal(err)
	}
	v, err := tr.Train(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	checkSPMPieces(t, v, 16)
	if len(v.Tokens) != 2000 {
		t.Fatalf("%d pieces", len(v.Tokens))
	}
	tk, err := v.Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "botchan.gguf")
	if err := v.WriteGGUF(path); err != nil {
		t.Fatal(err)
	}
	back, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	s := "I was a troublesome boy, and the school-master said so."
	ids := tk.Encode(s, EncodeOptions{})
	if got := back.Encode(s, EncodeOptions{}); !reflect.DeepEqual(got, ids) || tk.Decode(ids) != s {
		t.Fatalf("GGUF round trip: %v vs %v", got, ids)
	}
	if float64(len(ids)) > 0.4*float64(len(s)) {
		t.Errorf("%d tokens for %d characters: the merges learned little", len(ids), len(s))
	}
}
