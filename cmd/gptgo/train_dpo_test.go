// Reference: issue #25 (gptgo train dpo: logs of rewards, margins and accuracy; resumable like pretraining).

package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// prefFile writes ShareGPT preference pairs: a polite answer chosen over a rude one.
func prefFile(t *testing.T) string {
	t.Helper()
	var recs []map[string]any
	for i := range 12 {
		recs = append(recs, map[string]any{
			"conversations": []map[string]string{{"from": "human", "value": fmt.Sprintf("Question %d?", i)}},
			"chosen":        map[string]string{"from": "gpt", "value": fmt.Sprintf("Thank you, the answer is %d.", i)},
			"rejected":      map[string]string{"from": "gpt", "value": "No."},
		})
	}
	b, _ := json.Marshal(recs)
	p := filepath.Join(t.TempDir(), "pairs.json")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainDPO aligns a tiny model for a few steps, stopped and resumed:
// the logs say what the issue asks, and the resumed run's model equals an
// uninterrupted run's byte for byte.
func TestTrainDPO(t *testing.T) {
	base, data := tinyBase(t), prefFile(t)
	args := func(out, steps string) []string {
		return []string{"train", "dpo", data, "--model", base, "--out", out, "--steps", steps, "--batch", "2", "--seq", "48",
			"--val-fraction", "0.25", "--threads", "2", "--lr", "1e-3", "--beta", "0.5", "--template", "chatml"}
	}
	whole := t.TempDir()
	stdout, stderr, code := runCLI(t, "", args(whole, "4")...)
	if code != 0 {
		t.Fatalf("train dpo: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"12 pairs → 12 kept", "9 training and 3 validation pairs", "sigmoid loss, β 0.5, reference precomputed once",
		"step 4: held-out pairs: reward chosen", "accuracy"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "model.gguf") || !strings.Contains(stdout, "held-out reward margin") {
		t.Errorf("stdout: %s", stdout)
	}
	b, err := os.ReadFile(filepath.Join(whole, dpoName))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	var last dpoLogEntry
	if len(lines) != 4 || json.Unmarshal([]byte(lines[3]), &last) != nil || last.Val == nil || last.Val.Pairs != 3 || last.Train.Pairs != 2 {
		t.Fatalf("dpo.jsonl:\n%s", b)
	}
	for _, f := range []string{"loss.svg", "log.jsonl", "model.gguf"} {
		if _, err := os.Stat(filepath.Join(whole, f)); err != nil {
			t.Error(err)
		}
	}

	// Stopped after 2 steps, then resumed to 4 with the run's own settings
	// (the warmup's 10 steps cover the run: both learning-rate schedules agree).
	half := t.TempDir()
	if _, stderr, code := runCLI(t, "", args(half, "2")...); code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if _, stderr, code := runCLI(t, "", "train", "dpo", "--out", half, "--resume", "--steps", "4"); code != 0 {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	w, err1 := os.ReadFile(filepath.Join(whole, "model.gguf"))
	h, err2 := os.ReadFile(filepath.Join(half, "model.gguf"))
	if err1 != nil || err2 != nil || string(w) != string(h) {
		t.Errorf("the resumed run's model differs from the uninterrupted run's (%v %v)", err1, err2)
	}
	if b, _ := os.ReadFile(filepath.Join(half, dpoName)); strings.Count(string(b), "\n") != 4 {
		t.Errorf("resumed dpo.jsonl:\n%s", b)
	}
}

func TestTrainDPOErrors(t *testing.T) {
	data := prefFile(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--beta", "0"}, "--beta"},
		{[]string{"--loss", "hinge"}, "--loss"},
		{[]string{"--reference", "none"}, "--reference"},
		{[]string{"--label-smoothing", "0.2", "--loss", "ipo"}, "label smoothing"},
	} {
		_, stderr, code := runCLI(t, "", append([]string{"train", "dpo", data, "--out", t.TempDir()}, c.args...)...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, %s", c.args, code, stderr)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.jsonl")
	os.WriteFile(bad, []byte(`{"text": "x"}`+"\n"), 0o644)
	if _, stderr, code := runCLI(t, "", "train", "dpo", bad, "--model", tinyBase(t), "--seq", "48", "--out", t.TempDir()); code == 0 || !strings.Contains(stderr, "bad.jsonl:1") {
		t.Errorf("bad data: exit %d, %s", code, stderr)
	}
}

// TestTrainDPOLoRA: with --lora the policy is adapters over the frozen
// base, which is the reference; the run writes OUT/adapter.gguf. The
// two-model reference gives the same first-step loss as the precomputed one.
func TestTrainDPOLoRA(t *testing.T) {
	base, data := tinyBase(t), prefFile(t)
	loss := map[string]string{}
	for _, ref := range []string{"precomputed", "model"} {
		out := t.TempDir()
		_, stderr, code := runCLI(t, "", "train", "dpo", data, "--model", base, "--out", out, "--steps", "2", "--batch", "2", "--seq", "48",
			"--threads", "2", "--lr", "1e-3", "--template", "chatml", "--lora", "--lora-rank", "4", "--reference", ref)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s", ref, code, stderr)
		}
		if _, err := os.Stat(filepath.Join(out, "adapter.gguf")); err != nil {
			t.Error(err)
		}
		b, _ := os.ReadFile(filepath.Join(out, "log.jsonl"))
		var le logEntry
		json.Unmarshal([]byte(strings.SplitN(string(b), "\n", 2)[0]), &le)
		loss[ref] = fmt.Sprintf("%.5f", le.Loss)
	}
	// At the first step the policy is its reference: every pair's loss is log 2.
	if loss["precomputed"] != "0.69315" || loss["model"] != loss["precomputed"] {
		t.Errorf("first-step losses %v, want log 2 = 0.69315 for both", loss)
	}
}

// TestTrainRMAndScore trains a reward model on the pairs, then scores a
// held-in chosen and rejected answer with gptgo score: the chosen scores
// higher. A plain model is not a reward model.
func TestTrainRMAndScore(t *testing.T) {
	base, data := tinyBase(t), prefFile(t)
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "", "train", "rm", data, "--model", base, "--out", out, "--steps", "20", "--batch", "4", "--seq", "48",
		"--val-fraction", "0.25", "--threads", "2", "--lr", "3e-3", "--template", "chatml")
	if code != 0 {
		t.Fatalf("train rm: exit %d\n%s", code, stderr)
	}
	for _, want := range []string{"pairwise loss, margin 0; the length-only baseline ranks 1.000", "step 20: held-out pairs: score chosen"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if !strings.Contains(stdout, "length-only baseline 1.000") || strings.Contains(stderr, "sample at step") {
		t.Errorf("stdout: %s\nstderr: %s", stdout, stderr)
	}
	if _, err := os.Stat(filepath.Join(out, "rm.jsonl")); err != nil {
		t.Error(err)
	}
	rm := filepath.Join(out, "model.gguf")
	score := func(answer string) float64 {
		stdout, stderr, code := runCLI(t, "", "score", rm, "Question 3?", answer, "--json")
		var v struct{ Score float64 }
		if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil {
			t.Fatalf("score: exit %d %s %s", code, stdout, stderr)
		}
		return v.Score
	}
	if c, r := score("Thank you, the answer is 3."), score("No."); !(c > r) {
		t.Errorf("chosen scores %v, rejected %v", c, r)
	}
	if _, stderr, code := runCLI(t, "", "score", base, "q", "a"); code == 0 || !strings.Contains(stderr, "not a reward model") {
		t.Errorf("plain model: exit %d %s", code, stderr)
	}
}

// TestTrainRMLoRA trains a reward model with LoRA: only the adapters and
// the head train; the adapters are written in llama.cpp's layout, and
// model.gguf (the base with them merged, and the head) scores the chosen
// answer above the rejected one through gptgo score.
func TestTrainRMLoRA(t *testing.T) {
	base, data := tinyBase(t), prefFile(t)
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "", "train", "rm", data, "--model", base, "--out", out, "--steps", "20", "--batch", "4", "--seq", "48",
		"--val-fraction", "0.25", "--threads", "2", "--lr", "3e-3", "--template", "chatml", "--lora", "--lora-rank", "4")
	if code != 0 {
		t.Fatalf("train rm --lora: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "held-out reward margin") {
		t.Errorf("stdout: %s", stdout)
	}
	if _, stderr, code := runCLI(t, "", "lora", "show", filepath.Join(out, "adapter.gguf"), "--base", base); code != 0 {
		t.Errorf("lora show adapter.gguf: exit %d %s", code, stderr)
	}
	rm := filepath.Join(out, "model.gguf")
	score := func(answer string) float64 {
		stdout, stderr, code := runCLI(t, "", "score", rm, "Question 3?", answer, "--json")
		var v struct{ Score float64 }
		if code != 0 || json.Unmarshal([]byte(stdout), &v) != nil {
			t.Fatalf("score: exit %d %s %s", code, stdout, stderr)
		}
		return v.Score
	}
	if c, r := score("Thank you, the answer is 3."), score("No."); !(c > r) {
		t.Errorf("chosen scores %v, rejected %v", c, r)
	}
	if m, _ := filepath.Glob(filepath.Join(out, "*.tmp*")); len(m) > 0 {
		t.Errorf("temporary files left: %v", m)
	}
}

// TestTrainPPO trains a reward model, then runs a few PPO iterations
// against it: the logs, the plot and the model are written.
func TestTrainPPO(t *testing.T) {
	base, data := tinyBase(t), prefFile(t)
	rmDir := t.TempDir()
	if _, stderr, code := runCLI(t, "", "train", "rm", data, "--model", base, "--out", rmDir, "--steps", "5", "--batch", "4", "--seq", "48",
		"--val-fraction", "0", "--threads", "2", "--lr", "3e-3", "--template", "chatml"); code != 0 {
		t.Fatalf("train rm: exit %d\n%s", code, stderr)
	}
	prompts := filepath.Join(t.TempDir(), "prompts.txt")
	os.WriteFile(prompts, []byte("Question 1?\nQuestion 2?\n\nQuestion 3?\n"), 0o644)
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "", "train", "ppo", prompts, "--model", base, "--reward", filepath.Join(rmDir, "model.gguf"), "--out", out,
		"--iterations", "3", "--batch", "2", "--max-new", "6", "--epochs", "2", "--threads", "2", "--template", "chatml", "--lr", "1e-3")
	if code != 0 {
		t.Fatalf("train ppo: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "3 prompts; 3 iterations of 2 answers") || !strings.Contains(stdout, "3 iterations, mean reward") {
		t.Errorf("stdout %s\nstderr %s", stdout, stderr)
	}
	b, err := os.ReadFile(filepath.Join(out, "ppo.jsonl"))
	if err != nil || strings.Count(string(b), "\n") != 3 || !strings.Contains(string(b), `"clip_fraction"`) {
		t.Errorf("ppo.jsonl: %v\n%s", err, b)
	}
	for _, f := range []string{"ppo.svg", "model.gguf"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Error(err)
		}
	}
	// Resumed to 5 iterations: the log continues at 4.
	stdout, stderr, code = runCLI(t, "", "train", "ppo", prompts, "--model", base, "--reward", filepath.Join(rmDir, "model.gguf"), "--out", out,
		"--iterations", "5", "--batch", "2", "--max-new", "6", "--epochs", "2", "--threads", "2", "--template", "chatml", "--lr", "1e-3", "--resume")
	if b, _ := os.ReadFile(filepath.Join(out, "ppo.jsonl")); code != 0 || strings.Count(string(b), "\n") != 5 || !strings.Contains(stdout, "5 iterations") {
		t.Errorf("resume: exit %d %s %s\n%s", code, stdout, stderr, b)
	}
	lora := t.TempDir()
	if _, stderr, code := runCLI(t, "", "train", "ppo", prompts, "--model", base, "--reward", filepath.Join(rmDir, "model.gguf"), "--out", lora,
		"--iterations", "2", "--batch", "2", "--max-new", "4", "--epochs", "1", "--threads", "2", "--template", "chatml", "--lora", "--lora-rank", "4"); code != 0 {
		t.Fatalf("train ppo --lora: exit %d\n%s", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(lora, "adapter.gguf")); err != nil {
		t.Error(err)
	}
	if _, stderr, code := runCLI(t, "", "train", "ppo", prompts, "--model", base, "--out", t.TempDir()); code == 0 || !strings.Contains(stderr, "--reward") {
		t.Errorf("no --reward: exit %d %s", code, stderr)
	}
}

// TestTrainKTO runs gptgo train dpo --loss kto on unpaired labelled answers.
func TestTrainKTO(t *testing.T) {
	var b strings.Builder
	for i := range 12 {
		ans, label := fmt.Sprintf("Thank you, the answer is %d.", i), i%2 == 0
		if !label {
			ans = "No."
		}
		line, _ := json.Marshal(map[string]any{"messages": []map[string]string{{"role": "user", "content": fmt.Sprintf("Question %d?", i)}, {"role": "assistant", "content": ans}}, "label": label})
		b.Write(append(line, '\n'))
	}
	data := filepath.Join(t.TempDir(), "kto.jsonl")
	os.WriteFile(data, []byte(b.String()), 0o644)
	out := t.TempDir()
	stdout, stderr, code := runCLI(t, "", "train", "dpo", data, "--loss", "kto", "--model", tinyBase(t), "--out", out, "--steps", "3", "--batch", "2", "--seq", "48",
		"--val-fraction", "0.25", "--threads", "2", "--lr", "1e-3", "--template", "chatml")
	if code != 0 || !strings.Contains(stderr, "kto loss") || !strings.Contains(stdout, "model.gguf") {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	if _, stderr, code := runCLI(t, "", "train", "dpo", data, "--loss", "kto", "--reference", "model", "--model", tinyBase(t), "--out", t.TempDir(), "--seq", "48", "--steps", "1", "--template", "chatml"); code == 0 || !strings.Contains(stderr, "precomputed") {
		t.Errorf("kto with a second model: exit %d %s", code, stderr)
	}
}
