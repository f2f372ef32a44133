package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
)

// runCLI runs the gptgo command line in-process and returns stdout, stderr and the status.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb}
	code := runMain(context.Background(), e, args)
	return out.String(), errb.String(), code
}

func TestHelpListsEveryCommand(t *testing.T) {
	out, _, code := runCLI(t, "", "help")
	if code != 0 {
		t.Fatalf("help exited %d", code)
	}
	for name := range commands {
		if !strings.Contains(out, "  "+name+" ") {
			t.Errorf("help does not list %q:\n%s", name, out)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	_, errOut, code := runCLI(t, "", "no-such-verb")
	if code != 2 || !strings.Contains(errOut, "unknown command") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}

func TestParseInterspersed(t *testing.T) {
	fs := newFlags(&env{stderr: &bytes.Buffer{}}, "x", "")
	n := fs.Int("threads", 1, "")
	pos, err := parseInterspersed(fs, []string{"in", "out", "--threads", "3", "Q4_0"})
	if err != nil || *n != 3 || strings.Join(pos, ",") != "in,out,Q4_0" {
		t.Fatalf("pos %v threads %d err %v", pos, *n, err)
	}
}

func TestVersionNamesKernels(t *testing.T) {
	out, _, code := runCLI(t, "", "version")
	if code != 0 || !strings.HasPrefix(out, "gptgo ") || !strings.Contains(out, "\nkernels: ") {
		t.Fatalf("code %d, output %q", code, out)
	}
}

// logits computes no continuation, so it takes no sampler flags.
func TestLogitsHasNoSamplerFlags(t *testing.T) {
	_, errOut, code := runCLI(t, "", "logits", "any.gguf", "hi", "--temp", "0")
	if code != 2 || !strings.Contains(errOut, "flag provided but not defined: -temp") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}
