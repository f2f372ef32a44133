// Reference: rag/eval.go and rag/fusion.go (recall@k per mode; hybrid under weighted reciprocal
// rank fusion or the convex combination of normalised scores), docs/rag.md "Retrieval quality".

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/rag"
)

// TestKBEvalFusionSweep runs kb eval on a SQuAD-layout file made here with
// the hashed embedder and a grid of --rrf-k and --dense-weight: hybrid is
// measured under every combination, dense weight 0 gives BM25's recall and
// 1 the dense ranking's, and out-of-range values are refused naming the
// flag.
func TestKBEvalFusionSweep(t *testing.T) {
	dir := t.TempDir()
	topics := []string{"lighthouses", "rivers", "volcanoes", "glaciers", "deserts", "forests", "islands", "canyons"}
	var paras []string
	for i, tp := range topics {
		ctx := fmt.Sprintf("The %s of region %d are famous. Visitors come to see the %s every summer, and scientists measure them. The oldest of the %s is %d years old.", tp, i, tp, tp, 100*(i+1))
		paras = append(paras, fmt.Sprintf(`{"context": %q, "qas": [{"question": "How old is the oldest of the %s?"}, {"question": "Who measures the %s?"}]}`, ctx, tp, tp))
	}
	file := filepath.Join(dir, "qa.json")
	if err := os.WriteFile(file, []byte(`{"data": [{"paragraphs": [`+strings.Join(paras, ",")+`]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "kb", "eval", file, "--embed-model", "hash", "--rrf-k", "1,60", "--dense-weight", "0,0.5,1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r rag.EvalResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if r.Questions != 16 || len(r.Fused) != 6 {
		t.Fatalf("%d questions, %d fusions measured (want 16 and 6): %s", r.Questions, len(r.Fused), out)
	}
	for _, f := range r.Fused {
		switch f.Fusion.DenseWeight {
		case 0:
			if !slices.Equal(f.Recall, r.Recall[rag.BM25]) {
				t.Errorf("%+v: recall %v, BM25's %v", f.Fusion, f.Recall, r.Recall[rag.BM25])
			}
		case 1:
			if !slices.Equal(f.Recall, r.Recall[rag.Dense]) {
				t.Errorf("%+v: recall %v, dense's %v", f.Fusion, f.Recall, r.Recall[rag.Dense])
			}
		}
	}
	if !slices.Equal(r.Recall[rag.Hybrid], r.Fused[0].Recall) {
		t.Errorf("hybrid's recall %v is not the first fusion's %v", r.Recall[rag.Hybrid], r.Fused[0].Recall)
	}
	plain, errOut, code := runCLI(t, "", "kb", "eval", file, "--embed-model", "hash", "--rrf-k", "1,60", "--dense-weight", "0.3")
	if code != 0 || !strings.Contains(plain, "hybrid by fusion (rrf k or cc normalisation, dense weight):") || !strings.Contains(plain, "rrf k 60 w 0.3") {
		t.Errorf("the table: exit %d (%s):\n%s", code, errOut, plain)
	}
	for _, args := range [][]string{{"--dense-weight", "1.5"}, {"--rrf-k", "0"}, {"--dense-weight", "x"}} {
		_, errOut, code := runCLI(t, "", append([]string{"kb", "eval", file, "--embed-model", "hash"}, args...)...)
		if code == 0 || !strings.Contains(errOut, args[0]) {
			t.Errorf("%v: exit %d, %q; want an error naming the flag", args, code, errOut)
		}
	}
}

// TestKBEvalFusionMethods sweeps both fusion methods in one run: --fusion
// rrf,cc with two rrf k, two cc normalisations and three weights is 2×3 +
// 2×3 fusions, each named in the JSON by its method; cc with weight 0 is
// BM25's recall and with weight 1 the dense ranking's. A flag the chosen
// methods do not read, and unknown methods or normalisations, are refused
// naming the flag; kb search takes the same flags.
func TestKBEvalFusionMethods(t *testing.T) {
	dir := t.TempDir()
	var paras []string
	for i, tp := range []string{"harbours", "orchards", "bridges", "comets", "mosses", "tides"} {
		ctx := fmt.Sprintf("The %s of district %d are well known. People visit the %s in spring, and students study them. The largest of the %s measures %d metres.", tp, i, tp, tp, 30*(i+1))
		paras = append(paras, fmt.Sprintf(`{"context": %q, "qas": [{"question": "How large is the largest of the %s?"}, {"question": "Who studies the %s?"}]}`, ctx, tp, tp))
	}
	file := filepath.Join(dir, "qa.json")
	if err := os.WriteFile(file, []byte(`{"data": [{"paragraphs": [`+strings.Join(paras, ",")+`]}]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "kb", "eval", file, "--embed-model", "hash", "--fusion", "rrf,cc", "--rrf-k", "1,60", "--fusion-norm", "minmax,tmm", "--dense-weight", "0,0.5,1", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var r rag.EvalResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(r.Fused) != 12 {
		t.Fatalf("%d fusions measured, want 12: %s", len(r.Fused), out)
	}
	n := map[string]int{}
	for _, f := range r.Fused {
		n[f.Fusion.Method+" "+f.Fusion.Norm]++
		if f.Fusion.Method != rag.FuseCC {
			continue
		}
		switch f.Fusion.DenseWeight {
		case 0:
			if !slices.Equal(f.Recall, r.Recall[rag.BM25]) {
				t.Errorf("%v: recall %v, BM25's %v", f.Fusion, f.Recall, r.Recall[rag.BM25])
			}
		case 1:
			if !slices.Equal(f.Recall, r.Recall[rag.Dense]) {
				t.Errorf("%v: recall %v, dense's %v", f.Fusion, f.Recall, r.Recall[rag.Dense])
			}
		}
	}
	if n["rrf "] != 6 || n["cc minmax"] != 3 || n["cc tmm"] != 3 {
		t.Errorf("fusions by method: %v", n)
	}
	plain, _, code := runCLI(t, "", "kb", "eval", file, "--embed-model", "hash", "--fusion", "cc,rrf", "--dense-weight", "0.3")
	if code != 0 || !strings.Contains(plain, "cc minmax w 0.3") || !strings.Contains(plain, "rrf k 60 w 0.3") {
		t.Errorf("the table:\n%s", plain)
	}
	for _, args := range [][]string{
		{"--fusion", "borda"}, {"--fusion", "cc", "--rrf-k", "10"}, {"--fusion", "rrf", "--fusion-norm", "tmm"},
		{"--fusion-norm", "zscore", "--fusion", "cc"}, {"--fusion", "cc", "--dense-weight", "-1"},
	} {
		_, errOut, code := runCLI(t, "", append([]string{"kb", "eval", file, "--embed-model", "hash"}, args...)...)
		flagName := args[len(args)-2]
		if args[0] == "--fusion" && len(args) == 2 {
			flagName = "--fusion"
		}
		if code == 0 || !strings.Contains(errOut, flagName) {
			t.Errorf("%v: exit %d, %q; want an error naming %s", args, code, errOut, flagName)
		}
	}

	// kb search: the flags reach the store's search (cc scores lie in 0…1)
	kb := filepath.Join(t.TempDir(), "kb")
	docs := t.TempDir()
	kbDocs(t, docs)
	if _, errOut, code := runCLI(t, "", "kb", "ingest", "--kb", kb, "--embed-model", "hash", "--quiet", docs); code != 0 {
		t.Fatalf("ingest: %s", errOut)
	}
	out, errOut, code = runCLI(t, "", "kb", "search", "--kb", kb, "--json", "--fusion", "cc", "--fusion-norm", "tmm", "--dense-weight", "0.4", "-k", "3", "When was the Bell Rock Lighthouse built?")
	var sr kbSearchOut
	if code != 0 || json.Unmarshal([]byte(out), &sr) != nil || len(sr.Results) == 0 {
		t.Fatalf("search exit %d: %s %s", code, out, errOut)
	}
	if sr.Results[0].Source != "lighthouse.md" && !strings.HasSuffix(sr.Results[0].Source, "lighthouse.md") {
		t.Errorf("first result %q, want lighthouse.md", sr.Results[0].Source)
	}
	for _, x := range sr.Results {
		if x.Score < 0 || x.Score > 1 {
			t.Errorf("cc score %g outside 0…1", x.Score)
		}
	}
	if _, errOut, code := runCLI(t, "", "kb", "search", "--kb", kb, "--fusion", "cc", "--rrf-k", "5", "bell rock"); code == 0 || !strings.Contains(errOut, "--rrf-k") {
		t.Errorf("search --fusion cc --rrf-k: exit %d, %q", code, errOut)
	}
}
