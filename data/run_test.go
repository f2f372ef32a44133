package data

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunConfigSkipsCountedOnce: line dedup in mode "all" reads the input
// twice, and a skipped bad record is still counted once.
func TestRunConfigSkipsCountedOnce(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte("{broken\n"+`{"id":"a","text":"one line\nanother line\n"}`+"\n"+`{"id":"b"}`+"\n"), 0o644)
	c := DefaultConfig()
	c.Inputs, c.Output = []string{in}, filepath.Join(dir, "out")
	c.Read.SkipBadRecords = true
	c.LineDedup.Mode = "all"
	c.Stages = []string{StageLineDedup}
	rep, err := RunConfig(context.Background(), c, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.SkippedRecords != 2 || len(rep.SkipExamples) != 2 || !strings.Contains(rep.SkipExamples[0], "line 1") || rep.DocsIn != 1 {
		t.Fatalf("skipped %d, examples %q, documents %d; want 2 skips (line 1, record 3) and 1 document", rep.SkippedRecords, rep.SkipExamples, rep.DocsIn)
	}
}
