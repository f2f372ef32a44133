// Reference: issue #16 items 6 and 7 (what `gptgo train pretrain` says about
// settings it cannot use and about what a run did not do).

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainRejectsBadFlags: --lr Inf, NaN or a negative rate, and other
// out-of-range flags, are refused before the run starts, naming the setting
// and the flag, not with a JSON encoder's "unsupported value".
func TestTrainRejectsBadFlags(t *testing.T) {
	text, vocab, config := trainFixture(t)
	for _, c := range []struct{ flag, value, want string }{
		{"--lr", "Inf", "optim.lr (--lr) is +Inf, not a finite number"},
		{"--lr", "-Inf", "optim.lr (--lr) is -Inf, not a finite number"},
		{"--lr", "NaN", "optim.lr (--lr) is NaN, not a finite number"},
		{"--lr", "-0.1", "optim.lr (--lr) -0.1 must be positive"},
		{"--steps", "0", "run.steps (--steps) 0 must be positive"},
		{"--seq", "-4", "run.seq (--seq) -4 must be positive"},
		{"--threads", "-1", "run.threads (--threads) -1 must not be negative"},
	} {
		out := t.TempDir()
		_, errOut, code := runCLI(t, "", "train", "pretrain", text, "--vocab", vocab, "--config", config, "--out", out, c.flag, c.value)
		if code == 0 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "json") {
			t.Errorf("%s %s: exit %d, stderr %q, want %q", c.flag, c.value, code, errOut, c.want)
		}
		if _, err := os.Stat(filepath.Join(out, logName)); err == nil {
			t.Errorf("%s %s: the run started", c.flag, c.value)
		}
	}
	_, errOut, code := runCLI(t, "", "train", "pretrain", "--print-config", "--lr", "Inf")
	if code == 0 || !strings.Contains(errOut, "optim.lr (--lr) is +Inf") {
		t.Errorf("--print-config --lr Inf: exit %d, stderr %q", code, errOut)
	}
}

// TestTrainNoSamplesNoValidation: sample_every 0 prints no sample at all
// (not even after the last step), and a run without validation data says
// so instead of "val loss NaN".
func TestTrainNoSamplesNoValidation(t *testing.T) {
	text, vocab, _ := trainFixture(t)
	config := filepath.Join(t.TempDir(), "run.json")
	cfg := `{"data": {"val_fraction": 0},
		"model": {"dim": 16, "layers": 1, "heads": 2},
		"run": {"steps": 2, "batch": 2, "seq": 16, "threads": 1, "eval_every": 1,
			"sample_every": 0, "sample_tokens": 8, "sample_prompt": "the cat", "checkpoint_every": 0}}`
	if err := os.WriteFile(config, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	stdout, stderr, code := runCLI(t, "", "train", "pretrain", text, "--vocab", vocab, "--config", config, "--out", t.TempDir())
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, stderr)
	}
	if strings.Contains(stderr, "sample at step") {
		t.Errorf("sample_every 0 printed a sample:\n%s", stderr)
	}
	if !strings.Contains(stdout, "no validation data") || strings.Contains(stdout, "NaN") {
		t.Errorf("summary %q: want \"no validation data\", no NaN", stdout)
	}
	if !strings.Contains(stderr, "1 layer,") || !strings.Contains(stdout, "2 steps") {
		t.Errorf("plurals: %q %q", stderr, stdout)
	}
}
