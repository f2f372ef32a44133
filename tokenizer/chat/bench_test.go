// Benchmarks: parse (with the capability probes) and render of a real tool-using template.

package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

func llama31(b *testing.B) string {
	src, err := os.ReadFile(filepath.Join("testdata", "templates", "meta-llama-Llama-3.1-8B-Instruct.jinja"))
	if err != nil {
		b.Fatal(err)
	}
	return string(src)
}

// BenchmarkNew includes the five probe renders New makes.
func BenchmarkNew(b *testing.B) {
	src := llama31(b)
	for b.Loop() {
		if _, err := New(src, "<|begin_of_text|>", "<|eot_id|>"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRender renders a 40-turn conversation with tools.
func BenchmarkRender(b *testing.B) {
	tmpl, err := New(llama31(b), "<|begin_of_text|>", "<|eot_id|>")
	if err != nil {
		b.Fatal(err)
	}
	var convs map[string]conversation
	data, _ := os.ReadFile(filepath.Join("testdata", "conversations.json"))
	if err := json.Unmarshal(data, &convs); err != nil {
		b.Fatal(err)
	}
	c := convs["tools"]
	var msgs []Message
	for range 10 {
		msgs = append(msgs, c.msgs()...)
	}
	opt := Options{Tools: c.Tools, AddGenerationPrompt: true, Now: goldenNow}
	for b.Loop() {
		out, err := tmpl.Render(msgs, opt)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(out)))
	}
}
