package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// perplexity shows its progress on stderr, window by window, and keeps
// stdout to the result (#16 item 8); one window is "1 window".
func TestPerplexityProgress(t *testing.T) {
	text := filepath.Join(t.TempDir(), "t.txt")
	if err := os.WriteFile(text, []byte(strings.Repeat("To be, or not to be, that is the question.\n", 12)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := runCLI(t, "", "perplexity", text, "--json", "--ctx", "32")
	var r perplexityResult
	if code != 0 || json.Unmarshal([]byte(out), &r) != nil || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	last := fmt.Sprintf("window %d of %d, perplexity so far %.3f", r.Windows, r.Windows, r.Perplexity)
	if r.Windows < 3 || !strings.Contains(errOut, "window 1 of ") || !strings.Contains(errOut, last) || !strings.Contains(errOut, "100%") {
		t.Errorf("%d windows; stderr %q lacks the progress (want %q at the end)", r.Windows, errOut, last)
	}
	if _, errOut, _ = runCLI(t, "", "perplexity", text, "--ctx", "32", "--quiet"); strings.Contains(errOut, "window") {
		t.Errorf("--quiet: stderr %q", errOut)
	}
	if err := os.WriteFile(text, []byte("To be, or not to be."), 0o644); err != nil {
		t.Fatal(err)
	}
	out, errOut, code = runCLI(t, "", "perplexity", text, "--quiet")
	if code != 0 || !strings.Contains(out, " scored in 1 window of ") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// Counts of one are singular in the messages (#16 item 6).
func TestOneIsSingular(t *testing.T) {
	_, errOut, code := runCLI(t, "", "tokenize", "a", "--no-bos")
	if code != 0 || !strings.HasPrefix(errOut, "1 token; ") {
		t.Errorf("tokenize: exit %d, stderr %q", code, errOut)
	}
}
