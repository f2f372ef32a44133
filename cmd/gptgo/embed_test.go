// Reference: llama.cpp examples/embedding (one vector per prompt), checked against model.State.Embed.

package main

import (
	"context"
	"encoding/json"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

// TestEmbedCommand embeds two texts with the default model and checks the
// JSON and plain outputs against model.State.Embed's vectors, bit for bit
// (threading does not change results), then stdin lines, --pooling and
// --normalize=false.
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

	out, errOut, code := runCLI(t, "", "embed", texts[0], texts[1], "--json", "--threads", "2")
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
	out, errOut, code = runCLI(t, texts[0]+"\n\n"+texts[1]+"\n", "embed", "--pooling", "last")
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

	out, _, code = runCLI(t, "", "embed", texts[0], "--json", "--normalize=false")
	var r embedRecord
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || !same(r.Embedding, want(texts[0], model.PoolMean, false)) {
		t.Errorf("--normalize=false: exit %d, not the unnormalised mean", code)
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
