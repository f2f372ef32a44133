// Reference: Go fuzzing (go.dev/doc/security/fuzz); the formats of read.go,
// warc.go (ISO 28500 WARC/1.0, Common Crawl WET), html.go and shard.go (GPTGOTOK).

package data

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gptgo/gptgo/internal/testkit"
)

// sharedSeed returns the first maxLines lines of a file under ../shared,
// or nil when ../shared (or the file) is absent: the fuzzers run without it.
// Whole corpora are too big to be good seeds; a head keeps their shape.
func sharedSeed(maxLines int, elem ...string) []byte {
	p := filepath.Join(append([]string{testkit.ModuleRoot(), "..", "shared"}, elem...)...)
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out bytes.Buffer
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<16), 1<<20)
	for n := 0; n < maxLines && sc.Scan(); n++ {
		out.Write(sc.Bytes())
		out.WriteByte('\n')
	}
	return out.Bytes()
}

// sharedGzipSeed returns the first maxBytes of the decompressed file.
func sharedGzipSeed(maxBytes int, elem ...string) []byte {
	p := filepath.Join(append([]string{testkit.ModuleRoot(), "..", "shared"}, elem...)...)
	f, err := os.Open(p)
	if err != nil {
		return nil
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		return nil
	}
	b := make([]byte, maxBytes)
	n, _ := io.ReadFull(zr, b)
	return b[:n]
}

