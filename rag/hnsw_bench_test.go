// Reference: rag/bench/hnswpair.py (gptgo's HNSW beside hnswlib on the same vectors), which these
// tests serve: the vectors of real text, and gptgo's worker.

package rag

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

func readF32(t *testing.T, path string, d int) [][]float32 {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	n := len(b) / 4 / d
	out := make([][]float32, n)
	flat := make([]float32, n*d)
	for i := range flat {
		flat[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	for i := range out {
		out[i] = flat[i*d : (i+1)*d]
	}
	return out
}

// TestWriteTextVectors writes hashed text embeddings (HashEmbedder, dim
// 384) of sentences of ../shared's English texts into
// $GPTGO_HNSW_WRITE_DIR, for rag/bench/hnswpair.py (queries: every 50th
// sentence, left out of the base). It runs only when that variable is set.
// With $GPTGO_HNSW_EMBED_MODEL naming a bert GGUF of width 384, the
// sentences are embedded by that model instead (mean pooling as the file
// says, normalised; texts cut to its context), as the knowledge base
// would embed them.
func TestWriteTextVectors(t *testing.T) {
	dir := os.Getenv("GPTGO_HNSW_WRITE_DIR")
	if dir == "" {
		t.Skip("set GPTGO_HNSW_WRITE_DIR to write text vectors for rag/bench/hnswpair.py")
	}
	n, _ := strconv.Atoi(os.Getenv("GPTGO_HNSW_N"))
	if n <= 0 {
		n = 100000
	}
	root := testkit.SharedDir(t)
	var lines []string
	add := func(text string) {
		// sentences of the text, so that long wiki lines give many
		for _, s := range strings.Split(text, ". ") {
			if len(strings.Fields(s)) >= 4 {
				lines = append(lines, s)
			}
		}
	}
	// English prose first; the string values of the English SFT and
	// preference sets (instructions, answers, web text) bring it past
	// 100,000 sentences.
	for _, f := range []string{"data/1-pretrain-en/war-and-peace.txt", "data/1-pretrain-en/tinyshakespeare.txt",
		"data/1-pretrain-en/wiki_demo.txt", "data/1-pretrain-en/cs336_tinystories_sample.txt", "data/6-tokenizer-tests/cs336_corpus.en",
		"data/1-pretrain-en/c4_demo.jsonl", "data/3-sft/lima.json", "data/3-sft/alpaca_en_demo.json", "data/4-preference/dpo_en_demo.json"} {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".jsonl") {
			for _, l := range strings.Split(string(b), "\n") {
				add(l)
			}
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		for {
			var v any
			if err := dec.Decode(&v); err != nil {
				break
			}
			walkStrings(v, func(s string) {
				for _, l := range strings.Split(s, "\n") {
					add(l)
				}
			})
		}
	}
	var base, query []string
	for i, l := range lines {
		if i%50 == 49 && len(query) < 1000 {
			query = append(query, l)
		} else if len(base) < n {
			base = append(base, l)
		}
	}
	var e Embedder = HashEmbedder{D: 384}
	if path := os.Getenv("GPTGO_HNSW_EMBED_MODEL"); path != "" {
		me, closeModel := openBenchEncoder(t, path)
		defer closeModel()
		e = me
	}
	for name, texts := range map[string][]string{"base.f32": base, "query.f32": query} {
		var vs [][]float32
		t0 := time.Now()
		for i := 0; i < len(texts); i += 512 {
			v, err := e.Embed(context.Background(), texts[i:min(i+512, len(texts))])
			if err != nil {
				t.Fatal(err)
			}
			vs = append(vs, v...)
			if i%(20*512) == 0 {
				t.Logf("%s: %d of %d embedded (%.0fs)", name, len(vs), len(texts), time.Since(t0).Seconds())
			}
		}
		b := make([]byte, 0, 4*384*len(vs))
		for _, v := range vs {
			for _, x := range v {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
			}
		}
		os.MkdirAll(dir, 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("%d base and %d query vectors of dim 384 from %d sentences (%s)", len(base), len(query), len(lines), e.Name())
}

// openBenchEncoder opens a bert GGUF of width 384 as an Embedder.
func openBenchEncoder(t *testing.T, path string) (Embedder, func()) {
	enc, err := model.OpenEncoder(path)
	if err != nil {
		t.Fatal(err)
	}
	if enc.Embd != 384 {
		t.Fatalf("%s: width %d, the benchmark's vectors are 384 wide", path, enc.Embd)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	st, err := enc.NewState(model.Options{Batch: 2048})
	if err != nil {
		t.Fatal(err)
	}
	return NewEncoderEmbedder(filepath.Base(path), st, tok), func() { st.Close(); enc.Close() }
}

// rssMB is the process's resident set in MB (Linux; 0 elsewhere).
func rssMB() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1024
		}
	}
	return 0
}

// TestHNSWPair is gptgo's side of rag/bench/hnswpair.py, which runs it
// as a worker (GPTGO_HNSW_PAIR=DIR): it builds the graph over DIR's
// vectors and answers "PAIR {json}" with the build's figures, then, for
// each line "ef1,ef2,…" on stdin, runs every query at each ef
// (single-threaded, k = 10) and answers their queries/s and recall@10
// against DIR/exact.i32; "quit" ends it. The script alternates these
// rounds with hnswlib's, so both sides see the same machine.
func TestHNSWPair(t *testing.T) {
	dir := os.Getenv("GPTGO_HNSW_PAIR")
	if dir == "" {
		t.Skip("run by rag/bench/hnswpair.py (GPTGO_HNSW_PAIR=DIR)")
	}
	m, _ := strconv.Atoi(os.Getenv("GPTGO_HNSW_M"))
	efc, _ := strconv.Atoi(os.Getenv("GPTGO_HNSW_EFC"))
	d := 384
	base := readF32(t, filepath.Join(dir, "base.f32"), d)
	qs := readF32(t, filepath.Join(dir, "query.f32"), d)
	if nq, _ := strconv.Atoi(os.Getenv("GPTGO_HNSW_QUERIES")); nq > 0 && nq < len(qs) {
		qs = qs[:nq] // the first nq, as the script's --queries
	}
	eb, err := os.ReadFile(filepath.Join(dir, "exact.i32"))
	if err != nil || len(eb) < 40*len(qs) {
		t.Fatalf("exact.i32: %v (%d bytes for %d queries)", err, len(eb), len(qs))
	}
	say := func(v any) {
		b, _ := json.Marshal(v)
		fmt.Fprintf(os.Stdout, "PAIR %s\n", b)
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	r0 := rssMB()
	g := NewHNSW(HNSWConfig{M: m, EfConstruction: efc, Seed: 1})
	t0, c0 := time.Now(), cpuTime()
	for _, v := range base {
		g.Add(v)
	}
	wall, cpu, rss := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds(), rssMB()-r0
	runtime.GC()
	runtime.ReadMemStats(&m1)
	runtime.KeepAlive(base) // the input rows, live before, must not be freed in between
	// heap_live_mb is what the graph holds (rows, links) without the
	// collector's slack, which the resident set includes
	say(map[string]float64{"wall_s": wall, "cpu_s": cpu, "rss_growth_mb": rss, "heap_live_mb": float64(int64(m1.HeapAlloc)-int64(m0.HeapAlloc)) / (1 << 20)})
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "quit" {
			return
		}
		out := map[string]map[string]float64{}
		for _, f := range strings.Split(sc.Text(), ",") {
			ef, err := strconv.Atoi(f)
			if err != nil {
				t.Fatalf("bad ef %q", f)
			}
			g.cfg.EfSearch = ef
			got := make([][]hit, len(qs))
			t0, c0 := time.Now(), cpuTime()
			for i, q := range qs {
				got[i] = g.Search(q, 10, nil)
			}
			el, cpu := time.Since(t0).Seconds(), (cpuTime() - c0).Seconds()
			found := 0
			for i, hs := range got {
				for _, h := range hs {
					for j := range 10 {
						if int32(binary.LittleEndian.Uint32(eb[40*i+4*j:])) == h.slot {
							found++
						}
					}
				}
			}
			out[f] = map[string]float64{"qps": float64(len(qs)) / el, "qps_cpu": float64(len(qs)) / cpu, "recall10": float64(found) / float64(10*len(qs))}
		}
		say(map[string]any{"ef": out})
	}
}

// walkStrings calls f with every string inside a decoded JSON value.
func walkStrings(v any, f func(string)) {
	switch v := v.(type) {
	case string:
		f(v)
	case []any:
		for _, x := range v {
			walkStrings(x, f)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			walkStrings(v[k], f)
		}
	}
}
