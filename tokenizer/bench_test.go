// Reference: ../shared/reference/ANCHORS.md ("Tokenizer encode speed": the
// same file, llama.cpp's and sentencepiece's figures).

package tokenizer

import (
	"os"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// benchEncode encodes war-and-peace.txt (3.2 MB of English) as one text;
// b.SetBytes makes -bench report MB/s.
func benchEncode(b *testing.B, tok *Tokenizer) {
	text, err := os.ReadFile(testkit.Shared(b, "data", "1-pretrain-en", "war-and-peace.txt"))
	if err != nil {
		b.Fatal(err)
	}
	s := string(text)
	b.SetBytes(int64(len(s)))
	n := 0
	cpu0 := processCPU()
	for b.Loop() {
		n = len(tok.Encode(s, EncodeOptions{}))
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(s))*float64(b.N)/1e6/cpu, "MB/cpu-s")
	}
	b.ReportMetric(float64(n), "tokens")
}

// BenchmarkEncodeGPT2Lines encodes the same file one line per call, as a
// data pipeline or a chat server sees text: no per-call word cache helps here.
func BenchmarkEncodeGPT2Lines(b *testing.B) {
	tok := openVocab(b, testkit.Shared(b, "reference", "tokenizer", "ggml-vocab-gpt-2.gguf"))
	text, err := os.ReadFile(testkit.Shared(b, "data", "1-pretrain-en", "war-and-peace.txt"))
	if err != nil {
		b.Fatal(err)
	}
	lines := strings.SplitAfter(string(text), "\n")
	b.SetBytes(int64(len(text)))
	cpu0 := processCPU()
	for b.Loop() {
		for _, l := range lines {
			tok.Encode(l, EncodeOptions{})
		}
	}
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(float64(len(text))*float64(b.N)/1e6/cpu, "MB/cpu-s")
	}
}

func BenchmarkEncodeGPT2(b *testing.B) {
	benchEncode(b, openVocab(b, testkit.Shared(b, "reference", "tokenizer", "ggml-vocab-gpt-2.gguf")))
}

func BenchmarkEncodeLlama3(b *testing.B) { benchEncode(b, loadLlama3(b)) }

func BenchmarkEncodeLlamaSPM(b *testing.B) {
	benchEncode(b, openVocab(b, testkit.Shared(b, "reference", "tokenizer", "ggml-vocab-llama-spm.gguf")))
}

// BenchmarkLoadGGUFGPT2 is the cost of building a 50k-token, 50k-merge vocabulary.
func BenchmarkLoadGGUFGPT2(b *testing.B) {
	p := testkit.Shared(b, "reference", "tokenizer", "ggml-vocab-gpt-2.gguf")
	for b.Loop() {
		openVocab(b, p)
	}
}
