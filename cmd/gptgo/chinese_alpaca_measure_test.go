// Reference: issue 18 item 7 (the Chinese recipe's card: Chinese tokens per character before/after the
// extension, held-out losses of the continued pretraining and the SFT, the end-of-turn rate on held-out Chinese
// prompts beside the base's); Cui, Yang & Yao 2023 §2.2 (tokens per character); llama.cpp perplexity's
// bits-per-byte comparison across vocabularies.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/eval"
	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

// zhMeasureEnv turns TestChineseAlpacaMeasure on: it reads a finished
// bake of recipes/chinese-alpaca.json and generates for minutes, so it is
// a measurement to run by hand after the bake:
//
//	GPTGO_ZH_MEASURE=1 go test ./cmd/gptgo -run TestChineseAlpacaMeasure -v -timeout 60m
//
// GPTGO_ZH_MEASURE_WORK names the bake's working directory (default the
// recipe's, bake/chinese-alpaca), GPTGO_ZH_MEASURE_EXPORT the final model
// (default the recipe's export.path), GPTGO_ZH_MEASURE_N the token limit
// of the answers (default 256; -1: as `gptgo chat` asks, until the end of
// the turn or a full context, the counts within 128 and 256 tokens beside),
// GPTGO_ZH_MEASURE_GEN_MODELS the models that answer (comma-separated
// paths; default the export and base.gguf), GPTGO_ZH_MEASURE_SEED the
// sampling seed (default 1), GPTGO_ZH_MEASURE_GEN=0 skips
// the answers.
const zhMeasureEnv = "GPTGO_ZH_MEASURE"

