// Reference: rag/eval.go and rag/search.go (recall@k per mode; hybrid under weighted reciprocal
// rank fusion), docs/rag.md "Retrieval quality".

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
	if code != 0 || !strings.Contains(plain, "hybrid by fusion (rrf k, dense weight):") || !strings.Contains(plain, "k 60    w 0.3") {
		t.Errorf("the table: exit %d (%s):\n%s", code, errOut, plain)
	}
	for _, args := range [][]string{{"--dense-weight", "1.5"}, {"--rrf-k", "0"}, {"--dense-weight", "x"}} {
		_, errOut, code := runCLI(t, "", append([]string{"kb", "eval", file, "--embed-model", "hash"}, args...)...)
		if code == 0 || !strings.Contains(errOut, args[0]) {
			t.Errorf("%v: exit %d, %q; want an error naming the flag", args, code, errOut)
		}
	}
}
