// Reference: llama.cpp examples/embedding (one vector per prompt), checked against model.State.Embed.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/tokenizer"
)

// TestEmbedCommand embeds two texts with the default decoder (--model
// default) and checks the JSON and plain outputs against
// model.State.Embed's vectors, bit for bit (threading does not change
// results), then stdin lines, --pooling and --normalize=false.
func TestEmbedCommand(t *testing.T) {
	texts := []string{"the cat sat on the mat", "a completely different sentence"}
	f, err := models.OpenDefault()
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.OpenFile(f)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := func(text string, p model.Pooling, normalize bool) []float32 {
		v, err := st.Embed(context.Background(), tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true}), model.EmbedOptions{Pooling: p, Normalize: normalize})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	same := func(a, b []float32) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				return false
			}
		}
		return true
	}

	out, errOut, code := runCLI(t, "", "embed", "--model", "default", texts[0], texts[1], "--json", "--threads", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("%d lines, want 2:\n%s", len(lines), out)
	}
	for i, l := range lines {
		var r embedRecord
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		ids := tok.Encode(texts[i], tokenizer.EncodeOptions{AddSpecial: true})
		if r.Index != i || r.Text != texts[i] || !slices.Equal(r.Tokens, ids) || !same(r.Embedding, want(texts[i], model.PoolMean, true)) {
			t.Errorf("record %d: index %d text %q tokens %v (want %v), or a vector other than model.State.Embed's", i, r.Index, r.Text, r.Tokens, ids)
		}
	}

	// Plain output, texts from stdin (blank lines skipped), last-token pooling.
	out, errOut, code = runCLI(t, texts[0]+"\n\n"+texts[1]+"\n", "embed", "--model", "default", "--pooling", "last")
	if code != 0 {
		t.Fatalf("stdin: exit %d: %s", code, errOut)
	}
	lines = strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdin: %d lines, want 2", len(lines))
	}
	for i, l := range lines {
		var v []float32
		for _, s := range strings.Fields(l) {
			x, err := strconv.ParseFloat(s, 32)
			if err != nil {
				t.Fatal(err)
			}
			v = append(v, float32(x))
		}
		if !same(v, want(texts[i], model.PoolLast, true)) {
			t.Errorf("stdin line %d: not the last-pooled vector", i)
		}
	}

	out, _, code = runCLI(t, "", "embed", "--model", "default", texts[0], "--json", "--normalize=false")
	var r embedRecord
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || !same(r.Embedding, want(texts[0], model.PoolMean, false)) {
		t.Errorf("--normalize=false: exit %d, not the unnormalised mean", code)
	}
}

// TestEmbedDefaultEmbedder: without a model (or with --model
// default-embed, the server's name for it), gptgo embed uses the embedded
// embedder, and gives the very vectors and tokens that the same bytes
// written to a file give.
func TestEmbedDefaultEmbedder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "embed.gguf")
	f, err := models.OpenEmbed()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Close()
	texts := []string{"Who ruled the duchy of Normandy?", "诺曼底公国由谁统治？"}
	def, errOut, code := runCLI(t, "", "embed", texts[0], texts[1], "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	file, errOut, code := runCLI(t, "", "embed", path, texts[0], texts[1], "--json")
	if code != 0 {
		t.Fatalf("%s: exit %d: %s", path, code, errOut)
	}
	if def != file {
		t.Errorf("the default embedder's output differs from its file's:\n%s\n%s", def, file)
	}
	named, errOut, code := runCLI(t, "", "embed", "--model", "default-embed", texts[0], texts[1], "--json")
	if code != 0 || named != def {
		t.Errorf("--model default-embed: exit %d (%s), same output as no model: %v", code, errOut, named == def)
	}
	var r embedRecord
	if err := json.Unmarshal([]byte(strings.SplitN(def, "\n", 2)[0]), &r); err != nil {
		t.Fatal(err)
	}
	var norm float64
	for _, v := range r.Embedding {
		norm += float64(v) * float64(v)
	}
	if len(r.Tokens) == 0 || math.Abs(norm-1) > 1e-4 {
		t.Errorf("tokens %v, squared norm %g", r.Tokens, norm)
	}
}

// TestKBDefaultEmbedder: a new store without --embed-model gets the
// embedded embedder; a store whose meta.json records the pooled default
// decoder (made before the embedder existed) opens with that decoder.
func TestKBDefaultEmbedder(t *testing.T) {
	dir := t.TempDir()
	doc := filepath.Join(dir, "doc.txt")
	if err := os.WriteFile(doc, []byte("Bees make honey from the nectar of flowers."), 0o644); err != nil {
		t.Fatal(err)
	}
	kb := filepath.Join(dir, "kb")
	if _, errOut, code := runCLI(t, "", "kb", "ingest", "--kb", kb, "--quiet", doc); code != 0 {
		t.Fatalf("ingest: exit %d: %s", code, errOut)
	}
	if m, ok, err := rag.ReadMeta(kb); err != nil || !ok || m.Embedder != "embed/mean" || m.Model != "" {
		t.Errorf("new store's meta %+v (%v, %v); want the embedded embedder, embed/mean", m, ok, err)
	}
	dec, err := loadKBEmbedder("default")
	if err != nil {
		t.Fatal(err)
	}
	dim := dec.emb.Dim()
	dec.Close()
	old := filepath.Join(dir, "old")
	if err := os.MkdirAll(old, 0o755); err != nil {
		t.Fatal(err)
	}
	meta := fmt.Sprintf(`{"format": 1, "embedder": "default/mean", "dim": %d}`, dim)
	if err := os.WriteFile(filepath.Join(old, "meta.json"), []byte(meta), 0o644); err != nil {
		t.Fatal(err)
	}
	s, emb, err := openKB(old, "", false)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	defer s.Close()
	if name := emb.emb.Name(); name != "default/mean" {
		t.Errorf("a store made with the pooled decoder opened with %q", name)
	}
}

func TestEmbedCommandErrors(t *testing.T) {
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"embed", "x", "--pooling", "max"}, `pooling "max"`},
		{[]string{"embed", "x", "--pooling", "rank"}, "needs a classifier head"},
		{[]string{"embed", "a", ""}, "text 2 is empty"},
		{[]string{"embed", strings.Repeat("word ", 40), "--ctx", "8"}, "more than the context of 8"},
		{[]string{"embed", "missing.gguf", "x"}, "model file not found"},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code != 1 || !strings.Contains(errOut, c.msg) {
			t.Errorf("%q: exit %d, %q; want 1 and %q", c.args, code, errOut, c.msg)
		}
	}
	if _, errOut, code := runCLI(t, "\n\n", "embed"); code != 1 || !strings.Contains(errOut, "no text to embed") {
		t.Errorf("empty stdin: exit %d, %q", code, errOut)
	}
}
