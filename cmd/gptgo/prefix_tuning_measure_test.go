// Reference: Li and Liang 2021 (prefix tuning against fine-tuning); the instruction-tuning issue's held-out
// assistant-token loss and end-of-turn rate, measured as TestPromptTuningHeldOut measures prompt tuning.

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

// prefixMeasureEnv turns TestPrefixTuningHeldOut on: it trains for
// minutes, so it is a measurement to run by hand:
//
//	GPTGO_PREFIX_MEASURE=1 go test ./cmd/gptgo -run TestPrefixTuningHeldOut -v -timeout 90m
//
// GPTGO_PREFIX_MEASURE_STEPS sets the steps (default 150), _LR the peak
// learning rate (default 1e-2).
const prefixMeasureEnv = "GPTGO_PREFIX_MEASURE"

// TestPrefixTuningHeldOut prefix-tunes the embedded base model (20
// virtual tokens, ChatML) on the Alpaca demo set less its last 100
// records, with the split, steps and batch of TestPromptTuningHeldOut,
// and reports on those 100: the held-out loss on the assistant's tokens
// before and after, and how many greedy answers of at most 128 tokens
// end their turn.
func TestPrefixTuningHeldOut(t *testing.T) {
	if os.Getenv(prefixMeasureEnv) != "1" {
		t.Skipf("skipping: a measurement of minutes; run with %s=1", prefixMeasureEnv)
	}
	dir, write, held, trainFile, heldFile, nTrain := alpacaHeldOut(t) // train_sft_measure_test.go
	var err error
	steps, lr := 150, 1e-2
	if s := os.Getenv(prefixMeasureEnv + "_STEPS"); s != "" {
		if steps, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	if s := os.Getenv(prefixMeasureEnv + "_LR"); s != "" {
		if lr, err = strconv.ParseFloat(s, 64); err != nil {
			t.Fatal(err)
		}
	}
	const P = 20
	config := func(name string, steps int, lr, minLR float64) string {
		return write(name, map[string]any{
			"data":          map[string]any{"val": []string{heldFile}, "template": "chatml"},
			"model":         map[string]any{"base": "default-base"},
			"optim":         map[string]any{"lr": lr, "min_lr": minLR, "warmup": 10},
			"run":           map[string]any{"steps": steps, "batch": 8, "seq": 256, "threads": 2, "eval_every": steps, "checkpoint_every": steps},
			"prefix_tuning": map[string]any{"virtual_tokens": P},
		})
	}
	// Before: the prefix as initialised (the base's own keys and values of
	// sampled tokens), evaluated after one step at a learning rate that
	// moves nothing measurably.
	baseOut := filepath.Join(dir, "base")
	if _, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("base.json", 1, 1e-12, 0), "--out", baseOut); code != 0 {
		t.Fatalf("initial prefix evaluation: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "prefix")
	summary, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("prefix.json", steps, lr, lr/10), "--out", out)
	if code != 0 {
		t.Fatalf("prefix tuning: exit %d\n%s", code, stderr)
	}
	baseLog, log := readLog(t, baseOut), readLog(t, out)
	tmpl, _ := chat.Builtin("chatml")
	ended := 0
	for _, r := range held {
		q := r["instruction"]
		if r["input"] != "" {
			q += "\n" + r["input"]
		}
		prompt, err := tmpl.Render([]chat.Message{{Role: "user", Content: q}}, chat.Options{AddGenerationPrompt: true})
		if err != nil {
			t.Fatal(err)
		}
		stdout, stderr, code := runCLI(t, "", "run", "default-base", prompt, "-n", "128", "--temp", "0", "--json", "--lora", filepath.Join(out, adapterName))
		if code != 0 {
			t.Fatalf("run --lora: exit %d\n%s", code, stderr)
		}
		var res struct{ Stop string }
		if err := json.Unmarshal([]byte(strings.TrimSpace(stdout)), &res); err != nil {
			t.Fatalf("run --json: %v: %s", err, stdout)
		}
		if res.Stop == "eog" {
			ended++
		}
	}
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	c, err := model.ConfigFromGGUF(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("default-base, %d virtual tokens, %d steps of 8×256 at peak LR %g on %d Alpaca records (%s): held-out (100 records) assistant-token loss: with the initial prefix %.3f, after prefix tuning %.3f; "+
		"greedy answers ending with <|im_end|> within 128 tokens after prefix tuning: %d/100; trained values %d",
		P, steps, lr, nTrain, strings.TrimSpace(summary), *baseLog[0].ValLoss, *log[len(log)-1].ValLoss, ended, 2*c.Layers*P*c.KVDim())
}