// TestChineseAlpacaMeasure makes the figures of models/chinese-alpaca.md.
func TestChineseAlpacaMeasure(t *testing.T) {
	if os.Getenv(zhMeasureEnv) != "1" {
		t.Skipf("skipping: a measurement of minutes on a finished bake; run with %s=1", zhMeasureEnv)
	}
	b, err := loadRecipe(filepath.Join("..", "..", "recipes", "chinese-alpaca.json"))
	if err != nil {
		t.Fatal(err)
	}
	if w := os.Getenv(zhMeasureEnv + "_WORK"); w != "" {
		b.work = w
	}
	b.e = &env{stderr: os.Stderr}
	work, base := b.work, b.rel(b.r.Base)
	exported := b.rel(b.r.Export.Path)
	if x := os.Getenv(zhMeasureEnv + "_EXPORT"); x != "" {
		exported = x
	}
	for _, p := range []string{base, filepath.Join(work, "tokenizer.gguf"), filepath.Join(work, "sft", modelName), exported} {
		if _, err := os.Stat(p); err != nil {
			t.Fatalf("%v: bake recipes/chinese-alpaca.json first", err)
		}
	}
	oldTok, err := tokenizer.Load(base)
	if err != nil {
		t.Fatal(err)
	}
	newTok, err := tokenizer.Load(filepath.Join(work, "tokenizer.gguf"))
	if err != nil {
		t.Fatal(err)
	}

	// The held-out pretraining text: each source's tail from where the
	// bake's validation split (the last val_fraction of the extended
	// vocabulary's tokens) starts. The base's own pretraining held out the
	// last 5% of its tokens of the same documents (recipes/default.json);
	// the byte offsets show whether the base saw any of this text.
	var heldDocs, unseenDocs []string
	for _, s := range b.r.Sources {
		var docs []string
		ro := data.DefaultReadOptions()
		ro.Format, ro.TextField = "jsonl", "text"
		if err := data.ReadFile(b.docs(s), ro, func(d *data.Doc) error { docs = append(docs, d.Text); return nil }); err != nil {
			t.Fatal(err)
		}
		cutOld, total := tailOffset(oldTok, docs, 0.05)
		cutNew, _ := tailOffset(newTok, docs, s.ValFraction)
		fed := 0 // the bytes the extension's tokenizer trained on (bake_extend.go)
		for _, d := range docs[:leadingDocs(docs, 1-s.ValFraction)] {
			fed += len(d)
		}
		t.Logf("source %s: %d bytes; held out from byte %d (the extended vocabulary's last %g of tokens); the base held out from byte %d (its last 5%%): base saw none of it: %v; the new pieces were trained on bytes 0…%d",
			s.Name, total, cutNew, s.ValFraction, cutOld, cutNew >= cutOld, fed)
		heldDocs = append(heldDocs, docsFrom(docs, cutNew)...)
		unseenDocs = append(unseenDocs, docsFrom(docs, max(cutNew, fed))...)
	}
	held, unseen := strings.Join(heldDocs, ""), strings.Join(unseenDocs, "")

	// Tokens per character, before and after the extension.
	var alpacaHeld []string
	if recs, err := readSFTRecords(b.rel(b.r.SFT.Sources[0].Path), nil); err == nil {
		for _, r := range recs[len(recs)-b.r.SFT.Sources[0].Val:] {
			var a struct{ Instruction, Input, Output string }
			json.Unmarshal(r, &a)
			alpacaHeld = append(alpacaHeld, a.Instruction+a.Input+a.Output)
		}
	} else {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		text string
	}{{"held-out 2-pretrain-zh", held}, {"held-out 2-pretrain-zh beyond the extension's training text", unseen}, {"held-out alpaca_zh (instruction+input+output)", strings.Join(alpacaHeld, "\n")}} {
		chars := utf8.RuneCountInString(c.text)
		o, n := len(oldTok.Encode(c.text, tokenizer.EncodeOptions{})), len(newTok.Encode(c.text, tokenizer.EncodeOptions{}))
		t.Logf("%s: %d characters: base vocabulary %d tokens (%.3f/char), extended %d (%.3f/char), %.2fx fewer", c.name, chars, o, float64(o)/float64(chars), n, float64(n)/float64(chars), float64(o)/float64(n))
	}

	// Held-out pretraining loss, per token in each model's own vocabulary
	// and in bits per byte of text (comparable across vocabularies); the
	// resized model also with every new row the mean of all rows, the
	// other start resize-vocab offers.
	meanInit := filepath.Join(t.TempDir(), "init-mean.gguf")
	var report strings.Builder
	if err := resizeVocab(&report, base, filepath.Join(work, "tokenizer.gguf"), meanInit, "f32", "mean"); err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct{ name, path string }{
		{"base (default-base)", base},
		{"resized, before training (init.gguf, new rows the mean of their spelling's)", filepath.Join(work, "init.gguf")},
		{"resized with --init mean instead (new rows the mean of all rows)", meanInit},
		{"after continued pretraining (train/model.gguf)", filepath.Join(work, "train", modelName)},
		{"after SFT (the export)", exported},
	} {
		r := heldOutLoss(t, m.path, heldDocs)
		t.Logf("held-out Chinese text, %s: %.4f nats/token over %d tokens, %.4f bits/byte over %d bytes", m.name, r.Loss, r.Tokens, r.BitsPerByte, r.Bytes)
	}

	// Held-out assistant-token loss on the alpaca_zh records the SFT never
	// saw, on the conversations that fit in 256 tokens in both vocabularies.
	if _, err := b.sftData(); err != nil {
		t.Fatal(err)
	}
	convs, err := train.ReadConversations(b.sftFile(b.r.SFT.Sources[0], "val"))
	if err != nil {
		t.Fatal(err)
	}
	tmpl, err := chat.Builtin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	var fit []train.Conversation
	for _, c := range convs {
		a, err1 := (&train.Encoder{Template: tmpl, Tok: oldTok}).Encode(c)
		x, err2 := (&train.Encoder{Template: tmpl, Tok: newTok}).Encode(c)
		if err1 == nil && err2 == nil && len(a.Tokens) <= 256 && len(x.Tokens) <= 256 {
			fit = append(fit, c)
		}
	}
	for _, m := range []struct{ name, path string }{
		{"base (default-base)", base},
		{"the default chat model (models/default.gguf, SFT on the same alpaca_zh training records and more)", filepath.Join("..", "..", "models", "default.gguf")},
		{"before SFT (continued pretraining, base.gguf)", filepath.Join(work, "base.gguf")},
		{"after SFT, F32 (sft/model.gguf)", filepath.Join(work, "sft", modelName)},
		{"after SFT, the export", exported},
	} {
		nats, toks, bytes := assistantLoss(t, m.path, tmpl, fit)
		t.Logf("held-out alpaca_zh (%d of %d conversations), %s: %.4f nats/assistant token over %d tokens, %.4f bits/byte over %d bytes",
			len(fit), len(convs), m.name, nats/float64(toks), toks, nats/math.Ln2/float64(bytes), bytes)
	}

	if os.Getenv(zhMeasureEnv+"_GEN") == "0" {
		return
	}
	limit := 256
	if s := os.Getenv(zhMeasureEnv + "_N"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil || limit < -1 || limit == 0 {
			t.Fatalf("%s_N %q: want a token limit ≥ 1, or -1", zhMeasureEnv, s)
		}
	}
	seed := "1"
	if s := os.Getenv(zhMeasureEnv + "_SEED"); s != "" {
		if _, err := strconv.ParseInt(s, 10, 64); err != nil {
			t.Fatalf("%s_SEED %q: want an integer", zhMeasureEnv, s)
		}
		seed = s
	}
	genModels := []struct{ name, path string }{
		{"after SFT (the export)", exported},
		{"before SFT (base.gguf)", filepath.Join(work, "base.gguf")},
	}
	if s := os.Getenv(zhMeasureEnv + "_GEN_MODELS"); s != "" {
		genModels = genModels[:0]
		for _, p := range strings.Split(s, ",") {
			genModels = append(genModels, struct{ name, path string }{p, p})
		}
	}
	for _, m := range genModels {
		ctx, err := modelContext(m.path)
		if err != nil {
			t.Fatal(err)
		}
		mTok, err := tokenizer.Load(m.path)
		if err != nil {
			t.Fatal(err)
		}
		imEnd, ok := mTok.TokenID("<|im_end|>")
		if !ok {
			t.Fatalf("%s: no <|im_end|>", m.path)
		}
		for _, temp := range []string{"0", "0.8"} {
			ended, ended128, ended256, other, dropped, tooLong := 0, 0, 0, 0, 0, 0
			for _, c := range convs {
				msgs := c.Messages
				for len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant" {
					msgs = msgs[:len(msgs)-1]
				}
				// As `gptgo chat` would: the oldest turns dropped when the
				// prompt leaves the answer less than its room (chat.go).
				count := func(ms []chat.Message) (int, error) {
					text, err := tmpl.Render(ms, chat.Options{AddGenerationPrompt: true})
					return len(mTok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})), err
				}
				drop, err := generate.FitTurns(msgs, count, generate.PromptBudget(ctx, limit))
				if err != nil {
					tooLong++
					continue
				}
				if drop > 0 {
					msgs = generate.DropTurns(msgs, drop)
					dropped++
				}
				prompt, err := tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true})
				if err != nil {
					t.Fatal(err)
				}
				stdout, stderr, code := runCLI(t, "", "run", m.path, prompt, "-n", strconv.Itoa(limit), "--temp", temp, "--seed", seed, "--json")
				if code != 0 {
					t.Fatalf("run %s: exit %d\n%s", m.path, code, stderr)
				}
				var res struct {
					Stop string  `json:"stop"`
					IDs  []int32 `json:"ids"`
				}
				if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &res); err != nil {
					t.Fatalf("run --json: %v: %s", err, stdout)
				}
				switch {
				case res.Stop == "eog" && len(res.IDs) > 0 && res.IDs[len(res.IDs)-1] == imEnd:
					ended++
					if len(res.IDs) <= 128 { // ids end with the end-of-turn token
						ended128++
					}
					if len(res.IDs) <= 256 {
						ended256++
					}
				case res.Stop == "eog":
					other++
				}
			}
			t.Logf("held-out alpaca_zh prompts, %s (context %d), temperature %s, seed %s, limit %d: %d/%d answers end with <|im_end|> (%.1f%%), %d within 256 tokens (%.1f%%), %d within 128; %d at another end token; prompts with turns dropped: %d, too long: %d",
				m.name, ctx, temp, seed, limit, ended, len(convs), 100*float64(ended)/float64(len(convs)), ended256, 100*float64(ended256)/float64(len(convs)), ended128, other, dropped, tooLong)
		}
	}
}

