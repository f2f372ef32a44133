package data

import (
	"context"
	"os"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// benchCorpora are the throughput inputs: a novel in blank-line paragraphs,
// 300 C4 web pages, 30 Wikipedia articles (one per line).
var benchCorpora = []struct {
	name string
	path []string
	o    ReadOptions
}{
	{"war-and-peace", []string{"data", "1-pretrain-en", "war-and-peace.txt"}, ReadOptions{TextUnit: "blank"}},
	{"c4", []string{"data", "1-pretrain-en", "c4_demo.jsonl"}, ReadOptions{}},
	{"wiki", []string{"data", "1-pretrain-en", "wiki_demo.txt"}, ReadOptions{TextUnit: "line"}},
}

// benchPipeline runs stages on one worker over a corpus, b.N times; SetBytes
// makes `go test -bench` print MB/s per core.
func benchPipeline(b *testing.B, stages func() ([]Stage, error)) {
	for _, c := range benchCorpora {
		b.Run(c.name, func(b *testing.B) {
			path := testkit.Shared(b, c.path...)
			st, err := os.Stat(path)
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(st.Size())
			var kept int64
			cpu0 := processCPU()
			for b.Loop() {
				p := &Pipeline{Build: stages, Workers: 1}
				rep, err := p.Run(context.Background(), FileSource([]string{path}, c.o), nil)
				if err != nil {
					b.Fatal(err)
				}
				kept = rep.DocsOut
			}
			b.ReportMetric(float64(kept), "docs_kept")
			if cpu := processCPU() - cpu0; cpu > 0 {
				b.ReportMetric(float64(st.Size())*float64(b.N)/cpu/1e6, "MB/cpu-s")
			}
		})
	}
}

// BenchmarkReadFilterExact: reader + Gopher/C4 quality rules + exact dedup
// (the language stage has its own benchmark: it dominates when on).
func BenchmarkReadFilterExact(b *testing.B) {
	benchPipeline(b, func() ([]Stage, error) {
		ex, err := ExactDedupStage(DedupOptions{Capacity: 1_000_000, FP: 1e-6})
		return []Stage{QualityStage(DefaultQualityOptions()), ex}, err
	})
}

func BenchmarkLanguage(b *testing.B) {
	benchPipeline(b, func() ([]Stage, error) { return []Stage{LangStage(DefaultLangOptions())}, nil })
}

func BenchmarkMinHash(b *testing.B) {
	benchPipeline(b, func() ([]Stage, error) {
		s, err := MinHashStage(DefaultMinHashOptions())
		return []Stage{s}, err
	})
}

func BenchmarkPII(b *testing.B) {
	benchPipeline(b, func() ([]Stage, error) { return []Stage{PIIStage(DefaultPIIOptions())}, nil })
}

func BenchmarkLineDedup(b *testing.B) {
	benchPipeline(b, func() ([]Stage, error) {
		ld, err := NewLineDeduper(LineDedupOptions{Unit: "line", Mode: "first", SkipEmpty: true, Capacity: 1_000_000, FP: 1e-6})
		if err != nil {
			return nil, err
		}
		return []Stage{ld.Stage()}, nil
	})
}

// BenchmarkReadOnly is the reader alone, the floor under every stage.
func BenchmarkReadOnly(b *testing.B) {
	benchPipeline(b, func() ([]Stage, error) { return nil, nil })
}
