package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/eval"
)

const defaultGGUF = "../../models/default.gguf"

// The log-likelihoods gptgo eval reports are those gptgo logits' values
// give: Σ (logit of the next token − log Σ exp logits) over the option's
// tokens. Both run the same file; the second option's prefix comes from the
// KV cache, so the bound is float32 rounding: 1e-4 nats.
func TestEvalLogLikEqualsLogits(t *testing.T) {
	dir := t.TempDir()
	task := filepath.Join(dir, "t.jsonl")
	line := `{"context":"The sun rises in the","choices":["east every morning","west"],"gold":0}` + "\n"
	if err := os.WriteFile(task, []byte(line), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "eval", defaultGGUF, task, "--json", "--samples", "--ctx", "64")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Tasks) != 1 || len(rep.Tasks[0].Samples) != 1 {
		t.Fatalf("%v: %s", err, out)
	}
	s := rep.Tasks[0].Samples[0]
	for i, choice := range []string{"east every morning", "west"} {
		ctxOut, _, _ := runCLI(t, "", "logits", defaultGGUF, "The sun rises in the", "--top", "1", "--ctx", "64")
		var c logitsRecord
		if err := json.Unmarshal([]byte(ctxOut), &c); err != nil {
			t.Fatal(err)
		}
		lo, _, code := runCLI(t, "", "logits", defaultGGUF, "The sun rises in the "+choice, "--top", "4096", "--ctx", "64")
		var rec logitsRecord
		if code != 0 || json.Unmarshal([]byte(lo), &rec) != nil {
			t.Fatalf("logits: exit %d", code)
		}
		var want float64
		n := 0
		for p := len(c.Tokens) - 1; p+1 < len(rec.Tokens); p++ {
			row := make([]float32, 4096)
			for _, kv := range rec.TopK[p] {
				row[int(kv[0])] = float32(kv[1])
			}
			want += eval.LogSoftmax(row, rec.Tokens[p+1])
			n++
		}
		if s.NTokens[i] != n || math.Abs(s.LogLik[i]-want) > 1e-4 {
			t.Errorf("option %d: eval %.6f over %d tokens, logits give %.6f over %d", i, s.LogLik[i], s.NTokens[i], want, n)
		}
	}
}

// A run over three hand-made task files in different formats: the table,
// the JSON with an aggregate, --limit, progress on stderr.
func TestEvalCLI(t *testing.T) {
	dir := t.TempDir()
	hs := filepath.Join(dir, "hs.txt")
	// Hand-made HellaSwag-layout tasks (not from the dataset).
	if err := os.WriteFile(hs, []byte(strings.Repeat("Cooking: She cracks an egg into the pan. She\n0\nfries it until the white is set.\nflies to Paris.\nreads the egg a story.\npaints the pan blue.\n", 3)), 0o644); err != nil {
		t.Fatal(err)
	}
	mmlu := filepath.Join(dir, "arith_test.csv")
	if err := os.WriteFile(mmlu, []byte("What is 1+1?,1,2,3,4,B\nWhat is 2+2?,4,5,6,7,A\nWhat is 3+3?,5,6,7,8,B\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gen := filepath.Join(dir, "gen.jsonl")
	if err := os.WriteFile(gen, []byte(`{"prompt":"Q: What is 2+3?\nA:","answer":"#### 5"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "eval", defaultGGUF, hs, "mmlu:"+mmlu, gen, "--shots", "1", "--limit", "2", "--max-tokens", "8", "--json")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var rep evalReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Tasks) != 3 || rep.Tasks[0].Format != eval.FormatHellaSwag || rep.Tasks[0].N != 2 || rep.Tasks[1].N != 2 || rep.Tasks[2].N != 1 {
		t.Fatalf("%s", out)
	}
	if rep.Tasks[0].Metrics[0].Name != eval.MetricAccToken || rep.Tasks[2].Metrics[0].Name != "exact_match" || len(rep.Aggregate) == 0 {
		t.Errorf("%s", out)
	}
	if !strings.Contains(errOut, "hs: 2 of 2") || !strings.Contains(errOut, "100%") {
		t.Errorf("stderr %q lacks the progress", errOut)
	}
	out, _, code = runCLI(t, "", "eval", defaultGGUF, hs, "--quiet")
	if code != 0 || !strings.Contains(out, "acc_token") || !strings.Contains(out, " ± ") || !strings.HasPrefix(out, "task ") {
		t.Errorf("table: %q", out)
	}
}

// Errors name the flag or the file.
func TestEvalErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	os.WriteFile(bad, []byte("just text\n"), 0o644)
	hs := filepath.Join(dir, "hs.txt")
	os.WriteFile(hs, []byte("ctx\n9\na\nb\nc\nd\n"), 0o644)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{defaultGGUF, bad}, "cannot tell the task format"},
		{[]string{defaultGGUF, "hellaswag:" + hs}, "line 2"},
		{[]string{defaultGGUF, filepath.Join(dir, "missing.txt")}, "missing.txt"},
		{[]string{defaultGGUF, bad, "--limit", "-1"}, "--limit"},
		{[]string{defaultGGUF, bad, "--match", "fuzzy"}, "--match"},
		{[]string{defaultGGUF, bad, "--llama-tasks", "3", "--limit", "2"}, "--llama-tasks"},
	} {
		_, errOut, code := runCLI(t, "", append([]string{"eval"}, c.args...)...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: exit %d, stderr %q (want %q)", c.args, code, errOut, c.want)
		}
	}
}

// --llama-tasks N scores the N tasks llama-perplexity's --winogrande-tasks
// N draws (eval.LlamaTaskOrder), each sample keeping its file index.
func TestEvalLlamaTasks(t *testing.T) {
	wg := "winogrande:../../eval/testdata/winogrande-handmade.csv"
	out, errOut, code := runCLI(t, "", "eval", defaultGGUF, wg, "--llama-tasks", "4", "--json", "--samples", "--quiet")
	var rep evalReport
	if code != 0 || json.Unmarshal([]byte(out), &rep) != nil || len(rep.Tasks) != 1 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	want := eval.LlamaTaskOrder(eval.FormatWinogrande, 20, 4)
	r := rep.Tasks[0]
	if r.N != 4 || len(r.Samples) != 4 {
		t.Fatalf("%+v", r)
	}
	for i, s := range r.Samples {
		if s.Index != want[i] {
			t.Errorf("sample %d: question %d, want %d", i, s.Index, want[i])
		}
	}
}