// tailOffset is the byte offset in the concatenated documents where the
// last share of their tokens (each document ended by EOS, as the bake
// tokenizes them) starts, and the documents' total bytes.
func tailOffset(tok *tokenizer.Tokenizer, docs []string, share float64) (cut, total int) {
	var toks []int32
	for _, d := range docs {
		toks = append(toks, tok.Encode(d, tokenizer.EncodeOptions{})...)
		toks = append(toks, tok.EOS())
		total += len(d)
	}
	n := len(toks) - int(float64(len(toks))*share)
	for _, id := range toks[:n] {
		if !tok.IsControl(id) {
			cut += len(tok.TokenBytes(id))
		}
	}
	return cut, total
}

// docsFrom is the documents from byte offset cut of their concatenation
// on (the first one cut), each a document of its own; a cut inside a
// character starts at the next whole one.
func docsFrom(docs []string, cut int) []string {
	var out []string
	for _, d := range docs {
		if cut >= len(d) {
			cut -= len(d)
			continue
		}
		if cut > 0 {
			d = d[cut:]
			for len(d) > 0 && !utf8.RuneStart(d[0]) {
				d = d[1:]
			}
			cut = 0
		}
		out = append(out, d)
	}
	return out
}

// heldOutLoss scores the documents (each followed by EOS, in windows of
// 256 tokens, every position after a window's first) with the model at
// path in its own vocabulary.
func heldOutLoss(t *testing.T, path string, docs []string) *eval.PPLResult {
	t.Helper()
	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Ctx: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	var toks []int32
	for _, d := range docs {
		toks = append(toks, tok.Encode(d, tokenizer.EncodeOptions{})...)
		toks = append(toks, tok.EOS())
	}
	r, err := eval.Perplexity(context.Background(), st, toks, eval.PPLOptions{Mode: eval.PPLAll, Ctx: 256, TokenBytes: func(id int32) int {
		if tok.IsControl(id) {
			return 0
		}
		return len(tok.TokenBytes(id))
	}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// assistantLoss sums the negative log-likelihood of the assistant's
// tokens (end-of-turn included) of each conversation, rendered through
// tmpl and tokenized in the vocabulary of the model at path, each from an
// empty cache; it returns the sum, the tokens and their bytes of text.
func assistantLoss(t *testing.T, path string, tmpl *chat.Template, convs []train.Conversation) (nats float64, toks, bytes int) {
	t.Helper()
	m, err := model.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	tok, err := tokenizer.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	st, err := m.NewState(model.Options{Ctx: 256, Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	enc := &train.Encoder{Template: tmpl, Tok: tok}
	for _, c := range convs {
		x, err := enc.Encode(c)
		if err != nil {
			t.Fatal(err)
		}
		st.Reset()
		err = st.ForwardAll(x.Tokens[:len(x.Tokens)-1], func(i int, logits []float32) error {
			if next := x.Tokens[i+1]; x.Train[i+1] {
				nats -= eval.LogSoftmax(logits, next)
				toks++
				if !tok.IsControl(next) {
					bytes += len(tok.TokenBytes(next))
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(fmt.Errorf("%s: %w", path, err))
		}
	}
	return nats, toks, bytes
}
