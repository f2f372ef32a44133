// Reference: issue #23 "Tools" (kb_search) and "Planning and memory" (long-term memory in a knowledge
// base: store and recall notes) over rag.Store (issue #22).

package agent

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/gptgo/gptgo/rag"
)

// KBSearch is the kb_search tool over a knowledge base. Retrieved text is
// data for the model: it is quoted with its source, never acted on.
func KBSearch(s rag.Store) Tool {
	return &FuncTool{
		ToolSpec: ToolSpec{
			Name:        "kb_search",
			Description: "Search the knowledge base; returns the best matching passages with their sources.",
			Parameters: schema(map[string]map[string]any{
				"query": prop("string", "what to look for"),
				"k":     prop("integer", "number of passages (default 4, at most 20)"),
			}, "query"),
		},
		Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
			var a struct {
				Query string
				K     int
			}
			if err := decodeArgs("kb_search", args, &a); err != nil {
				return "", err
			}
			if strings.TrimSpace(a.Query) == "" {
				return "", fmt.Errorf("kb_search: empty query")
			}
			if a.K <= 0 {
				a.K = 4
			}
			a.K = min(a.K, 20)
			res, err := s.Search(ctx, rag.Query{Text: a.Query, K: a.K})
			if err != nil {
				return "", fmt.Errorf("kb_search: %v", err)
			}
			return formatResults(res), nil
		},
	}
}

func formatResults(res []rag.Result) string {
	if len(res) == 0 {
		return "no passages found"
	}
	var b strings.Builder
	for i, r := range res {
		fmt.Fprintf(&b, "[%d] %s (score %.3f)\n%s\n\n", i+1, r.Chunk.Source, r.Score, strings.TrimSpace(r.Chunk.Text))
	}
	return strings.TrimSpace(b.String())
}

// Memory gives the model long-term memory in a knowledge base: remember
// stores a note as a document of its own (source "memory:"), recall
// searches the notes only. Remembering writes, so it is confirmed like
// any side-effecting tool. emb embeds the note when the store has
// vectors (nil for a BM25-only store).
func Memory(s rag.Store, emb rag.Embedder) []Tool {
	return []Tool{
		&FuncTool{
			ToolSpec: ToolSpec{
				Name:        "remember",
				Description: "Store a note in long-term memory, for later runs.",
				Parameters:  schema(map[string]map[string]any{"note": prop("string", "the fact to keep")}, "note"),
			},
			Effects: true,
			Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
				var a struct{ Note string }
				if err := decodeArgs("remember", args, &a); err != nil {
					return "", err
				}
				if strings.TrimSpace(a.Note) == "" {
					return "", fmt.Errorf("remember: empty note")
				}
				var rnd [8]byte
				_, _ = rand.Read(rnd[:])
				now := time.Now().UTC()
				src := "memory:" + now.Format("20060102T150405Z") + "-" + hex.EncodeToString(rnd[:])
				id := rag.DocID(src)
				sum := sha256.Sum256([]byte(a.Note))
				doc := &rag.Document{ID: id, Source: src, Hash: rag.FileHash([]byte(a.Note)), Time: now, Chunks: []rag.Chunk{
					{ID: id + ":0", Source: src, Text: a.Note, Hash: hex.EncodeToString(sum[:8]), Time: now, End: len(a.Note)}}}
				if emb != nil {
					v, err := emb.Embed(ctx, []string{a.Note})
					if err != nil || len(v) != 1 {
						return "", fmt.Errorf("remember: embedding the note: %v", err)
					}
					doc.Chunks[0].Vec = v[0]
				}
				if err := s.Put(ctx, doc); err != nil {
					return "", fmt.Errorf("remember: %v", err)
				}
				return "remembered as " + src, nil
			},
		},
		&FuncTool{
			ToolSpec: ToolSpec{
				Name:        "recall",
				Description: "Search the notes stored in long-term memory.",
				Parameters:  schema(map[string]map[string]any{"query": prop("string", "what to recall")}, "query"),
			},
			Fn: func(ctx context.Context, args json.RawMessage) (string, error) {
				var a struct{ Query string }
				if err := decodeArgs("recall", args, &a); err != nil {
					return "", err
				}
				res, err := s.Search(ctx, rag.Query{Text: a.Query, K: 5, Filter: rag.Filter{Source: "memory:*"}})
				if err != nil {
					return "", fmt.Errorf("recall: %v", err)
				}
				var notes []rag.Result
				for _, r := range res {
					if strings.HasPrefix(r.Chunk.Source, "memory:") {
						notes = append(notes, r)
					}
				}
				if len(notes) == 0 {
					return "no notes found", nil
				}
				return formatResults(notes), nil
			},
		},
	}
}
