// Reference: issue #16 items 6 and 7 (what `gptgo train pretrain` says about
// settings it cannot use and about what a run did not do).

package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestTrainRejectsNonFiniteLR: --lr Inf, NaN or a negative rate is refused
// before the run starts, naming the setting and the flag, not with a JSON
// encoder's "unsupported value".
func TestTrainRejectsNonFiniteLR(t *testing.T) {
	text, vocab, config := trainFixture(t)
	for _, c := range []struct{ lr, want string }{
		{"Inf", "optim.lr (--lr) is +Inf, not a finite number"},
		{"-Inf", "optim.lr (--lr) is -Inf, not a finite number"},
		{"NaN", "optim.lr (--lr) is NaN, not a finite number"},
		{"-0.1", "optim.lr (--lr) -0.1 must be positive"},
	} {
		out := t.TempDir()
		_, errOut, code := runCLI(t, "", "train", "pretrain", text, "--vocab", vocab, "--config", config, "--out", out, "--lr", c.lr)
		if code == 0 || !strings.Contains(errOut, c.want) || strings.Contains(errOut, "json") {
			t.Errorf("--lr %s: exit %d, stderr %q, want %q", c.lr, code, errOut, c.want)
		}
		if _, err := os.Stat(filepath.Join(out, logName)); err == nil {
			t.Errorf("--lr %s: the run started", c.lr)
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
