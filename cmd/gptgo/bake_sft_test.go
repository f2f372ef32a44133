// Reference: bake_sft.go (a recipe's SFT stage: held-out split, placeholders, repeats, a longer context,
// ChatML) and the chat-tuned default model of issue 18 item 6.

package main

import (
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

// chatFixture bakes the tiny base recipe of bakeFixture with ChatML's
// markers in its vocabulary, and writes beside it instruction data (an
// Alpaca file with identity placeholders, a ShareGPT JSONL file) and a
// recipe that fine-tunes the tiny model from its GGUF at a longer context.
func chatFixture(t *testing.T) (recipePath, base string) {
	t.Helper()
	pre := bakeFixture(t)
	dir := filepath.Dir(pre)
	raw, err := os.ReadFile(pre)
	if err != nil {
		t.Fatal(err)
	}
	withMarkers := strings.Replace(string(raw), `"specials": ["<|endoftext|>"]`, `"specials": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]`, 1)
	if err := os.WriteFile(pre, []byte(withMarkers), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := runCLI(t, "", "bake", pre, "--work", filepath.Join(dir, "pre")); code != 0 {
		t.Fatalf("base bake: exit %d\n%s\n%s", code, out, errOut)
	}
	var alpaca []map[string]string
	for _, q := range []string{"hi", "who are you", "the cat", "a dog", "the bird", "my friend", "the moon", "a log"} {
		alpaca = append(alpaca, map[string]string{"instruction": q, "input": "", "output": "I am {{name}}: " + q + "."})
	}
	b, _ := json.Marshal(alpaca)
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("id.json", b)
	write("talk.jsonl", []byte(`{"conversations": [{"from": "human", "value": "the cat"}, {"from": "gpt", "value": "sat on the mat."}]}
{"conversations": [{"from": "human", "value": "a dog"}, {"from": "gpt", "value": "ran to a log."}]}

{"conversations": [{"from": "human", "value": "the bird"}, {"from": "gpt", "value": "sang to the moon."}]}
`))
	write("chat.json", []byte(`{
  "name": "tinychat", "seed": 7, "threads": 2,
  "base": "out/tiny.gguf",
  "sft": {
    "context": 64,
    "sources": [
      {"name": "id", "path": "id.json", "val": 2, "replace": {"{{name}}": "Tiny \"T\""}},
      {"name": "talk", "path": "talk.jsonl", "repeat": 2}
    ],
    "train": {
      "data": {"template": "chatml"},
      "optim": {"lr": 0.01, "min_lr": 0.001, "warmup": 1},
      "run": {"steps": 3, "batch": 2, "seq": 48, "checkpoint_every": 2, "sample_prompts": ["hi"], "sample_tokens": 4}
    }
  },
  "export": {"type": "q8_0", "path": "out/tinychat.gguf"}
}`))
	return filepath.Join(dir, "chat.json"), filepath.Join(dir, "out", "tiny.gguf")
}

// TestBakeSFT fine-tunes a baked model through a recipe's sft section:
// the held-out records and the placeholders in the data files, the longer
// context and ChatML in the exported file, the summary, and a second bake
// that finds the stage done.
func TestBakeSFT(t *testing.T) {
	recipe, base := chatFixture(t)
	dir := filepath.Dir(recipe)
	work := filepath.Join(dir, "chat")
	out, errOut, code := runCLI(t, "", "bake", recipe, "--work", work)
	if code != 0 {
		t.Fatalf("bake: exit %d\n%s\n%s", code, out, errOut)
	}
	for _, want := range []string{"sft data id: 6 training records (seen 1× an epoch), 2 held out", "sft data talk: 3 training records (seen 2× an epoch), 0 held out", "template chatml"} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut, "clean ") || strings.Contains(errOut, "pretrain") {
		t.Errorf("a recipe from a base model ran the corpus stages:\n%s", errOut)
	}

	// The split: the last two records held out, the placeholder replaced
	// (quotes escaped) in both parts.
	read := func(name string) []map[string]string {
		b, err := os.ReadFile(filepath.Join(work, "sft-data", name))
		if err != nil {
			t.Fatal(err)
		}
		var recs []map[string]string
		if err := json.Unmarshal(b, &recs); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return recs
	}
	tr, val := read("id.train.json"), read("id.val.json")
	if len(tr) != 6 || len(val) != 2 || val[0]["instruction"] != "the moon" || val[1]["output"] != `I am Tiny "T": a log.` || tr[0]["output"] != `I am Tiny "T": hi.` {
		t.Errorf("split: train %v, val %v", tr, val)
	}
	if _, err := os.Stat(filepath.Join(work, "sft-data", "talk.val.json")); err == nil {
		t.Error("a val file for a source with val 0")
	}
	var cfg struct {
		Data struct {
			Train, Val  []string
			ValFraction float64 `json:"val_fraction"`
		}
	}
	if b, err := os.ReadFile(filepath.Join(work, "sft", configName)); err != nil || json.Unmarshal(b, &cfg) != nil {
		t.Fatalf("sft config: %v", err)
	}
	if len(cfg.Data.Train) != 3 || len(cfg.Data.Val) != 1 || cfg.Data.ValFraction != 0 || cfg.Data.Train[1] != cfg.Data.Train[2] {
		t.Errorf("sft config data: %+v", cfg.Data)
	}

	// The export: the base's context raised to 64, ChatML, quantized.
	f, err := gguf.Open(filepath.Join(dir, "out", "tinychat.gguf"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, _ := f.Uint("llama.context_length")
	tmpl, _ := f.String("tokenizer.chat_template")
	ti, _ := f.Tensor("blk.0.attn_q.weight")
	f.Close()
	if ctx != 64 || !strings.Contains(tmpl, "<|im_start|>") || ti == nil || ti.DType.String() != "Q8_0" {
		t.Errorf("export: context %d, template %q, tensor %+v", ctx, tmpl, ti)
	}
	bf, err := gguf.Open(base)
	if err != nil {
		t.Fatal(err)
	}
	if c, _ := bf.Uint("llama.context_length"); c != 16 {
		t.Errorf("the recipe's base was changed: context %d", c)
	}
	bf.Close()

	var man bakeManifest
	if b, err := os.ReadFile(filepath.Join(work, "bake.json")); err != nil || json.Unmarshal(b, &man) != nil {
		t.Fatalf("manifest: %v", err)
	}
	if man.SFT["steps"] != float64(3) || man.SFT["val_examples"] != float64(2) || man.Files["sft/"+modelName] == "" {
		t.Errorf("manifest sft %v, files %v", man.SFT, man.Files)
	}

	// Run again: nothing is trained, the summary is kept.
	out, errOut, code = runCLI(t, "", "bake", recipe, "--work", work)
	if code != 0 || !strings.Contains(errOut, "sft: done before") {
		t.Fatalf("bake again: exit %d\n%s\n%s", code, out, errOut)
	}
	var again bakeManifest
	if b, err := os.ReadFile(filepath.Join(work, "bake.json")); err != nil || json.Unmarshal(b, &again) != nil || again.SFT["steps"] != float64(3) {
		t.Errorf("manifest after baking again: %v %v", again.SFT, err)
	}
}

// TestBakeSFTErrors: a recipe's sft mistakes are named before any work.
func TestBakeSFTErrors(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "r.json")
	try := func(recipe string, want ...string) {
		t.Helper()
		if err := os.WriteFile(p, []byte(recipe), 0o644); err != nil {
			t.Fatal(err)
		}
		_, errOut, code := runCLI(t, "", "bake", p, "--work", filepath.Join(dir, "w"))
		for _, w := range want {
			if code != 1 || !strings.Contains(errOut, w) {
				t.Errorf("exit %d, stderr %q: want %q", code, errOut, w)
			}
		}
	}
	try(`{"name": "x", "base": "b.gguf", "sources": [{"name": "a"}], "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"sources, tokenizer and train must be left out", "base needs an sft section")
	try(`{"name": "x", "base": "b.gguf", "sft": {"context": -1, "sources": [{"name": "a/b", "val": -1}]}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"context -1", `sft source name "a/b"`, "no path", "val -1")
	try(`{"name": "x", "base": "b.gguf", "sft": {"sources": [{"name": "a", "path": "a.json"}], "train": {"run": {"sedq": 1}}}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"sft:", "sedq")
	try(`{"name": "x", "base": "b.gguf", "sft": {"sources": [{"name": "a", "path": "a.json"}]}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		filepath.Join(dir, "b.gguf")+" (base)", filepath.Join(dir, "a.json")+" (sft source a)")
	if _, err := os.Stat(filepath.Join(dir, "w")); err == nil {
		t.Error("a working directory was made for a recipe that cannot run")
	}

	// Holding out every record is refused when the data is read.
	os.WriteFile(filepath.Join(dir, "a.json"), []byte(`[{"instruction": "q", "output": "a"}]`), 0o644)
	os.WriteFile(filepath.Join(dir, "b.gguf"), nil, 0o644)
	try(`{"name": "x", "base": "b.gguf", "sft": {"sources": [{"name": "a", "path": "a.json", "val": 1}]}, "export": {"type": "q8_0", "path": "o.gguf"}}`,
		"sft source a: val 1 holds out all 1 records")
}

// TestDefaultChatRecipeTrainsEndOfTurn checks, on the real data of the
// default model's two SFT recipes as the bake splits and encodes it (at
// 1,024 and at 512 positions), that every assistant turn the fine-tuning
// trains on ends with <|im_end|> as a target of the loss (a model that
// never sees that target cannot learn to stop), and that no user or system
// token is a target. It reads the held-out records and the first records
// of each training file (all of them would take a minute to tokenize on
// the shared machine).
func TestDefaultChatRecipeTrainsEndOfTurn(t *testing.T) {
	testkit.Shared(t, "data", "3-sft", "alpaca_en_demo.json")
	for _, name := range []string{"default-chat.json", "default-chat-short.json"} {
		t.Run(name, func(t *testing.T) { checkRecipeTrainsEndOfTurn(t, filepath.Join("..", "..", "recipes", name)) })
	}
}

func checkRecipeTrainsEndOfTurn(t *testing.T, recipe string) {
	b, err := loadRecipe(recipe)
	if err != nil {
		t.Fatal(err)
	}
	b.work, b.e = t.TempDir(), &env{stderr: io.Discard}
	if _, err := b.sftData(); err != nil {
		t.Fatal(err)
	}
	c, err := b.sftConfig()
	if err != nil {
		t.Fatal(err)
	}
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Builtin(c.Data.Template)
	if err != nil {
		t.Fatal(err)
	}
	imEnd, ok := tok.TokenID("<|im_end|>")
	if !ok {
		t.Fatal("no <|im_end|> in the default vocabulary")
	}
	enc := &train.Encoder{Template: tmpl, Tok: tok}
	for _, s := range b.r.SFT.Sources {
		for _, part := range []string{"train", "val"} {
			if part == "val" && s.Val == 0 {
				continue
			}
			convs, err := train.ReadConversations(b.sftFile(s, part))
			if err != nil {
				t.Fatal(err)
			}
			if part == "train" {
				convs = convs[:min(len(convs), 40)]
			}
			ex, _, err := train.PrepareSFT(enc, convs, c.Run.Seq+1)
			if err != nil {
				t.Fatal(err)
			}
			if len(ex) == 0 {
				t.Fatalf("%s %s: no examples", s.Name, part)
			}
			for i, x := range ex {
				ends, trained := 0, 0
				for _, sp := range x.Spans {
					for k := sp[0]; k < sp[1]; k++ {
						if x.Tokens[k] == imEnd && x.Train[k] {
							ends++
							break
						}
					}
					trained += sp[1] - sp[0]
				}
				if ends != len(x.Spans) || x.Trained() != trained {
					t.Errorf("%s %s example %d: %d of %d assistant turns have <|im_end|> as a target; %d tokens trained, the spans hold %d",
						s.Name, part, i, ends, len(x.Spans), x.Trained(), trained)
				}
			}
		}
	}
}
