package rag

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

func fixedNow() time.Time { return time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC) }

func newTestStore(t testing.TB, dir string, emb Embedder) (*DirStore, *Ingester) {
	t.Helper()
	s, err := OpenDir(dir, Options{Embedder: emb, HNSW: HNSWConfig{Seed: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, &Ingester{Store: s, Embedder: emb, Splitter: Splitter{Max: 40}, Now: fixedNow}
}

func TestStoreIngestSearchListRemove(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, in := newTestStore(t, dir, HashEmbedder{D: 64})
	files := map[string]string{
		"a.md":  "# Cats\n\nCats purr and sleep most of the day.\n\n## Food\n\nCats eat fish.\n",
		"b.txt": "Dogs bark at the mailman. Dogs like long walks in the park.",
		"c.txt": "李白是唐代著名的浪漫主义诗人，被后人誉为诗仙。",
	}
	for name, text := range files {
		if r := in.IngestBytes(ctx, name, []byte(text)); r.Status != Added {
			t.Fatalf("%s: %v %v", name, r.Status, r.Err)
		}
	}
	if r := in.IngestBytes(ctx, "b.txt", []byte(files["b.txt"])); r.Status != Unchanged {
		t.Fatalf("re-ingesting an unchanged file: %v", r.Status)
	}
	for _, mode := range []Mode{BM25, Dense, Hybrid} {
		res, err := s.Search(ctx, Query{Text: "what do cats eat", K: 2, Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		if len(res) == 0 || res[0].Chunk.Source != "a.md" {
			t.Fatalf("%s: %+v", mode, res)
		}
	}
	res, _ := s.Search(ctx, Query{Text: "cats eat fish", K: 1, Mode: BM25})
	if got := res[0].Chunk.Heading; got != "Cats > Food" {
		t.Errorf("heading path %q, want %q", got, "Cats > Food")
	}
	res, _ = s.Search(ctx, Query{Text: "诗仙是谁", K: 1, Mode: BM25})
	if len(res) != 1 || res[0].Chunk.Source != "c.txt" {
		t.Errorf("CJK bigram search: %+v", res)
	}
	res, _ = s.Search(ctx, Query{Text: "cats dogs", K: 5, Mode: BM25, Filter: Filter{Source: "*.txt"}})
	for _, r := range res {
		if !strings.HasSuffix(r.Chunk.Source, ".txt") {
			t.Errorf("filter *.txt returned %s", r.Chunk.Source)
		}
	}
	// a changed file replaces its chunks
	if r := in.IngestBytes(ctx, "b.txt", []byte("Parrots talk.")); r.Status != Updated {
		t.Fatalf("changed file: %v", r.Status)
	}
	if res, _ := s.Search(ctx, Query{Text: "dogs bark", K: 5, Mode: BM25}); len(res) != 0 {
		t.Errorf("old chunks still found: %+v", res[0].Chunk)
	}
	if ok, err := s.Remove(ctx, DocID("a.md")); !ok || err != nil {
		t.Fatal(ok, err)
	}
	want := s.List()
	s.Close()
	s2, _ := newTestStore(t, dir, HashEmbedder{D: 64})
	if got := s2.List(); !reflect.DeepEqual(got, want) {
		t.Fatalf("after reopen: %d documents, want %d", len(got), len(want))
	}
	if err := Verify(dir); err != nil {
		t.Fatal(err)
	}
	// a different embedder is refused with the flag to change
	s2.Close()
	if _, err := OpenDir(dir, Options{Embedder: HashEmbedder{D: 32}}); err == nil || !strings.Contains(err.Error(), "--embed-model") {
		t.Fatalf("other embedder: %v", err)
	}
}

func TestStoreTornTailAndSnapshot(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, in := newTestStore(t, dir, nil)
	for i := range 5 {
		in.IngestBytes(ctx, fmt.Sprintf("d%d.txt", i), []byte(fmt.Sprintf("document number %d about topic%d", i, i)))
	}
	if err := s.Snapshot(); err != nil {
		t.Fatal(err)
	}
	in.IngestBytes(ctx, "d5.txt", []byte("document five"))
	s.Close()
	wal := filepath.Join(dir, walFile)
	b, _ := os.ReadFile(wal)
	// a torn last frame: cut in the middle, and garbage appended
	for _, bad := range [][]byte{b[:len(b)-3], append(append([]byte{}, b...), 7, 0, 0, 0, 1, 2)} {
		os.WriteFile(wal, bad, 0o644)
		if Verify(dir) == nil && len(bad) != len(b) {
			t.Fatal("Verify accepts a torn tail")
		}
		s2, err := OpenDir(dir, Options{})
		if err != nil {
			t.Fatal(err)
		}
		n := len(s2.List())
		s2.Close()
		if err := Verify(dir); err != nil {
			t.Fatalf("after open: %v", err)
		}
		if n != 5 && n != 6 {
			t.Fatalf("%d documents", n)
		}
	}
	// a damaged snapshot is an error, not silent loss
	snap := filepath.Join(dir, snapshotFile)
	sb, _ := os.ReadFile(snap)
	os.WriteFile(snap, sb[:len(sb)-4], 0o644)
	if _, err := OpenDir(dir, Options{}); err == nil || !strings.Contains(err.Error(), "end record") {
		t.Fatalf("damaged snapshot: %v", err)
	}
}

func FuzzReadFrames(f *testing.F) {
	var b strings.Builder
	appendFrame(&b, []byte(`{"op":"rm","id":"x"}`))
	f.Add([]byte(b.String()))
	f.Add([]byte{255, 255, 255, 255, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		good, err := readFrames(data, func(p []byte) error { _, err := decodeRecord(p); _ = err; return nil })
		if err != nil || good < 0 || good > len(data) {
			t.Fatalf("good %d of %d, %v", good, len(data), err)
		}
	})
}

func TestStoreLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := OpenDir(dir, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS == "windows" {
		t.Skip("the store is not locked on Windows")
	}
	if _, err := OpenDir(dir, Options{}); err == nil || !strings.Contains(err.Error(), "another process") {
		t.Fatalf("a second open: %v", err)
	}
	s.Close()
	s2, err := OpenDir(dir, Options{})
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	s2.Close()
}

func TestSearchHugeK(t *testing.T) {
	ctx := context.Background()
	s, in := newTestStore(t, t.TempDir(), HashEmbedder{D: 16})
	in.IngestBytes(ctx, "a.txt", []byte("alpha beta"))
	for _, m := range []Mode{BM25, Dense, Hybrid} {
		res, err := s.Search(ctx, Query{Text: "alpha", K: 1 << 40, Mode: m})
		if err != nil || len(res) != 1 {
			t.Fatalf("%s: %v %v", m, res, err)
		}
	}
}
