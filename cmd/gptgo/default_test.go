package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// TestRunDefaultModel: without a model, run and chat use the embedded
// default; greedy decoding gives the same tokens twice; a first argument
// naming a .gguf file is still read as the model.
func TestRunDefaultModel(t *testing.T) {
	var first []int32
	for range 2 {
		out, errOut, code := runCLI(t, "", "run", "The king", "-n", "12", "--temp", "0", "--ignore-eos", "--json")
		if code != 0 {
			t.Fatalf("run without a model: exit %d: %s", code, errOut)
		}
		var r struct {
			IDs  []int32 `json:"ids"`
			Text string  `json:"text"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil {
			t.Fatalf("%v: %q", err, out)
		}
		if len(r.IDs) != 12 || r.Text == "" {
			t.Fatalf("%d ids, text %q", len(r.IDs), r.Text)
		}
		if first != nil && !slices.Equal(first, r.IDs) {
			t.Fatalf("greedy runs differ: %v then %v", first, r.IDs)
		}
		first = r.IDs
	}
	out, errOut, code := runCLI(t, "床前明月光\n/bye\n", "chat", "-n", "8", "--temp", "0")
	if code != 0 || len(strings.TrimSpace(out)) == 0 {
		t.Fatalf("chat without a model: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	missing := filepath.Join(t.TempDir(), "missing.gguf")
	if _, errOut, code := runCLI(t, "", "run", missing, "hello"); code == 0 || !strings.Contains(errOut, "missing.gguf") {
		t.Fatalf("a missing .gguf model: exit %d, %q", code, errOut)
	}
}

// TestPerplexity scores a text with the default model: the result is
// consistent with itself (loss is
// the log of the perplexity; bits per byte are the total loss over the
// bytes), and a shard of another vocabulary is refused.
func TestPerplexity(t *testing.T) {
	dir := t.TempDir()
	text := filepath.Join(dir, "t.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("To be, or not to be, that is the question.\n", 20)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "perplexity", text, "--json", "--ctx", "64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r perplexityResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatal(err)
	}
	if r.Tokens == 0 || r.Windows < 2 || r.Ctx != 64 || r.Bytes < r.Tokens {
		t.Fatalf("%+v", r)
	}
	if d := math.Abs(math.Log(r.Perplexity) - r.Loss); d > 1e-9 {
		t.Errorf("log perplexity %v, loss %v", math.Log(r.Perplexity), r.Loss)
	}
	if d := math.Abs(r.BitsPerByte - r.Loss*float64(r.Tokens)/math.Ln2/float64(r.Bytes)); d > 1e-9 {
		t.Errorf("bits per byte %v, from the loss %v", r.BitsPerByte, r.Loss*float64(r.Tokens)/math.Ln2/float64(r.Bytes))
	}
	// One window: every token but the first is scored, so the bytes are
	// the text's less the first token's.
	line := "To be, or not to be, that is the question."
	if err := os.WriteFile(text, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI(t, "", "perplexity", text, "--json", "--mode", "all")
	if err := json.Unmarshal([]byte(out), &r); code != 0 || err != nil {
		t.Fatalf("exit %d, %v: %s", code, err, errOut)
	}
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	ids := tok.Encode(line, tokenizer.EncodeOptions{})
	if want := len(line) - len(tok.TokenBytes(ids[0])); r.Windows != 1 || r.Tokens != len(ids)-1 || r.Bytes != want {
		t.Errorf("one window: %+v; want %d tokens, %d bytes", r, len(ids)-1, want)
	}
	shard := filepath.Join(dir, "s.tok")
	w, err := data.CreateShard(shard, 300, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDoc([]int32{1, 2, 3}); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "", "perplexity", shard); code != 1 || !strings.Contains(errOut, "vocabulary") {
		t.Errorf("a shard of another vocabulary: exit %d, %q", code, errOut)
	}
}