func gzipped(b []byte) []byte {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

// readFormats are the names Read is given: the extension picks the reader.
var readFormats = []string{"a.txt", "a.jsonl", "a.json", "a.warc", "a.wet", "a.html", "a.csv", "a.tsv"}

// FuzzRead feeds every reader of the corpus pipeline (text, JSON, JSONL,
// CSV, WARC/WET, HTML; gzip-wrapped or not, chosen by the first byte).
// Beyond not panicking: each emitted document is non-nil, the allocation
// stays within a bound of the input size, and no goroutine is left behind.
// UTF-8 input gives UTF-8 documents. (Invalid bytes in the input pass
// through the text and HTML readers; the JSONL writer replaces them.)
func FuzzRead(f *testing.F) {
	f.Add(byte(0), []byte("one\n\ntwo\n"))
	f.Add(byte(1), []byte(`{"text":"a","id":"x"}`+"\n"+`{"text":["b","c"],"url":"u"}`+"\n"))
	f.Add(byte(2), []byte(`[{"text":"a"},{"text":"b"}]`))
	f.Add(byte(3), []byte("WARC/1.0\r\nWARC-Type: conversion\r\nWARC-Record-ID: <urn:x>\r\nContent-Length: 5\r\n\r\nhello\r\n\r\n"))
	f.Add(byte(5), []byte("<html><body><p>Hi <b>there</b></p><ul><li>x</li></ul></body></html>"))
	f.Add(byte(6), []byte("id,text\n1,\"a \"\"b\"\"\"\n"))
	f.Add(byte(8+1), gzipped([]byte(`{"text":"zipped"}`+"\n")))
	for _, s := range []struct {
		fmt  byte
		data []byte
	}{
		{4, sharedSeed(60, "data", "9-cleaning", "cc_whirlwind.warc.wet")},
		{3, sharedSeed(60, "data", "9-cleaning", "cc_whirlwind.warc.wat")},
		{1, sharedSeed(3, "data", "9-cleaning", "dolma_tests", "multiple_files_cc_en_head-0174.jsonl")},
		{5, sharedSeed(80, "data", "9-cleaning", "cs336_a4_fixtures", "moby.html")},
		{6, sharedSeed(10, "data", "9-cleaning", "waimai_10k.csv")},
		{3, sharedGzipSeed(8<<10, "data", "9-cleaning", "cc_whirlwind.warc.gz")},
		{1, sharedGzipSeed(4<<10, "data", "9-cleaning", "dolma_tests", "provided_documents_000.json.gz")},
	} {
		if s.data != nil {
			f.Add(s.fmt, s.data)
		}
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	f.Fuzz(func(t *testing.T, format byte, data []byte) {
		name := readFormats[int(format&7)%len(readFormats)]
		in := data
		if format&8 != 0 {
			in = gzipped(data)
			name += ".gz"
		}
		o := DefaultReadOptions()
		o.SkipBadRecords = format&16 != 0
		o.TextUnit = []string{"file", "blank", "line", "file"}[format>>5&3]
		g := runtime.NumGoroutine()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		r, err := Decompress(bytes.NewReader(in))
		if err == nil {
			err = Read(r, name, o, func(d *Doc) error {
				if d == nil {
					t.Fatal("nil document")
				}
				if utf8.Valid(data) && !utf8.ValidString(d.Text) {
					t.Fatalf("%s: UTF-8 input gives a document that is not UTF-8: %q", name, d.Text)
				}
				return nil
			})
		}
		runtime.ReadMemStats(&after)
		// HTML parsing builds a node per tag (~200 bytes each, one per 3
		// input bytes at worst) and text copies: 256 bytes per input byte
		// covers it; 1 MiB covers the readers' fixed buffers.
		if got, bound := after.TotalAlloc-before.TotalAlloc, 256*uint64(len(data))+1<<20; got > bound {
			t.Fatalf("%s: reading %d bytes allocated %d bytes (bound %d)", name, len(data), got, bound)
		}
		if n := runtime.NumGoroutine(); n > g {
			t.Fatalf("%s: %d goroutines left behind", name, n-g)
		}
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
	})
}

// FuzzHTMLToText checks that a UTF-8 page gives UTF-8 text and that no
// script survives into the text.
func FuzzHTMLToText(f *testing.F) {
	f.Add([]byte("<p>a</p><pre> x\n y</pre><script>no</script>"), true)
	f.Add([]byte("<table><tr><td>1<td>2</table><nav>menu</nav>"), false)
	if b := sharedSeed(120, "data", "9-cleaning", "cs336_a4_fixtures", "moby.html"); b != nil {
		f.Add(b, true)
	}
	f.Fuzz(func(t *testing.T, page []byte, boiler bool) {
		text, err := HTMLToText(page, HTMLOptions{DropBoilerplate: boiler})
		if err != nil {
			return
		}
		// Bytes that are not UTF-8 pass through (as the text reader's do);
		// a UTF-8 page must give UTF-8 text.
		if utf8.Valid(page) && !utf8.ValidString(text) {
			t.Fatalf("UTF-8 page gives text that is not UTF-8: %q", text)
		}
		if strings.Contains(text, "<script") && !bytes.Contains(bytes.ToLower(page), []byte("script")) {
			t.Fatalf("text holds markup not in the page: %q", text)
		}
	})
}

// FuzzShard reads arbitrary bytes as a GPTGOTOK shard. An accepted shard
// has exactly the tokens its header declares, each below the vocabulary
// when the header bounds it, and writing them back with CreateShard gives
// a shard that reads back equal.
func FuzzShard(f *testing.F) {
	dir := f.TempDir()
	for i, toks := range [][]int32{{1, 2, 3}, {}, {70000, 5}} {
		p := filepath.Join(dir, "seed.bin")
		w, err := CreateShard(p, 1<<17*(i/2)+300, 0)
		if err != nil {
			f.Fatal(err)
		}
		if err := w.WriteDoc(toks); err != nil && i != 2 {
			f.Fatal(err)
		}
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		p := filepath.Join(dir, "in.bin")
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		h, toks, err := ReadShard(p)
		if err != nil {
			return
		}
		if uint64(len(toks)) != h.Tokens {
			t.Fatalf("%d tokens, header says %d", len(toks), h.Tokens)
		}
		if len(data) >= ShardHeaderSize && binary.LittleEndian.Uint64(data[24:]) != h.Tokens {
			t.Fatal("header tokens misread")
		}
		// Round trip through the writer when the tokens fit its vocabulary.
		vocab := int(h.VocabSize)
		if vocab <= 0 || TokenSizeFor(vocab) != h.TokenSize {
			return
		}
		ids := make([]int32, len(toks))
		for i, x := range toks {
			if uint64(x) >= uint64(vocab) || x > 1<<31-1 {
				return
			}
			ids[i] = int32(x)
		}
		q := filepath.Join(dir, "out.bin")
		w, err := CreateShard(q, vocab, -1) // no EOS: the tokens come back as they are
		if err != nil {
			return
		}
		if err := w.WriteDoc(ids); err != nil {
			w.Abort()
			return
		}
		if err := w.Close(); err != nil {
			t.Fatalf("rewrite: %v", err)
		}
		_, again, err := ReadShard(q)
		if err != nil {
			t.Fatalf("rewritten shard does not read: %v", err)
		}
		if len(again) != len(toks) {
			t.Fatalf("rewrite has %d tokens, want %d", len(again), len(toks))
		}
		for i := range toks {
			if again[i] != toks[i] {
				t.Fatalf("token %d: %d after rewrite, want %d", i, again[i], toks[i])
			}
		}
	})
}

// FuzzConfig parses `gptgo data` configs. An accepted config validates,
// and its JSON parses back to a config with the same JSON.
func FuzzConfig(f *testing.F) {
	f.Add([]byte(DefaultConfig().JSON()))
	f.Add([]byte(`{"inputs":["a.txt"],"output":"out"}`))
	f.Add([]byte(`{"dedup":{"minhash":{"threshold":2}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := ParseConfig(bytes.NewReader(data), "fuzz.json")
		if err != nil {
			return
		}
		js := c.JSON()
		c2, err := ParseConfig(strings.NewReader(js), "again.json")
		if err != nil {
			t.Fatalf("accepted config's JSON does not parse: %v\n%s", err, js)
		}
		if c2.JSON() != js {
			t.Fatalf("JSON round trip differs:\n%s\n%s", js, c2.JSON())
		}
	})
}
