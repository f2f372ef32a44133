package rag

import (
	"context"
	"fmt"
	"sync"
	"testing"
)

// TestStoreConcurrent: searches run while documents are put and removed
// (run with -race).
func TestStoreConcurrent(t *testing.T) {
	ctx := context.Background()
	s, in := newTestStore(t, t.TempDir(), HashEmbedder{D: 32})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 20 {
				src := fmt.Sprintf("w%d-%d.txt", w, i%5)
				if r := in.IngestBytes(ctx, src, []byte(fmt.Sprintf("writer %d document %d about apples and pears %d", w, i%5, i))); r.Err != nil {
					t.Error(r.Err)
				}
				if i%7 == 6 {
					s.Remove(ctx, DocID(src))
				}
			}
		}()
	}
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 30 {
				for _, m := range []Mode{BM25, Dense, Hybrid} {
					res, err := s.Search(ctx, Query{Text: "apples document", K: 3, Mode: m})
					if err != nil {
						t.Error(err)
					}
					for _, r := range res {
						if r.Chunk == nil {
							t.Error("a removed chunk returned")
						}
					}
				}
			}
		}()
	}
	wg.Wait()
}
