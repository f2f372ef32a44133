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
