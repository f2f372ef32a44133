package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestModelVerbs drives create, list, show, cp and rm through runMain on a
// temporary models directory.
func TestModelVerbs(t *testing.T) {
	dir := t.TempDir()
	models := filepath.Join(dir, "models")
	mfPath := filepath.Join(dir, "Modelfile")
	os.WriteFile(mfPath, []byte("FROM default\nSYSTEM \"\"\"You are terse.\nVery.\"\"\"\nPARAMETER temperature 0.3\nPARAMETER stop \"<|end|>\"\nTEMPLATE \"{% for m in messages %}{{ m.content }}{% endfor %}\"\n"), 0o644)

	out, errOut, code := runCLI(t, "", "create", "terse:v1", "-f", mfPath, "--models", models)
	if code != 0 || !strings.Contains(out, "created 'terse:v1'") {
		t.Fatalf("create: %d %q %q", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(models, "terse@v1.gguf")); err != nil {
		t.Fatal(err)
	}

	out, errOut, code = runCLI(t, "", "list", "--models", models)
	if code != 0 {
		t.Fatalf("list: %d %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.HasPrefix(lines[1], "default:latest") || !strings.HasPrefix(lines[2], "terse:v1") {
		t.Fatalf("list:\n%s", out)
	}
	for _, want := range []string{"MB", "Q8_0", "llama", "just now"} {
		if !strings.Contains(lines[2], want) {
			t.Errorf("list row %q lacks %q", lines[2], want)
		}
	}
	out, _, _ = runCLI(t, "", "list", "--json", "--models", models)
	var items []listItem
	if err := json.Unmarshal([]byte(out), &items); err != nil || len(items) != 2 || !items[0].Embedded || items[1].Parameters == "" {
		t.Fatalf("list --json: %v\n%s", err, out)
	}

	out, _, code = runCLI(t, "", "show", "terse:v1", "--models", models)
	for _, want := range []string{"architecture", "llama", "quantization", "Q8_0", "Parameters", "temperature", `"<|end|>"`, "System", "You are terse."} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("show lacks %q (code %d):\n%s", want, code, out)
		}
	}
	if out, _, _ = runCLI(t, "", "show", "terse:v1", "-v", "--models", models); !strings.Contains(out, "Metadata") || !strings.Contains(out, "llama.context_length") || !strings.Contains(out, "tokenizer.ggml.tokens") || !strings.Contains(out, "4096 elements]") {
		t.Errorf("show -v:\n%s", out)
	}
	if out, _, _ = runCLI(t, "", "show", "terse:v1", "--system", "--models", models); out != "You are terse.\nVery.\n" {
		t.Errorf("show --system = %q", out)
	}
	if out, _, _ = runCLI(t, "", "show", "terse:v1", "--template", "--models", models); out != "{% for m in messages %}{{ m.content }}{% endfor %}\n" {
		t.Errorf("show --template = %q", out)
	}
	if out, _, _ = runCLI(t, "", "show", "terse:v1", "--parameters", "--models", models); !strings.Contains(out, "stop\t\"<|end|>\"") || !strings.Contains(out, "temperature\t0.3") {
		t.Errorf("show --parameters = %q", out)
	}
	// --modelfile writes a Modelfile that creates the same model again.
	out, _, code = runCLI(t, "", "show", "terse:v1", "--modelfile", "--models", models)
	if code != 0 || !strings.Contains(out, "FROM "+filepath.Join(models, "terse@v1.gguf")) {
		t.Fatalf("show --modelfile:\n%s", out)
	}
	os.WriteFile(mfPath, []byte(out), 0o644)
	if _, errOut, code = runCLI(t, "", "create", "again", "-f", mfPath, "--models", models); code != 0 {
		t.Fatalf("create from show --modelfile: %q", errOut)
	}
	a, _, _ := runCLI(t, "", "show", "terse:v1", "--parameters", "--models", models)
	b, _, _ := runCLI(t, "", "show", "again", "--parameters", "--models", models)
	if a != b {
		t.Errorf("recreated parameters %q, want %q", b, a)
	}

	if out, errOut, code = runCLI(t, "", "cp", "terse:v1", "terse2", "--models", models); code != 0 || !strings.Contains(out, "copied 'terse:v1' to 'terse2:latest'") {
		t.Errorf("cp: %d %q %q", code, out, errOut)
	}
	if out, errOut, code = runCLI(t, "", "rm", "terse2", "again", "--models", models); code != 0 || !strings.Contains(out, "deleted 'terse2'") || !strings.Contains(out, "deleted 'again'") {
		t.Errorf("rm: %d %q %q", code, out, errOut)
	}
	out, _, _ = runCLI(t, "", "list", "--models", models)
	if strings.Contains(out, "terse2") || strings.Contains(out, "again") {
		t.Errorf("removed models still listed:\n%s", out)
	}

	// Errors say what and where, with the right status.
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"show", "nope"}, 1, `model "nope" not found in`},
		{[]string{"rm", "nope"}, 1, `model "nope" not found in`},
		{[]string{"rm", "default"}, 1, "embedded default model cannot be changed"},
		{[]string{"cp", "nope", "x"}, 1, `model "nope" not found`},
		{[]string{"cp", "default", "../x"}, 1, "invalid model name"},
		{[]string{"create", "x", "-f", filepath.Join(dir, "missing")}, 1, "-f: open"},
		{[]string{"create", "x", "-f", mfPath, "-q", "Q9"}, 1, "-q:"},
		{[]string{"show", "terse:v1", "--system", "--template"}, 1, "give one"},
		{[]string{"show"}, 2, "Usage: gptgo show"},
		{[]string{"cp", "a"}, 2, "Usage: gptgo cp"},
	} {
		_, errOut, code := runCLI(t, "", append(c.args, "--models", models)...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: code %d, stderr %q; want %d and %q", c.args, code, errOut, c.code, c.want)
		}
	}
	bad := filepath.Join(dir, "Bad")
	os.WriteFile(bad, []byte("FROM default\nPARAMETER tempreature 1\n"), 0o644)
	if _, errOut, code = runCLI(t, "", "create", "x", "-f", bad, "--models", models); code != 1 || !strings.Contains(errOut, "line 2") || !strings.Contains(errOut, "tempreature") {
		t.Errorf("bad Modelfile: %d %q", code, errOut)
	}
}

func TestDefaultModelsDir(t *testing.T) {
	t.Setenv(modelsEnv, "")
	t.Setenv("XDG_DATA_HOME", "/data")
	if d, err := defaultModelsDir(); err != nil || (d != "/data/gptgo/models" && filepath.Base(filepath.Dir(d)) != "gptgo") {
		t.Errorf("defaultModelsDir() = %q, %v", d, err)
	}
	t.Setenv(modelsEnv, "/m")
	if d, _ := defaultModelsDir(); d != "/m" {
		t.Errorf("with $%s: %q", modelsEnv, d)
	}
	// list with no --models uses it (and creates it).
	m := filepath.Join(t.TempDir(), "m")
	t.Setenv(modelsEnv, m)
	if out, _, code := runCLI(t, "", "list"); code != 0 || !strings.Contains(out, "default:latest") {
		t.Errorf("list with $%s: %d %q", modelsEnv, code, out)
	}
	if st, err := os.Stat(m); err != nil || !st.IsDir() {
		t.Errorf("$%s not created: %v", modelsEnv, err)
	}
}
