// Reference: issue #24 (aggregate decode throughput of the batch loop, no HTTP).

package server

import (
	"context"
	"fmt"
	"testing"

	"github.com/gptgo/gptgo/generate"
)

// BenchmarkBatchLoop submits n requests of a 32-token prompt and 32
// generated tokens each to a batcher over the default model and waits for
// all: the loop's throughput without HTTP.
func BenchmarkBatchLoop(b *testing.B) {
	m, tok := defaultModel(b)
	for _, n := range []int{1, 4, 16} {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			bt, err := newBatcher(m, generate.FromTokenizer(tok), 256, 4, 0, batchOptions{})
			if err != nil {
				b.Fatal(err)
			}
			defer bt.close()
			prompt := make([]int32, 32)
			for i := range prompt {
				prompt[i] = int32(100 + i*37%500)
			}
			for range b.N {
				var ss []*bseq
				for range n {
					s, err := bt.submit(context.Background(), &generate.Request{Options: generate.Options{MaxTokens: 32, IgnoreEOG: true}}, prompt)
					if err != nil {
						b.Fatal(err)
					}
					ss = append(ss, s)
				}
				for _, s := range ss {
					for range s.events.all() {
					}
				}
			}
			b.ReportMetric(float64(32*n*b.N)/b.Elapsed().Seconds(), "tok/s")
		})
	}
}
