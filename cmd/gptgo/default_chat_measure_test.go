// Reference: issue 18's "Done when" for the chat-tuned default model (answers that end with the end-of-turn
// token within the token limit, on prompts held out from training, beside the base model's rate).

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

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
// GPTGO_CHAT_MEASURE_MODELS lists the models to ask (--model values,
// comma-separated; default "default,default-base"), GPTGO_CHAT_MEASURE_N
// the token limit (default 256), GPTGO_CHAT_MEASURE_TEMP the temperature
// (default 0, greedy; otherwise sampled with --seed 1, as `gptgo chat`
// samples at 0.8 by default).
const chatMeasureEnv = "GPTGO_CHAT_MEASURE"

// TestDefaultChatEndOfTurn asks the held-out prompts of
// recipes/default-chat.json (each source's last records, which the
// fine-tuning never saw; the split is the bake's own) greedily through
// ChatML, and counts per source the answers that end with the end-of-turn
// token within the limit, and within 128 tokens.
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
	limit := 256
	if s := os.Getenv(chatMeasureEnv + "_N"); s != "" {
		if limit, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	temp := os.Getenv(chatMeasureEnv + "_TEMP")
	if temp == "" {
		temp = "0"
	}
	modelNames := []string{"default", "default-base"}
	if s := os.Getenv(chatMeasureEnv + "_MODELS"); s != "" {
		modelNames = strings.Split(s, ",")
	}
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
	// ended counts answers whose last token is <|im_end|>; otherEOG those
	// that stopped at another end-of-generation token (<|endoftext|>).
	// tooLong counts prompts longer than the model's context (not ended).
	type tally struct{ n, ended, ended128, otherEOG, tooLong int }
	for _, name := range modelNames {
		var all tally
		var rows []string
		for _, s := range b.r.SFT.Sources {
			if s.Val == 0 {
				continue
			}
			convs, err := train.ReadConversations(b.sftFile(s, "val"))
			if err != nil {
				t.Fatal(err)
			}
			var c tally
			for _, conv := range convs {
				msgs := conv.Messages
				for len(msgs) > 0 && msgs[len(msgs)-1].Role == "assistant" {
					msgs = msgs[:len(msgs)-1] // ask for the last answer, after the turns before it
				}
				prompt, err := tmpl.Render(msgs, chat.Options{AddGenerationPrompt: true})
				if err != nil {
					t.Fatal(err)
				}
				stdout, stderr, code := runCLI(t, "", "run", "--model", name, prompt, "-n", strconv.Itoa(limit), "--temp", temp, "--seed", "1", "--json")
				if code != 0 && strings.Contains(stderr, "prompt too long") { // the base's context is 256
					c.n++
					c.tooLong++
					continue
				}
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
				c.n++
				switch {
				case res.Stop == "eog" && len(res.IDs) > 0 && res.IDs[len(res.IDs)-1] == imEnd:
					c.ended++
					if len(res.IDs) <= 128 { // ids end with the end-of-turn token
						c.ended128++
					}
				case res.Stop == "eog":
					c.otherEOG++
				}
			}
			rows = append(rows, fmt.Sprintf("%s %d/%d (%d within 128, %d at another end token, %d prompts too long)", s.Name, c.ended, c.n, c.ended128, c.otherEOG, c.tooLong))
			all.n, all.ended, all.ended128, all.otherEOG, all.tooLong = all.n+c.n, all.ended+c.ended, all.ended128+c.ended128, all.otherEOG+c.otherEOG, all.tooLong+c.tooLong
		}
		t.Logf("%s, temperature %s: answers ending with <|im_end|> within %d tokens: %d/%d (%.1f%%), within 128: %d/%d, at another end token: %d, prompts too long: %d; %s",
			name, temp, limit, all.ended, all.n, 100*float64(all.ended)/float64(all.n), all.ended128, all.n, all.otherEOG, all.tooLong, strings.Join(rows, ", "))
	}
}
