// Reference: LLaMA-Factory data/README.md (preference formats), Anthropic hh-rlhf, Ouyang et al. 2022 §3.5.

package train

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestReadPreferences(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ps, err := ReadPreferences(write("a.json", `[
{"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "gpt", "value": "Hello!"}, "rejected": {"from": "gpt", "value": "Go away."}},
{"messages": [{"role": "user", "content": "2+2?"}], "chosen": {"role": "assistant", "content": "4"}, "rejected": {"role": "assistant", "content": "5"}},
{"chosen": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: good", "rejected": "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: bad"},
{"instruction": "Rank", "input": "", "output": ["A", "B", "C"]}]`))
	if err != nil {
		t.Fatal(err)
	}
	if len(ps) != 6 {
		t.Fatalf("%d pairs, want 1+1+1+3", len(ps))
	}
	if ps[0].Chosen.Content != "Hello!" || ps[0].Rejected.Content != "Go away." || ps[0].Prompt.Messages[0].Role != "user" {
		t.Errorf("sharegpt: %+v", ps[0])
	}
	if ps[1].Chosen.Content != "4" || ps[1].Group != 1 {
		t.Errorf("openai: %+v", ps[1])
	}
	if h := ps[2]; len(h.Prompt.Messages) != 3 || h.Prompt.Messages[1].Content != "b" || h.Chosen.Content != "good" || h.Rejected.Content != "bad" {
		t.Errorf("transcript: %+v", h)
	}
	var got []string
	for _, p := range ps[3:] {
		got = append(got, p.Chosen.Content+">"+p.Rejected.Content)
		if p.Group != 3 {
			t.Errorf("ranking pair in group %d", p.Group)
		}
	}
	if strings.Join(got, " ") != "A>B A>C B>C" {
		t.Errorf("ranking pairs %v", got)
	}
	for name, bad := range map[string]string{
		"only chosen":     `{"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "gpt", "value": "x"}}`,
		"human answer":    `{"conversations": [{"from": "human", "value": "Hi"}], "chosen": {"from": "human", "value": "x"}, "rejected": {"from": "gpt", "value": "y"}}`,
		"prompts differ":  `{"chosen": "\n\nHuman: a\n\nAssistant: x", "rejected": "\n\nHuman: b\n\nAssistant: y"}`,
		"no human first":  `{"chosen": "\n\nAssistant: x", "rejected": "\n\nAssistant: y"}`,
		"one answer":      `{"instruction": "Rank", "output": ["A"]}`,
		"not preference":  `{"text": "hello"}`,
		"ends with reply": `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}], "chosen": {"role": "assistant", "content": "4"}, "rejected": {"role": "assistant", "content": "5"}}`,
	} {
		if _, err := ReadPreferences(write("bad.jsonl", bad+"\n")); err == nil || !strings.Contains(err.Error(), "bad.jsonl:1") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// gzip
	f, err := os.Create(filepath.Join(dir, "c.jsonl.gz"))
	if err != nil {
		t.Fatal(err)
	}
	zw := gzip.NewWriter(f)
	zw.Write([]byte(`{"chosen": "\n\nHuman: q\n\nAssistant: y", "rejected": "\n\nHuman: q\n\nAssistant: n"}` + "\n"))
	zw.Close()
	f.Close()
	if ps, err := ReadPreferences(f.Name()); err != nil || len(ps) != 1 || ps[0].Chosen.Content != "y" {
		t.Errorf("gzip: %v %v", ps, err)
	}
}

// TestReadSharedPreferences reads every preference set of ../shared.
func TestReadSharedPreferences(t *testing.T) {
	dir := testkit.Shared(t, "data", "4-preference")
	for name, min := range map[string]int{"dpo_en_demo.json": 300, "dpo_zh_demo.json": 300, "hh-rlhf-harmless-base-test.jsonl.gz": 2000, "oaast_rm_zh.json": 775} {
		ps, err := ReadPreferences(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(ps) < min {
			t.Errorf("%s: %d pairs, want at least %d", name, len(ps), min)
		}
		t.Logf("%s: %d pairs", name, len(ps))
	}
}
