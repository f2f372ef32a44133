package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/testkit"
)

func TestDataConfigDefault(t *testing.T) {
	out, errOut, code := runCLI(t, "", "data", "config", "--default")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	c, err := data.ParseConfig(strings.NewReader(out), "stdout")
	if err != nil || c.MinHash.Bands != 16 {
		t.Fatalf("printed default does not parse back: %v", err)
	}
	if _, errOut, code := runCLI(t, "", "data", "frobnicate"); code != 1 || !strings.Contains(errOut, "unknown subcommand") {
		t.Fatalf("unknown subcommand: %d %s", code, errOut)
	}
	if _, _, code := runCLI(t, "", "data"); code != 2 {
		t.Fatalf("bare 'data' exit %d, want usage (2)", code)
	}
}

func readDocs(t *testing.T, path string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l == "" {
			continue
		}
		var d struct{ ID, Text string }
		if err := json.Unmarshal([]byte(l), &d); err != nil {
			t.Fatal(err)
		}
		out[d.ID] = d.Text
	}
	return out
}

func TestDataDedupLinesCS336(t *testing.T) {
	in := testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "documents_with_line_duplicates")
	out := t.TempDir()
	stdout, errOut, code := runCLI(t, "", "data", "dedup", in, "-o", out, "--lines", "--mode", "all", "--no-minhash", "--no-exact", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	docs := readDocs(t, filepath.Join(out, "docs.jsonl"))
	if got := docs[filepath.Join(in, "doc3.txt")]; got != "- back\n<Insert generic page content here for doc3.txt>\n" {
		t.Fatalf("doc3: %q (all: %v)", got, docs)
	}
	if len(docs) != 3 || !strings.Contains(stdout, "all_lines_duplicated") {
		t.Fatalf("%d docs kept; summary:\n%s", len(docs), stdout)
	}
}

// TestDataDedupNearDetail: a near-duplicate rejection says how similar
// the document was and which document was kept, as docs/data.md promises.
func TestDataDedupNearDetail(t *testing.T) {
	dir := t.TempDir()
	words := strings.Fields(strings.Repeat("the licence grants permission to use copy modify merge publish and distribute the software ", 4))
	a := strings.Join(words, " ")
	b := strings.Join(append(words[:len(words)-1:len(words)-1], "program"), " ")
	in := filepath.Join(dir, "in.jsonl")
	lines := `{"id":"first","text":` + jsonString(a) + "}\n" + `{"id":"second","text":` + jsonString(b) + "}\n" +
		`{"id":"other","text":"an entirely different document about the weather in the mountains this week"}` + "\n"
	if err := os.WriteFile(in, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "out")
	stdout, errOut, code := runCLI(t, "", "data", "dedup", in, "-o", out, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	rb, err := os.ReadFile(filepath.Join(out, "rejected.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var rej struct{ ID, Reason, Detail string }
	if err := json.Unmarshal(rb, &rej); err != nil {
		t.Fatalf("%v: %s", err, rb)
	}
	if rej.ID != "second" || rej.Reason != "near_duplicate" || !strings.HasPrefix(rej.Detail, "similarity 0.9") || !strings.HasSuffix(rej.Detail, " to first") {
		t.Fatalf("rejected %+v, want second's near_duplicate with its similarity to first", rej)
	}
	if !strings.Contains(stdout, "kept 2 documents") {
		t.Errorf("summary:\n%s", stdout)
	}
}

func TestDataRunConfig(t *testing.T) {
	wet := testkit.Shared(t, "data", "9-cleaning", "cc_whirlwind.warc.wet")
	dir := t.TempDir()
	cfg := `{"inputs": [` + jsonString(wet) + `], "output": "out", "stages": ["language", "pii"], "language": {"allow": []}}`
	os.WriteFile(filepath.Join(dir, "c.json"), []byte(cfg), 0o644)
	stdout, errOut, code := runCLI(t, "", "data", "run", filepath.Join(dir, "c.json"), "--workers", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "read 1 document (") || !strings.Contains(errOut, "1 doc (") {
		t.Fatalf("stdout:\n%s\nstderr:\n%s", stdout, errOut)
	}
	docs := readDocs(t, filepath.Join(dir, "out", "docs.jsonl"))
	if len(docs) != 1 {
		t.Fatalf("docs %v", docs)
	}
	if _, errOut, code := runCLI(t, "", "data", "run", filepath.Join(dir, "missing.json")); code != 1 || !strings.Contains(errOut, "missing.json") {
		t.Fatalf("missing config: %d %s", code, errOut)
	}
}

func jsonString(s string) string { b, _ := json.Marshal(s); return string(b) }

func TestDataTokenizeGGUF(t *testing.T) {
	vocab := testkit.Shared(t, "reference", "tokenizer", "ggml-vocab-gpt-2.gguf")
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"text":"Hello world"}`+"\n"+`{"text":"<|endoftext|> is text here"}`+"\n"), 0o644)
	_, errOut, code := runCLI(t, "", "data", "tokenize", in, "-o", filepath.Join(dir, "out"), "--vocab", vocab, "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	h, toks, err := data.ReadShard(filepath.Join(dir, "out", "shards", "shard-00000.tok"))
	if err != nil {
		t.Fatal(err)
	}
	// GPT-2: "Hello" 15496, " world" 995, EOS 50256; the second document's
	// "<|endoftext|>" is plain text, so 50256 appears only as separators.
	if h.TokenSize != 2 || h.VocabSize != 50257 || h.Docs != 2 || toks[0] != 15496 || toks[1] != 995 || toks[2] != 50256 {
		t.Fatalf("header %+v, tokens %v", h, toks)
	}
	eos := 0
	for _, x := range toks {
		if x == 50256 {
			eos++
		}
	}
	if eos != 2 || toks[len(toks)-1] != 50256 {
		t.Fatalf("EOS count %d in %v", eos, toks)
	}
	if _, errOut, code := runCLI(t, "", "data", "tokenize", in, "-o", dir); code != 1 || !strings.Contains(errOut, "--vocab") {
		t.Fatalf("no vocab: %d %s", code, errOut)
	}
}

func TestDataFilterSingleStage(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.jsonl")
	os.WriteFile(in, []byte(`{"id":"fr","text":"Le renard brun rapide saute par-dessus le chien paresseux."}`+"\n"+
		`{"id":"en","text":"The quick brown fox jumps over the lazy dog and runs to the farm."}`+"\n"), 0o644)
	stdout, errOut, code := runCLI(t, "", "data", "filter", in, "-o", filepath.Join(dir, "out"), "--stages", "language", "--quiet")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	// Only the language stage ran: the short English sentence survives the
	// quality rules it would otherwise fail.
	docs := readDocs(t, filepath.Join(dir, "out", "docs.jsonl"))
	if len(docs) != 1 || docs["en"] == "" || strings.Contains(stdout, "quality") {
		t.Fatalf("docs %v\n%s", docs, stdout)
	}
	if _, errOut, code := runCLI(t, "", "data", "filter", in, "-o", filepath.Join(dir, "o2"), "--stages", "nope"); code != 1 || !strings.Contains(errOut, "unknown stage") {
		t.Fatalf("bad stage: %d %s", code, errOut)
	}
}
