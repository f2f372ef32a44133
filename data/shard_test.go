package data

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShardRoundTrip(t *testing.T) {
	for _, c := range []struct {
		vocab, size int
		eos         int32
		doc         []int32
	}{
		{256, 2, 0, []int32{1, 2, 255}},
		{65536, 2, 65535, []int32{0, 65534}},
		{65537, 4, 65536, []int32{70000 - 4464, 65536}},
		{151936, 4, -1, []int32{151935, 3}},
	} {
		p := filepath.Join(t.TempDir(), "s.tok")
		w, err := CreateShard(p, c.vocab, c.eos)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Fatal("shard visible before Close")
		}
		for range 2 {
			if err := w.WriteDoc(c.doc); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		h, toks, err := ReadShard(p)
		if err != nil {
			t.Fatal(err)
		}
		var want []uint32
		for range 2 {
			for _, x := range c.doc {
				want = append(want, uint32(x))
			}
			if c.eos >= 0 {
				want = append(want, uint32(c.eos))
			}
		}
		if h.TokenSize != c.size || h.Docs != 2 || h.Tokens != uint64(len(want)) || int(h.VocabSize) != c.vocab {
			t.Fatalf("vocab %d: header %+v", c.vocab, h)
		}
		if c.eos < 0 && h.EOS != NoEOS {
			t.Fatalf("no-EOS shard has EOS %d", h.EOS)
		}
		for i := range want {
			if toks[i] != want[i] {
				t.Fatalf("vocab %d: token %d = %d, want %d", c.vocab, i, toks[i], want[i])
			}
		}
		fi, _ := os.Stat(p)
		if fi.Size() != int64(ShardHeaderSize+len(want)*c.size) {
			t.Fatalf("file size %d", fi.Size())
		}
	}
}

func TestShardErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := CreateShard(filepath.Join(dir, "a.tok"), 100, 100); err == nil {
		t.Fatal("EOS outside vocabulary accepted")
	}
	w, _ := CreateShard(filepath.Join(dir, "b.tok"), 100, 0)
	if err := w.WriteDoc([]int32{5, 100}); err == nil || !strings.Contains(err.Error(), "outside vocabulary") {
		t.Fatalf("token 100 in vocab 100: %v", err)
	}
	w.Abort()
	if m, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(m) != 0 {
		t.Fatalf("Abort left %v", m)
	}
	// A good shard, then corruptions of it.
	p := filepath.Join(dir, "c.tok")
	w, _ = CreateShard(p, 100, 0)
	w.WriteDoc([]int32{1, 2, 3})
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(p)
	corrupt := func(name string, f func(b []byte) []byte, want string) {
		b := f(append([]byte{}, good...))
		q := filepath.Join(dir, name)
		os.WriteFile(q, b, 0o644)
		if _, _, err := ReadShard(q); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), q) {
			t.Errorf("%s: error %v, want %q with the path", name, err, want)
		}
	}
	corrupt("magic", func(b []byte) []byte { b[0] = 'X'; return b }, "bad magic")
	corrupt("version", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 9); return b }, "version 9")
	corrupt("size", func(b []byte) []byte { binary.LittleEndian.PutUint32(b[12:], 3); return b }, "token size 3")
	corrupt("truncated", func(b []byte) []byte { return b[:len(b)-1] }, "need")
	corrupt("count", func(b []byte) []byte { binary.LittleEndian.PutUint64(b[24:], 1<<62); return b }, "need")
	corrupt("token", func(b []byte) []byte { binary.LittleEndian.PutUint16(b[64:], 500); return b }, "outside vocabulary")
	corrupt("short", func(b []byte) []byte { return b[:10] }, "header")
}

// byteEncoder is the trivial tokenizer: one id per byte, EOS = 256.
type byteEncoder struct{}

func (byteEncoder) Encode(s string) []int32 {
	out := make([]int32, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = int32(s[i])
	}
	return out
}
func (byteEncoder) EOS() int32     { return 256 }
func (byteEncoder) VocabSize() int { return 257 }

func TestTokenizeStageShards(t *testing.T) {
	dir := t.TempDir()
	var docs []*Doc
	var want []uint32
	for i := range 50 {
		text := strings.Repeat(string(rune('a'+i%26)), i+1)
		docs = append(docs, &Doc{ID: text, Text: text})
		for _, b := range []byte(text) {
			want = append(want, uint32(b))
		}
		want = append(want, 256)
	}
	o := TokenizeOptions{Dir: dir, Prefix: "t", MaxShardTokens: 300}
	_, rep := runStages(t, docs, func() ([]Stage, error) {
		s, err := TokenizeStage(byteEncoder{}, o)
		return []Stage{s}, err
	})
	shards, _ := filepath.Glob(filepath.Join(dir, "t-*.tok"))
	if len(shards) < 4 || rep.Stages[0].Counts["shards"] != int64(len(shards)) {
		t.Fatalf("%d shards, report %v", len(shards), rep.Stages[0].Counts)
	}
	var got []uint32
	var docsSeen uint64
	for _, s := range shards {
		h, toks, err := ReadShard(s)
		if err != nil {
			t.Fatal(err)
		}
		if h.TokenSize != 2 || h.EOS != 256 || h.VocabSize != 257 { // 257 ids fit uint16
			t.Fatalf("%s: header %+v", s, h)
		}
		got = append(got, toks...)
		docsSeen += h.Docs
	}
	if docsSeen != 50 || len(got) != len(want) {
		t.Fatalf("%d docs, %d tokens; want 50, %d", docsSeen, len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("token %d: %d, want %d (documents out of order?)", i, got[i], want[i])
		}
	}
	if _, err := TokenizeStage(nil, o); err == nil {
		t.Fatal("nil encoder accepted")
	}
}
