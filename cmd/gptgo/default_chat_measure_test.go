// Reference: issue 18's "Done when" for the chat-tuned default model (answers that end with the end-of-turn
// token within the token limit, on prompts held out from training, beside the base model's rate); chat.go's
// answer (generate.FitTurns and PromptBudget: the room `gptgo chat` leaves an answer).

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/generate"
	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

// chatMeasureEnv turns TestDefaultChatEndOfTurn on: it generates for
// minutes, so it is a measurement to run by hand, not part of the suite:
//
//	GPTGO_CHAT_MEASURE=1 go test ./cmd/gptgo -run TestDefaultChatEndOfTurn -v -timeout 60m
//
// GPTGO_CHAT_MEASURE_MODELS lists the models to ask (--model values: the
// embedded names or .gguf paths, comma-separated; default
// "default,default-base"); GPTGO_CHAT_MEASURE_TEMP the temperatures
// (comma-separated; default "0.8,0": `gptgo chat`'s default sampling, then
// greedy); GPTGO_CHAT_MEASURE_SEED the sampling seed (default 1);
// GPTGO_CHAT_MEASURE_N a token limit (default -1: what `gptgo chat` does,
// until the end of the turn or a full context).
const chatMeasureEnv = "GPTGO_CHAT_MEASURE"

// chatMeasureSetting reads GPTGO_CHAT_MEASURE_<name>, or def.
func chatMeasureSetting(name, def string) string {
	if s := os.Getenv(chatMeasureEnv + "_" + name); s != "" {
		return s
	}
	return def
}

// modelContext is the context length of a --model value.
func modelContext(name string) (int, error) {
	open, ok := models.Lookup(name)
	if !ok {
		open = func() (*gguf.File, error) { return gguf.Open(name) }
	}
	f, err := open()
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n, ok := f.Uint(f.Arch() + ".context_length")
	if !ok {
		return 0, fmt.Errorf("%s: no context length", name)
	}
	return int(n), nil
}

