// Reference: Lester et al. 2021 (prompt tuning against model tuning); the instruction-tuning issue's held-out
// assistant-token loss and end-of-turn rate (train_sft_measure_test.go measures full SFT the same way).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// promptMeasureEnv turns TestPromptTuningHeldOut on: it trains for
// minutes, so it is a measurement to run by hand:
//
//	GPTGO_PT_MEASURE=1 go test ./cmd/gptgo -run TestPromptTuningHeldOut -v -timeout 60m
//
// GPTGO_PT_MEASURE_STEPS sets the steps (default 150), _LR the peak
// learning rate (default 3e-2).
const promptMeasureEnv = "GPTGO_PT_MEASURE"

// TestPromptTuningHeldOut prompt-tunes the embedded base model (20
// virtual tokens, ChatML) on the Alpaca demo set less its last 100
// records, and reports on those 100: the held-out loss on the assistant's
// tokens before and after, how many greedy answers of at most 128 tokens
// end their turn, and the values trained beside LoRA's (r 16, all seven
// matrices) on the same model.
func TestPromptTuningHeldOut(t *testing.T) {
	if os.Getenv(promptMeasureEnv) != "1" {
		t.Skipf("skipping: a measurement of minutes; run with %s=1", promptMeasureEnv)
	}
	dir, write, held, trainFile, heldFile, nTrain := alpacaHeldOut(t)
	var err error
	steps, lr := 150, 3e-2
	if s := os.Getenv(promptMeasureEnv + "_STEPS"); s != "" {
		if steps, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	if s := os.Getenv(promptMeasureEnv + "_LR"); s != "" {
		if lr, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	const P = 20
	config := func(name string, steps int, lr, minLR float64, P int) string {
		return write(name, map[string]any{
			"data":          map[string]any{"val": []string{heldFile}, "template": "chatml"},
			"model":         map[string]any{"base": "default-base"},
			"optim":         map[string]any{"lr": lr, "min_lr": minLR, "warmup": 10},
			"run":           map[string]any{"steps": steps, "batch": 8, "seq": 256, "threads": 2, "eval_every": steps, "checkpoint_every": steps},
			"prompt_tuning": map[string]any{"virtual_tokens": P},
		})
	}
	// Before: the base model alone, and with the prompt as initialised
	// (sampled vocabulary), each evaluated after one step at a learning
	// rate that moves nothing measurably.
	noneOut, baseOut := filepath.Join(dir, "none"), filepath.Join(dir, "base")
	if _, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("none.json", 1, 1e-12, 0, 0), "--out", noneOut); code != 0 {
		t.Fatalf("base evaluation: exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("base.json", 1, 1e-12, 0, P), "--out", baseOut); code != 0 {
		t.Fatalf("initial prompt evaluation: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "pt")
	summary, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("pt.json", steps, lr, lr/10, P), "--out", out)
	if code != 0 {
		t.Fatalf("prompt tuning: exit %d\n%s", code, stderr)
	}
	noneLog, baseLog, ptLog := readLog(t, noneOut), readLog(t, baseOut), readLog(t, out)
	tmpl, _ := chat.Builtin("chatml")
	rate := func(adapter string) (ended int) {
		for _, r := range held {
			q := r["instruction"]
			if r["input"] != "" {
				q += "\n" + r["input"]
			}
			prompt, err := tmpl.Render([]chat.Message{{Role: "user", Content: q}}, chat.Options{AddGenerationPrompt: true})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"run", "default-base", prompt, "-n", "128", "--temp", "0", "--json"}
			if adapter != "" {
				args = append(args, "--lora", adapter)
			}
			stdout, stderr, code := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("run %v: exit %d\n%s", args, code, stderr)
			}
			var res struct{ Stop string }
			if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &res); err != nil {
				t.Fatalf("run --json: %v: %s", err, stdout)
			}
			if res.Stop == "eog" {
				ended++
			}
		}
		return ended
	}
	after := rate(filepath.Join(out, adapterName))
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	lm, err := model.LoRATrainableFromGGUF(f, model.LoRAOptions{Rank: 16, Alpha: 32})
	if err != nil {
		t.Fatal(err)
	}
	loraValues := 0
	for _, p := range lm.Params() {
		loraValues += len(p.Data)
	}
	t.Logf("default-base, %d virtual tokens, %d steps of 8×256 at peak LR %g on %d Alpaca records (%s): held-out (100 records) assistant-token loss: base model %.3f, with the initial prompt %.3f, after prompt tuning %.3f; "+
		"greedy answers ending with <|im_end|> within 128 tokens after prompt tuning: %d/100; trained values %d (LoRA r 16 on all 7 matrices: %d)",
		P, steps, lr, nTrain, strings.TrimSpace(summary), *noneLog[0].ValLoss, *baseLog[0].ValLoss, *ptLog[len(ptLog)-1].ValLoss, after, P*lm.Embd, loraValues)
}
