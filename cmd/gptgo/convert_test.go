package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/tensor"
)

// TestExportConvertDefault: the embedded default model (Q8_0) is refused
// by export without --dequantize, exported with it, converted back (F32
// and Q8_0) with the same tokenizer metadata, and runs.
func TestExportConvertDefault(t *testing.T) {
	src := filepath.Join(testkit.ModuleRoot(), "models", "default.gguf")
	dir := filepath.Join(t.TempDir(), "hf")
	_, errOut, code := runCLI(t, "", "export", src, dir, "--quiet")
	if code == 0 || !strings.Contains(errOut, "is Q8_0") || !strings.Contains(errOut, "--dequantize") {
		t.Fatalf("quantized export: code %d, stderr %q", code, errOut)
	}
	if _, errOut, code = runCLI(t, "", "export", src, dir, "--dequantize", "--quiet"); code != 0 {
		t.Fatalf("export: %s", errOut)
	}
	for _, f := range []string{"model.safetensors", "config.json", "generation_config.json", "tokenizer.json", "tokenizer_config.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	out := filepath.Join(t.TempDir(), "back.gguf")
	stdout, errOut, code := runCLI(t, "", "convert", dir, out, "--type", "q8_0")
	if code != 0 {
		t.Fatalf("convert: %s", errOut)
	}
	if !strings.Contains(stdout, "LlamaForCausalLM") || !strings.Contains(errOut, "100% quantize") {
		t.Errorf("stdout %q, stderr %q", stdout, errOut)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(out), ".*tmp*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
	a, err := gguf.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := gguf.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if ti, _ := b.Tensor("blk.0.attn_q.weight"); ti == nil || ti.DType != tensor.Q8_0 {
		t.Errorf("attn_q %+v, want Q8_0", ti)
	}
	for _, k := range []string{"tokenizer.ggml.tokens", "tokenizer.ggml.merges", "tokenizer.ggml.token_type", "tokenizer.ggml.pre",
		"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.chat_template", "llama.rope.freq_base", "llama.context_length"} {
		va, _ := a.Lookup(k)
		vb, ok := b.Lookup(k)
		if !ok || !reflect.DeepEqual(va.X, vb.X) {
			t.Errorf("%s differs after the round trip", k)
		}
	}
	if stdout, errOut, code = runCLI(t, "", "run", out, "Once upon a time", "-n", "4", "--temp", "0"); code != 0 || stdout == "" {
		t.Errorf("run: code %d, %q %q", code, stdout, errOut)
	}
}

func TestConvertCommandErrors(t *testing.T) {
	dir := t.TempDir()
	adir := t.TempDir()
	os.WriteFile(filepath.Join(adir, "adapter_config.json"), []byte(`{"peft_type":"LORA","r":4,"lora_alpha":8}`), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"convert", dir}, "Usage"},
		{[]string{"convert", dir, filepath.Join(dir, "o.gguf"), "--type", "Q9"}, "--type"},
		{[]string{"convert", dir, filepath.Join(dir, "o.gguf")}, "config.json"},
		{[]string{"export", filepath.Join(dir, "none.gguf"), dir}, "none.gguf"},
		{[]string{"convert", adir, filepath.Join(dir, "a.gguf")}, "--base"},
		{[]string{"convert", adir, filepath.Join(dir, "a.gguf"), "--type", "q8_0"}, "--type applies to models"},
		{[]string{"convert", dir, filepath.Join(dir, "a.gguf"), "--base", "x.gguf"}, "--base is for PEFT adapter directories"},
	}
	for _, c := range cases {
		_, errOut, code := runCLI(t, "", c.args...)
		if code == 0 || !strings.Contains(errOut, c.want) {
			t.Errorf("%v: code %d, stderr %q, want %q", c.args, code, errOut, c.want)
		}
	}
}
