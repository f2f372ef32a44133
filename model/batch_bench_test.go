// Reference: issue #24 (one forward pass over many sequences reads the weights once).

package model

import (
	"flag"
	"fmt"
	"testing"

	"github.com/gptgo/gptgo/models"
)

var batchModel = flag.String("batch.model", "", "GGUF file for BenchmarkDecodeStep (default: the embedded model)")

// BenchmarkDecodeStep is one decode step of n sequences at position 64 of
// the embedded default model: a State per sequence in turn (contiguous
// cache), or one BatchRunner step over all of them (paged cache). ns/op is
// per step; tok/s counts every sequence's token.
func BenchmarkDecodeStep(b *testing.B) {
	var m *Model
	if *batchModel != "" {
		var err error
		if m, err = Open(*batchModel); err != nil {
			b.Fatal(err)
		}
	} else {
		f, err := models.OpenDefault()
		if err != nil {
			b.Fatal(err)
		}
		if m, err = OpenFile(f); err != nil {
			b.Fatal(err)
		}
	}
	prompt := make([]int32, 64)
	for i := range prompt {
		prompt[i] = int32(1 + i*7%(m.Vocab-1))
	}
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("states/%d", n), func(b *testing.B) {
			var ss []*State
			for range n {
				s, err := m.NewState(Options{Ctx: 256, Threads: 2})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				if _, err := s.Forward(prompt); err != nil {
					b.Fatal(err)
				}
				ss = append(ss, s)
			}
			b.ResetTimer()
			for range b.N {
				for _, s := range ss {
					if _, err := s.Forward([]int32{5}); err != nil {
						b.Fatal(err)
					}
					s.Truncate(64)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
		b.Run(fmt.Sprintf("batch/%d", n), func(b *testing.B) {
			c, err := m.NewPagedCache(PagedOptions{Blocks: n * 6})
			if err != nil {
				b.Fatal(err)
			}
			r, err := m.NewBatchRunner(Options{Ctx: 256, Batch: 512, Threads: 2})
			if err != nil {
				b.Fatal(err)
			}
			defer r.Close()
			var qs []*PagedSeq
			var toks, one [][]int32
			for range n {
				qs, toks, one = append(qs, c.NewSeq()), append(toks, prompt), append(one, []int32{5})
			}
			nop := func(int, []float32) error { return nil }
			for i := range qs { // the prompts one by one: within the step's budget
				if err := r.Forward(qs[i:i+1], toks[i:i+1], nop); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for range b.N {
				if err := r.Forward(qs, one, nop); err != nil {
					b.Fatal(err)
				}
				for _, q := range qs {
					q.Truncate(64)
				}
			}
			b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