// TestDefaultChatEndOfTurn asks the held-out prompts of
// recipes/default-chat.json (each source's last records, which the
// fine-tuning never saw; the split is the bake's own) as `gptgo chat`
// would: through ChatML, the oldest turns dropped when the conversation
// leaves the answer less than a quarter of the context, the answer
// sampled with chat's settings (run's defaults: temperature 0.8, top-k
// 40, top-p 0.95, min-p 0.05, no repeat penalty) until the end of the turn
// or a full context. It counts per source the answers that end with the
// end-of-turn token, and those that did so within 128 and within 256
// tokens (a sampled answer is the same token for token whatever the
// limit, so these are the rates under those limits). The reference
// answers' lengths are counted beside: a limit below them asks the model
// to stop before the data it learnt from does.
func TestDefaultChatEndOfTurn(t *testing.T) {
	if os.Getenv(chatMeasureEnv) != "1" {
		t.Skipf("skipping: a measurement of minutes; run with %s=1", chatMeasureEnv)
	}
	testkit.Shared(t, "data", "3-sft", "alpaca_en_demo.json")
	b, err := loadRecipe(filepath.Join("..", "..", "recipes", "default-chat.json"))
	if err != nil {
		t.Fatal(err)
	}
	b.work, b.e = t.TempDir(), &env{stderr: os.Stderr}
	if _, err := b.sftData(); err != nil {
		t.Fatal(err)
	}
	limit := chatMeasureSetting("N", "-1")
	if _, err := strconv.Atoi(limit); err != nil {
		t.Fatal(err)
	}
	seed := chatMeasureSetting("SEED", "1")
	temps := strings.Split(chatMeasureSetting("TEMP", "0.8,0"), ",")
	modelNames := strings.Split(chatMeasureSetting("MODELS", "default,default-base"), ",")
	tmpl, err := chat.Builtin("chatml")
	if err != nil {
		t.Fatal(err)
	}
	f, err := models.OpenBase() // the two models share the vocabulary
	if err != nil {
		t.Fatal(err)
	}
	tok, err := tokenizer.FromGGUF(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	imEnd, ok := tok.TokenID("<|im_end|>")
	if !ok {
		t.Fatal("no <|im_end|> in the default vocabulary")
	}
	render := func(msgs []chat.Message) (string, int, error) {
		text, err := tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true})
		if err != nil {
			return "", 0, err
		}
		return text, len(tok.Encode(text, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})), nil
	}
	enc := &train.Encoder{Template: tmpl, Tok: tok}
	type heldOut struct {
		source string
		msgs   []chat.Message // the turns before the last answer
		ref    int            // the reference answer's tokens, <|im_end|> included
	}
	var prompts []heldOut
	refOver256 := map[string]int{}
	for _, s := range b.r.SFT.Sources {
		if s.Val == 0 {
			continue
		}
		convs, err := train.ReadConversations(b.sftFile(s, "val"))
		if err != nil {
			t.Fatal(err)
		}
		for _, conv := range convs {
			x, err := enc.Encode(conv)
			if err != nil {
				t.Fatal(err)
			}
			last := x.Spans[len(x.Spans)-1]
			msgs := conv.Messages
			for len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant" {
				msgs = msgs[:len(msgs)-1] // ask for the last answer, after the turns before it
			}
			prompts = append(prompts, heldOut{s.Name, msgs, last[1] - last[0]})
			if last[1]-last[0] > 256 {
				refOver256[s.Name]++
			}
		}
	}
	t.Logf("%d held-out prompts; reference answers longer than 256 tokens: %v", len(prompts), refOver256)

	// ended counts answers whose last token is <|im_end|>; otherEOG those
	// that stopped at another end-of-generation token (<|endoftext|>);
	// dropped the prompts that lost their oldest turns to fit; tooLong
	// those whose last message alone does not fit (not ended).
	type tally struct{ n, ended, ended128, ended256, otherEOG, dropped, tooLong int }
	for _, name := range modelNames {
		ctx, err := modelContext(name)
		if err != nil {
			t.Fatal(err)
		}
		for _, temp := range temps {
			var all tally
			per := map[string]*tally{}
			var order []string
			for _, p := range prompts {
				c := per[p.source]
				if c == nil {
					c = &tally{}
					per[p.source] = c
					order = append(order, p.source)
				}
				c.n++
				count := func(m []chat.Message) (int, error) { _, n, err := render(m); return n, err }
				drop, err := generate.FitTurns(p.msgs, count, generate.PromptBudget(ctx, -1))
				if err != nil {
					c.tooLong++
					continue
				}
				msgs := p.msgs
				if drop > 0 {
					msgs = generate.DropTurns(msgs, drop)
					c.dropped++
				}
				prompt, _, err := render(msgs)
				if err != nil {
					t.Fatal(err)
				}
				stdout, stderr, code := runCLI(t, "", "run", "--model", name, prompt, "-n", limit, "--temp", temp, "--seed", seed, "--json")
				if code != 0 {
					t.Fatalf("run --model %s: exit %d\n%s", name, code, stderr)
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
					c.ended++
					if len(res.IDs) <= 128 { // ids end with the end-of-turn token
						c.ended128++
					}
					if len(res.IDs) <= 256 {
						c.ended256++
					}
				case res.Stop == "eog":
					c.otherEOG++
				}
			}
			var rows []string
			for _, s := range order {
				c := per[s]
				rows = append(rows, fmt.Sprintf("%s %d/%d (within 128: %d, within 256: %d; another end token: %d; turns dropped: %d, too long: %d)",
					s, c.ended, c.n, c.ended128, c.ended256, c.otherEOG, c.dropped, c.tooLong))
				all.n, all.ended, all.ended128, all.ended256 = all.n+c.n, all.ended+c.ended, all.ended128+c.ended128, all.ended256+c.ended256
				all.otherEOG, all.dropped, all.tooLong = all.otherEOG+c.otherEOG, all.dropped+c.dropped, all.tooLong+c.tooLong
			}
			pc := func(k int) string { return fmt.Sprintf("%d/%d (%.1f%%)", k, all.n, 100*float64(k)/float64(all.n)) }
			t.Logf("%s (context %d), temperature %s, seed %s, limit %s: answers ending with <|im_end|>: %s; within 256 tokens: %s; within 128: %s; at another end token: %d; prompts with turns dropped: %d, too long: %d; %s",
				name, ctx, temp, seed, limit, pc(all.ended), pc(all.ended256), pc(all.ended128), all.otherEOG, all.dropped, all.tooLong, strings.Join(rows, "; "))
		}
	}
}
