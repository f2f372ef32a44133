package rag

import (
	"bufio"
	"context"
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/internal/testkit"
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

// TestHNSWVersusHNSWLib measures the graph on the vectors that
// rag/bench/hnswlib_bench.py wrote into $GPTGO_HNSW_BENCH_DIR (the same
// M = 16, efConstruction = 200, single-threaded), for docs/rag.md.
// It runs only when that variable is set.
func TestHNSWVersusHNSWLib(t *testing.T) {
	dir := os.Getenv("GPTGO_HNSW_BENCH_DIR")
	if dir == "" {
		t.Skip("set GPTGO_HNSW_BENCH_DIR to the output of rag/bench/hnswlib_bench.py")
	}
	d := 384
	base := readF32(t, filepath.Join(dir, "base.f32"), d)
	qs := readF32(t, filepath.Join(dir, "query.f32"), d)
	eb, _ := os.ReadFile(filepath.Join(dir, "exact.i32"))
	exact := make([][]int32, len(qs))
	for i := range exact {
		for j := range 10 {
			exact[i] = append(exact[i], int32(binary.LittleEndian.Uint32(eb[4*(10*i+j):])))
		}
	}
	var m0, m1 runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&m0)
	g := NewHNSW(HNSWConfig{M: 16, EfConstruction: 200, Seed: 1})
	t0, c0 := time.Now(), cpuTime()
	for _, v := range base {
		g.Add(v)
	}
	build, buildCPU := time.Since(t0), cpuTime()-c0
	runtime.GC()
	runtime.ReadMemStats(&m1)
	t.Logf("n %d dim %d: build %.1fs (CPU %.1fs), graph memory %.1f MB (vectors excluded)", len(base), d, build.Seconds(), buildCPU.Seconds(), float64(m1.HeapAlloc-m0.HeapAlloc)/1e6)
	for _, ef := range []int{16, 32, 64, 128, 256, 512, 1024} {
		g.cfg.EfSearch = ef
		found := 0
		t0, c0 := time.Now(), cpuTime()
		for i, q := range qs {
			got := map[int32]bool{}
			for _, h := range g.Search(q, 10, nil) {
				got[h.slot] = true
			}
			for _, e := range exact[i] {
				if got[e] {
					found++
				}
			}
		}
		el, cpu := time.Since(t0), cpuTime()-c0
		t.Logf("ef %3d: %.0f queries/s (%.0f per CPU second), recall@10 %.3f", ef, float64(len(qs))/el.Seconds(), float64(len(qs))/cpu.Seconds(), float64(found)/float64(10*len(qs)))
	}
	t0, c0 = time.Now(), cpuTime()
	for _, q := range qs[:100] {
		exactSearch(base, nil, q, 10, nil)
	}
	t.Logf("exact search: %.0f queries/s (%.0f per CPU second)", 100/time.Since(t0).Seconds(), 100/(cpuTime()-c0).Seconds())
}

// TestWriteTextVectors writes hashed text embeddings (HashEmbedder, dim
// 384) of lines of ../shared's English corpora into
// $GPTGO_HNSW_WRITE_DIR: the vectors of real text for the benchmark
// above (queries: every 50th line, left out of the base). It runs only
// when that variable is set.
func TestWriteTextVectors(t *testing.T) {
	dir := os.Getenv("GPTGO_HNSW_WRITE_DIR")
	if dir == "" {
		t.Skip("set GPTGO_HNSW_WRITE_DIR to write text vectors for rag/bench/hnswlib_bench.py")
	}
	n, _ := strconv.Atoi(os.Getenv("GPTGO_HNSW_N"))
	if n <= 0 {
		n = 100000
	}
	root := testkit.SharedDir(t)
	var lines []string
	for _, f := range []string{"data/1-pretrain-en/war-and-peace.txt", "data/1-pretrain-en/tinyshakespeare.txt", "data/1-pretrain-en/wiki_demo.txt"} {
		fh, err := os.Open(filepath.Join(root, f))
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 1<<20), 1<<24)
		for sc.Scan() {
			// sentences of the line, so that long wiki lines give many
			for _, s := range strings.Split(sc.Text(), ". ") {
				if len(strings.Fields(s)) >= 4 {
					lines = append(lines, s)
				}
			}
		}
		fh.Close()
	}
	var base, query []string
	for i, l := range lines {
		if i%50 == 49 && len(query) < 1000 {
			query = append(query, l)
		} else if len(base) < n {
			base = append(base, l)
		}
	}
	e := HashEmbedder{D: 384}
	for name, texts := range map[string][]string{"base.f32": base, "query.f32": query} {
		vs, _ := e.Embed(context.Background(), texts)
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
	t.Logf("%d base and %d query vectors of dim 384 from %d sentences", len(base), len(query), len(lines))
}
