package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/models"
)

// A first argument meant as a model that is not there is named as such,
// not taken for the prompt or answered with the usage text (#16 item 5).
func TestModelPathErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "nosuchmodel")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", missing, "hi"}, "model file not found: " + missing},
		{[]string{"run", dir}, dir + " is a directory"},
		{[]string{"run", missing + ".gguf"}, "model file not found: " + missing + ".gguf"},
		{[]string{"run", "--model", missing, "hi"}, "model file not found: " + missing},
		{[]string{"logits", missing, "hi"}, "model file not found: " + missing},
		{[]string{"inspect", dir}, dir + " is a directory"},
		{[]string{"inspect", missing}, "model file not found: " + missing},
		{[]string{"bench", missing}, "model file not found: " + missing},
		{[]string{"tokenize", missing, "hello world"}, "model file not found: " + missing},
		{[]string{"tokenize", dir, "hello world"}, dir + " is a directory"},
	} {
		_, errOut, code := runCLI(t, "", tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: code %d, stderr %q; want 1 and %q", tc.args, code, errOut, tc.want)
		}
	}
}

// tokenize, inspect and bench fall back to the embedded model as run does.
func TestDefaultModelFallback(t *testing.T) {
	out, errOut, code := runCLI(t, "", "tokenize", "hello world", "--json")
	var tok struct {
		IDs  []int32 `json:"ids"`
		Text string  `json:"text"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &tok) != nil || tok.Text != "hello world" || len(tok.IDs) == 0 {
		t.Errorf("tokenize TEXT: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "hello world\n", "tokenize", "--json")
	if code != 0 || !strings.Contains(out, `"text":"hello world"`) {
		t.Errorf("tokenize < stdin: code %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", "inspect")
	if code != 0 || !strings.HasPrefix(out, models.DefaultName+": GGUF v3") {
		t.Errorf("inspect: code %d, stdout %.200q, stderr %q", code, out, errOut)
	}
	out, errOut, code = runCLI(t, "", "bench", "-p", "8", "-n", "2", "-r", "1", "--json")
	if code != 0 || !strings.Contains(out, `"test": "pp8"`) && !strings.Contains(out, `"test":"pp8"`) {
		t.Errorf("bench: code %d, stdout %.300q, stderr %q", code, out, errOut)
	}
}

// A text file given to tokenize is still read as a tokenizer, and a lone
// word that is no file is text.
func TestTokenizeArgChoice(t *testing.T) {
	dir := t.TempDir()
	word := filepath.Join(dir, "plain")
	if err := os.WriteFile(word, []byte("not a tokenizer"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := runCLI(t, "hi", "tokenize", word); code != 1 || errOut == "" {
		t.Errorf("tokenize FILE: code %d, stderr %q (want the file read as a tokenizer, and refused)", code, errOut)
	}
	if out, _, code := runCLI(t, "", "tokenize", "plain"); code != 0 || !strings.Contains(out, "->") {
		t.Errorf("tokenize WORD: code %d, stdout %q", code, out)
	}
}

// 'gptgo help X' and 'gptgo X -h' print the same text, flags included;
// 'help' of an unknown command fails (#16 items 5, 6).
func TestHelpAgreesWithDashH(t *testing.T) {
	for name := range commands {
		help, _, code := runCLI(t, "", "help", name)
		if code != 0 || !strings.HasPrefix(help, "Usage: gptgo "+name) {
			t.Errorf("help %s: code %d, stdout %.120q", name, code, help)
		}
		// Flag sets print -h on stderr; commands of subcommands print
		// their list on stdout.
		out, errOut, code := runCLI(t, "", name, "-h")
		if code != 0 || help != out+errOut {
			t.Errorf("%s -h (code %d) and help %s differ:\n%s\n----\n%s", name, code, name, out+errOut, help)
		}
	}
	run, _, _ := runCLI(t, "", "help", "run")
	for _, flag := range []string{"-temp", "-repeat-penalty", "-json"} {
		if !strings.Contains(run, flag) {
			t.Errorf("help run does not list %s", flag)
		}
	}
	_, errOut, code := runCLI(t, "", "help", "nosuch")
	if code != 2 || !strings.Contains(errOut, `unknown command "nosuch"`) {
		t.Errorf("help nosuch: code %d, stderr %q", code, errOut)
	}
}

func TestVersionJSON(t *testing.T) {
	out, _, code := runCLI(t, "", "version", "--json")
	var v struct{ Version, Go, OS, Arch, Kernels string }
	if code != 0 || json.Unmarshal([]byte(out), &v) != nil || v.Go == "" || v.Kernels == "" {
		t.Fatalf("code %d, stdout %q", code, out)
	}
}

// A subcommand's missing argument prints that subcommand's usage, not the
// parent's list of subcommands (#16 item 6).
func TestSubcommandUsageIsItsOwn(t *testing.T) {
	_, errOut, code := runCLI(t, "", "tokenizer", "train", "corpus.txt")
	if code != 2 || !strings.Contains(errOut, "Usage: gptgo tokenizer train") || !strings.Contains(errOut, "-o") || strings.Contains(errOut, "Subcommands:") {
		t.Fatalf("code %d, stderr %q", code, errOut)
	}
}
