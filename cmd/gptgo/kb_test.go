// Reference: issue #22 "Done when" (the end-to-end test: the Chinese-LLaMA-Alpaca LangChain demo
// document and English documents, asked through the CLI; the cited chunks hold the answer).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// kbDocs writes a few English documents of different kinds into dir.
func kbDocs(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"lighthouse.md": "# Lighthouses\n\nLighthouses warn ships of rocks.\n\n## Bell Rock\n\nThe Bell Rock Lighthouse was built between 1807 and 1810 off the coast of Angus, Scotland.\nIt is the oldest surviving sea-washed lighthouse.\n",
		"coffee.txt":    "Coffee plants grow best in the tropics. The coffee berry contains two seeds, the beans.\n\nEspresso is brewed by forcing hot water through finely ground beans under pressure.",
		"rivers.html":   "<html><body><nav>menu</nav><h1>Rivers</h1><p>The Danube flows through ten countries, more than any other river in the world.</p><script>alert(1)</script></body></html>",
		"cities.csv":    "city,country,founded\nKyoto,Japan,794\nLisbon,Portugal,1200 BC\n",
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type kbSearchOut struct {
	Query   string `json:"query"`
	Results []struct {
		ID, Source, Heading, Text string
		Page                      int
		Score                     float64
	} `json:"results"`
}

func TestKBEndToEnd(t *testing.T) {
	libai := testkit.Shared(t, "data", "7-rag-qa", "chinese-llama-alpaca_langchain_doc_libai.txt")
	docs := t.TempDir()
	kbDocs(t, docs)
	kb := filepath.Join(t.TempDir(), "kb")
	out, errOut, code := runCLI(t, "", "kb", "ingest", "--kb", kb, "--embed-model", "hash", "--quiet", docs, libai)
	if code != 0 {
		t.Fatalf("ingest exit %d: %s %s", code, out, errOut)
	}
	if !strings.Contains(out, "5 files: 5 added") {
		t.Errorf("ingest summary: %s", out)
	}
	// unchanged files are skipped; the store remembers its embedder
	out, _, _ = runCLI(t, "", "kb", "ingest", "--kb", kb, "--quiet", docs, libai)
	if !strings.Contains(out, "5 unchanged") {
		t.Errorf("re-ingest: %s", out)
	}

	out, errOut, code = runCLI(t, "", "kb", "search", "--kb", kb, "--json", "-k", "3", "When was the Bell Rock Lighthouse built?")
	var sr kbSearchOut
	if code != 0 || json.Unmarshal([]byte(out), &sr) != nil {
		t.Fatalf("search exit %d: %s %s", code, out, errOut)
	}
	if len(sr.Results) != 3 || !strings.Contains(sr.Results[0].Text, "1807") || sr.Results[0].Heading != "Lighthouses > Bell Rock" || sr.Query == "" {
		t.Fatalf("search: %+v", sr)
	}
	for _, mode := range []string{"bm25", "dense", "hybrid"} {
		out, _, _ = runCLI(t, "", "kb", "search", "--kb", kb, "--json", "-k", "1", "--mode", mode, "李白的字是什么")
		json.Unmarshal([]byte(out), &sr)
		if len(sr.Results) != 1 || !strings.HasSuffix(sr.Results[0].Source, "libai.txt") {
			t.Errorf("%s: %+v", mode, sr.Results)
		}
	}

	// ask through the CLI: retrieval is under test (the tiny model's prose
	// is not): the first source holds the answer, citations point at sources
	for _, c := range []struct{ q, answer string }{
		{"李白出生于哪一年？", "701"},
		{"李白的字是什么？", "太白"},
		{"When was the Bell Rock Lighthouse built?", "1807"},
		{"How many countries does the Danube flow through?", "ten countries"},
		{"When was Kyoto founded?", "794"},
	} {
		out, errOut, code = runCLI(t, "", "kb", "ask", "--kb", kb, "--json", "-n", "8", "--temp", "0", c.q)
		var a askResult
		if code != 0 || json.Unmarshal([]byte(out), &a) != nil {
			t.Fatalf("%s: exit %d: %s %s", c.q, code, out, errOut)
		}
		if a.NotFound || len(a.Sources) == 0 || !strings.Contains(a.Sources[0].Text, c.answer) {
			t.Errorf("%s: source [1] does not hold %q: %+v", c.q, c.answer, a)
		}
		for _, n := range a.Citations {
			if n < 1 || n > len(a.Sources) {
				t.Errorf("%s: citation [%d] of %d sources", c.q, n, len(a.Sources))
			}
		}
	}
	out, _, _ = runCLI(t, "", "kb", "ask", "--kb", kb, "--json", "-n", "8", "What is the population of Mongolia?")
	var a askResult
	json.Unmarshal([]byte(out), &a)
	if !a.NotFound || a.Answer != "Not found in the documents." || len(a.Sources) != 0 {
		t.Errorf("unanswerable question: %+v", a)
	}

	// list, rm by glob, stats
	out, _, _ = runCLI(t, "", "kb", "list", "--kb", kb)
	if strings.Count(out, "\n") != 5 {
		t.Errorf("list: %s", out)
	}
	out, errOut, code = runCLI(t, "", "kb", "rm", "--kb", kb, "*.csv", "nothing-here")
	if code == 0 || !strings.Contains(out, "cities.csv") || !strings.Contains(errOut, "nothing-here") {
		t.Errorf("rm: %d %s %s", code, out, errOut)
	}
	out, _, _ = runCLI(t, "", "kb", "stats", "--kb", kb, "--json")
	var st struct{ Documents, Chunks int }
	if json.Unmarshal([]byte(out), &st) != nil || st.Documents != 4 || st.Chunks == 0 {
		t.Errorf("stats: %s", out)
	}
}

func TestKBIngestErrorsAreNotFatal(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "good.txt"), []byte("Owls hunt at night."), 0o644)
	os.WriteFile(filepath.Join(dir, "broken.pdf"), []byte("%PDF-1.4 nothing"), 0o644)
	os.WriteFile(filepath.Join(dir, "empty.md"), []byte(""), 0o644)
	kb := filepath.Join(t.TempDir(), "kb")
	out, errOut, code := runCLI(t, "", "kb", "ingest", "--kb", kb, "--embed-model", "none", "--quiet", dir)
	if code == 0 || !strings.Contains(errOut, "broken.pdf") || !strings.Contains(errOut, "empty.md") || !strings.Contains(out, "1 added") {
		t.Fatalf("exit %d\n%s\n%s", code, out, errOut)
	}
	out, _, code = runCLI(t, "", "kb", "search", "--kb", kb, "owls")
	if code != 0 || !strings.Contains(out, "good.txt") {
		t.Errorf("search: %d %s", code, out)
	}
	// flag errors name the flag
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"kb", "search", "--kb", kb, "--mode", "fuzzy", "x"}, "--mode"},
		{[]string{"kb", "search", "--kb", kb, "-k", "0", "x"}, "-k"},
		{[]string{"kb", "search", "--kb", kb, "--mode", "dense", "x"}, "bm25"},
		{[]string{"kb", "search", "--kb", kb, "--after", "yesterday", "x"}, "--after"},
		{[]string{"kb", "ingest", "--kb", kb, "--embed-model", "hash", dir}, "--embed-model"},
		{[]string{"kb", "frobnicate"}, "unknown subcommand"},
	} {
		_, errOut, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, %q lacks %q", c.args, code, errOut, c.want)
		}
	}
}
