// Reference: llm.c dev/test/test_dataloader.c (sequential windows, shard advance, resume).

package train

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/data"
)

// writeShard writes tokens first…first+n-1 (mod vocab) as one document
// without EOS, so every window's targets are its inputs plus one.
func writeShard(t *testing.T, dir, name string, vocab int, first, n int) string {
	t.Helper()
	p := filepath.Join(dir, name)
	toks := make([]int32, n)
	for i := range toks {
		toks[i] = int32((first + i) % vocab)
	}
	writeTokens(t, p, vocab, toks)
	return p
}

// writeTokens writes toks as one document without EOS.
func writeTokens(t *testing.T, p string, vocab int, toks []int32) {
	t.Helper()
	w, err := data.CreateShard(p, vocab, -1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.WriteDoc(toks); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoaderSequential(t *testing.T) {
	dir := t.TempDir()
	// Shard a: 0…12 (13 tokens: one 2×3 batch needs 7, so one batch and a
	// remainder of 6 that is skipped); shard b: 100…108.
	paths := []string{writeShard(t, dir, "a", 1000, 0, 13), writeShard(t, dir, "b", 1000, 100, 9)}
	l, err := NewLoader(paths, 2, 3, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int32, 6), make([]int32, 6)
	for i, want := range [][]int32{
		{0, 1, 2, 3, 4, 5},
		{6, 7, 8, 9, 10, 11}, // 6+7 = 13 tokens: still fits
		{100, 101, 102, 103, 104, 105},
		{0, 1, 2, 3, 4, 5}, // second epoch
	} {
		if err := l.Next(x, y); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, want) {
			t.Fatalf("batch %d inputs %v, want %v", i, x, want)
		}
		for j := range x {
			if y[j] != x[j]+1 {
				t.Fatalf("batch %d targets %v do not follow inputs %v", i, y, x)
			}
		}
	}
	if s, _ := l.State(); s.Epoch != 1 || s.Shard != 0 || s.Pos != 6 {
		t.Fatalf("state %+v, want epoch 1, shard 0, position 6", s)
	}
}

func TestLoaderRandomResumes(t *testing.T) {
	dir := t.TempDir()
	paths := []string{writeShard(t, dir, "a", 500, 0, 40), writeShard(t, dir, "b", 500, 200, 40)}
	const B, T = 2, 4
	l, err := NewLoader(paths, B, T, true, 42)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int32, B*T), make([]int32, B*T)
	for range 6 { // 40/8 = 5 batches per shard: the sixth comes from shard b
		if err := l.Next(x, y); err != nil {
			t.Fatal(err)
		}
	}
	if x[0] < 200 {
		t.Fatalf("sixth random batch %v still from the first shard", x)
	}
	st, err := l.State()
	if err != nil {
		t.Fatal(err)
	}
	var want [][]int32
	for range 3 {
		if err := l.Next(x, y); err != nil {
			t.Fatal(err)
		}
		want = append(want, slices.Clone(x))
		for b := range B { // each window is consecutive tokens
			for j := 1; j < T; j++ {
				if x[b*T+j] != x[b*T+j-1]+1 || y[b*T+j-1] != x[b*T+j] {
					t.Fatalf("window %v / %v is not consecutive", x, y)
				}
			}
		}
	}
	r, err := NewLoader(paths, B, T, true, 7) // another seed: Restore must override it
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Restore(st); err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if err := r.Next(x, y); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(x, want[i]) {
			t.Fatalf("resumed batch %d = %v, want %v", i, x, want[i])
		}
	}
}

func TestLoaderErrors(t *testing.T) {
	dir := t.TempDir()
	small := writeShard(t, dir, "small", 100, 0, 6)
	a := writeShard(t, dir, "a", 100, 0, 20)
	b := writeShard(t, dir, "b", 300, 0, 20)
	for _, c := range []struct {
		paths []string
		want  string
	}{
		{[]string{small}, "fewer than one batch"},
		{[]string{filepath.Join(dir, "missing")}, "missing"},
		{nil, "needs shards"},
	} {
		if _, err := NewLoader(c.paths, 2, 3, false, 0); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q", c.paths, err, c.want)
		}
	}
	l, err := NewLoader([]string{a, b}, 2, 3, false, 0)
	if err != nil {
		t.Fatal(err)
	}
	x, y := make([]int32, 6), make([]int32, 6)
	var last error
	for range 5 {
		if last = l.Next(x, y); last != nil {
			break
		}
	}
	if last == nil || !strings.Contains(last.Error(), "vocabulary 300") {
		t.Errorf("vocabulary mismatch: %v", last)
	}
	if err := l.Next(x[:5], y); err == nil {
		t.Error("short batch buffer accepted")
	}
	if err := l.Restore(LoaderState{Shard: 5}); err == nil {
		t.Error("restore to shard 5 of 2 accepted")
	}
}
