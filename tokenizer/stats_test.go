// Reference: stats.go (the definitions of characters, Han characters and words).

package tokenizer

import (
	"os"
	"path/filepath"
	"testing"
)

func TestTextStats(t *testing.T) {
	tk, err := tinySPM().Tokenizer()
	if err != nil {
		t.Fatal(err)
	}
	var s TextStats
	s.Add(tk, "the cat 猫猫")
	// "▁the" is one token; "▁", "c", "a", "t" fall back (c: byte token), "▁", 猫 as 3 bytes each.
	if s.Bytes != 14 || s.Chars != 10 || s.Han != 2 || s.Words != 4 || s.Pieces != 1 {
		t.Fatalf("%+v", s)
	}
	if s.Tokens != int64(len(tk.Encode("the cat 猫猫", EncodeOptions{}))) {
		t.Fatalf("tokens %d", s.Tokens)
	}
	// Only the six byte tokens of 猫猫 are tokens of Chinese text (the ▁
	// before them is a token of its own): tok/han is 3, not Tokens/Han.
	if s.HanTokens != 6 {
		t.Fatalf("Han tokens %d, want 6 (of %d tokens)", s.HanTokens, s.Tokens)
	}
	// A byte-level vocabulary: every byte its own token, so 中文 is six
	// tokens wherever it stands; specials and spaces do not count.
	bl := byteLevelVocab(t, "gpt-2")
	var b TextStats
	b.Add(bl, "hello 中文<|user|> world中 x")
	if b.Han != 3 || b.HanTokens != 9 {
		t.Fatalf("byte-level: %d Han characters, %d Han tokens, want 3 and 9", b.Han, b.HanTokens)
	}
	// WordPiece does not spell the text back (case, dropped spaces): each Han
	// run is encoded alone.
	wpm, err := New(Config{Kind: KindWPM, Tokens: []string{"[UNK]", "▁a", "▁中", "▁文"}, BOS: -1, EOS: -1, UNK: 0, SEP: -1})
	if err != nil {
		t.Fatal(err)
	}
	var w TextStats
	w.Add(wpm, "A 中文 a")
	if w.HanTokens != 2 || w.Tokens != 4 {
		t.Fatalf("WordPiece: %d Han tokens of %d, want 2 of 4", w.HanTokens, w.Tokens)
	}
	if Per(3, 0) != 0 || Per(3, 2) != 1.5 {
		t.Fatal("Per")
	}
	p := filepath.Join(t.TempDir(), "a.jsonl")
	os.WriteFile(p, []byte(`{"text":"the the"}`+"\n"+`{"text":"猫"}`+"\n"), 0o644)
	fs, err := FileStats(tk, p, "text")
	if err != nil || fs.Pieces != 2 || fs.Words != 3 || fs.Han != 1 {
		t.Fatalf("%+v %v", fs, err)
	}
	if _, err := FileStats(tk, filepath.Join(t.TempDir(), "missing.txt"), ""); err == nil {
		t.Fatal("missing file accepted")
	}
}
