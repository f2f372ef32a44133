package agent

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/rag"
)

// TestKBToolsAndMemory: kb_search over a real store, and notes that
// survive closing and reopening it (long-term memory across runs).
func TestKBToolsAndMemory(t *testing.T) {
	dir := t.TempDir()
	s, err := rag.OpenDir(dir, rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now := time.Now().UTC()
	id := rag.DocID("/docs/tides.md")
	doc := &rag.Document{ID: id, Source: "/docs/tides.md", Time: now, Chunks: []rag.Chunk{
		{ID: id + ":0", Source: "/docs/tides.md", Text: "Tides are caused by the gravity of the moon and the sun.", Time: now},
		{ID: id + ":1", Source: "/docs/tides.md", Text: "A spring tide happens at new and full moon.", Time: now},
	}}
	if err := s.Put(ctx, doc); err != nil {
		t.Fatal(err)
	}
	ts, closeTools, err := NewTools(ToolConfig{KB: s})
	if err != nil {
		t.Fatal(err)
	}
	defer closeTools()
	out, err := ts["kb_search"].Call(ctx, json.RawMessage(`{"query":"what causes tides","k":1}`))
	if err != nil || !strings.HasPrefix(out, "[1] /docs/tides.md") || !strings.Contains(out, "gravity of the moon") {
		t.Fatalf("kb_search: %q %v", out, err)
	}
	if _, err := ts["kb_search"].Call(ctx, json.RawMessage(`{"query":" "}`)); err == nil {
		t.Fatal("empty query accepted")
	}
	if !ts["remember"].SideEffects() || ts["recall"].SideEffects() || ts["kb_search"].SideEffects() {
		t.Fatal("side effects: remember writes, recall and kb_search read")
	}
	if out, err := ts["remember"].Call(ctx, json.RawMessage(`{"note":"The user's boat is moored at pier 9."}`)); err != nil || !strings.HasPrefix(out, "remembered as memory:") {
		t.Fatalf("remember: %q %v", out, err)
	}
	s.Close()

	s, err = rag.OpenDir(dir, rag.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts, closeTools2, _ := NewTools(ToolConfig{KB: s})
	defer closeTools2()
	out, err = ts["recall"].Call(ctx, json.RawMessage(`{"query":"where is the boat moored"}`))
	if err != nil || !strings.Contains(out, "pier 9") || strings.Contains(out, "tides") {
		t.Fatalf("recall after reopening: %q %v", out, err)
	}
	out, _ = ts["recall"].Call(ctx, json.RawMessage(`{"query":"moon gravity"}`))
	if strings.Contains(out, "tides") {
		t.Fatalf("recall returned a document, not a note: %q", out)
	}
}
