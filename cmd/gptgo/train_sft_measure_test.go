// Reference: the instruction-tuning issue's behaviour target (after SFT the default model ends its answer with
// the end-of-turn token within the token limit, on prompts held out from training; the base model's rate beside
// it; held-out assistant-token loss below the base model's).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// measureEnv turns TestSFTEndOfTurnRate on: it trains for minutes, so it is
// a measurement to run by hand, not part of the test suite:
//
//	GPTGO_SFT_MEASURE=1 go test ./cmd/gptgo -run TestSFTEndOfTurnRate -v -timeout 60m
//
// GPTGO_SFT_MEASURE_STEPS sets the number of steps (default 150).
const measureEnv = "GPTGO_SFT_MEASURE"

// TestSFTEndOfTurnRate fine-tunes the embedded default model on the
// Alpaca demo set minus its last 100 records, and measures on those 100
// held-out instructions, before and after: how often a greedy answer of
// at most 128 tokens ends with the end-of-turn token, and the held-out
// loss on the assistant's tokens.
func TestSFTEndOfTurnRate(t *testing.T) {
	if os.Getenv(measureEnv) != "1" {
		t.Skipf("skipping: a measurement of minutes; run with %s=1", measureEnv)
	}
	dir, write, held, trainFile, heldFile, nTrain := alpacaHeldOut(t)
	var err error
	steps := 150
	if s := os.Getenv(measureEnv + "_STEPS"); s != "" {
		if steps, err = strconv.Atoi(s); err != nil {
			t.Fatal(err)
		}
	}
	config := func(name string, steps int, lr, minLR float64) string {
		return write(name, map[string]any{
			"data":  map[string]any{"val": []string{heldFile}},
			"optim": map[string]any{"lr": lr, "min_lr": minLR, "warmup": 10},
			"run":   map[string]any{"steps": steps, "batch": 8, "seq": 256, "threads": 2, "eval_every": steps, "checkpoint_every": steps},
		})
	}
	// The base model's held-out loss: one step at a learning rate that
	// moves no weight measurably, evaluated after it.
	baseOut := filepath.Join(dir, "base")
	if _, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("base.json", 1, 1e-12, 0), "--out", baseOut); code != 0 {
		t.Fatalf("base evaluation: exit %d\n%s", code, stderr)
	}
	out := filepath.Join(dir, "sft")
	summary, stderr, code := runCLI(t, "", "train", "sft", trainFile, "--config", config("sft.json", steps, 1e-3, 1e-4), "--out", out)
	if code != 0 {
		t.Fatalf("sft: exit %d\n%s", code, stderr)
	}
	baseLog, sftLog := readLog(t, baseOut), readLog(t, out)
	tmpl, _ := chat.Builtin("chatml")
	rate := func(model string) (ended int) {
		for _, r := range held {
			q := r["instruction"]
			if r["input"] != "" {
				q += "\n" + r["input"]
			}
			prompt, err := tmpl.Render([]chat.Message{{Role: "user", Content: q}}, chat.Options{AddGenerationPrompt: true})
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"run", prompt, "-n", "128", "--temp", "0", "--json"}
			if model != "" {
				args = append([]string{"run", model}, args[1:]...)
			}
			stdout, stderr, code := runCLI(t, "", args...)
			if code != 0 {
				t.Fatalf("run %s: exit %d\n%s", model, code, stderr)
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
	before, after := rate(""), rate(filepath.Join(out, modelName))
	t.Logf("default model, %d SFT steps of 8×256 on %d Alpaca records (%s): held-out (100 records) assistant-token loss %.3f → %.3f; "+
		"greedy answers ending with <|im_end|> within 128 tokens: base %d/100, after SFT %d/100",
		steps, nTrain, strings.TrimSpace(summary), *baseLog[0].ValLoss, *sftLog[len(sftLog)-1].ValLoss, before, after)
}

// alpacaHeldOut splits ../shared's Alpaca demo set for the measurements:
// the last 100 records held out. It returns a temporary directory, a
// writer of JSON files into it, the held-out records, the paths of the
// training and held-out files, and the number of training records.
func alpacaHeldOut(t *testing.T) (dir string, write func(name string, v any) string, held []map[string]string, trainFile, heldFile string, nTrain int) {
	t.Helper()
	src := testkit.Shared(t, "data", "3-sft", "alpaca_en_demo.json")
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]string
	if err := json.Unmarshal(b, &recs); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	write = func(name string, v any) string {
		p := filepath.Join(dir, name)
		b, _ := json.Marshal(v)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	held = recs[len(recs)-100:]
	return dir, write, held, write("train.json", recs[:len(recs)-100]), write("held.json", held), len(recs) - 100
}
