// Reference: BERT-base's shape (Devlin et al. 2018, Table 1: 12 layers, width 768, 12 heads, ff 3072,
// 512 positions, 30,522 WordPiece tokens: 110M parameters), as `gptgo init --arch bert` writes it.

package model

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tensor"
)

// BenchmarkBertEmbed measures batch embedding throughput on a 110M BERT
// (bert-base's shape, random weights) written to disk as `gptgo init --arch
// bert --type f16` would, and quantized to Q8_0 as `gptgo quantize` would:
// 32 texts of 128 tokens per op, packed 512 tokens per pass, mean pooling,
// normalised. It reports texts/s and tokens/s. Run it alone, e.g.
//
//	go test ./model/ -run '^$' -bench BertEmbed -benchtime 2x
func BenchmarkBertEmbed(b *testing.B) {
	if testing.Short() {
		b.Skip("skipping: writes a 220 MB model")
	}
	dir := b.TempDir()
	c, err := ArchConfig("bert")
	if err != nil {
		b.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 30522, 768, 12, 12, 12, 64, 3072, 512
	f16 := filepath.Join(dir, "bert-110m-f16.gguf")
	if err := WriteRandom(f16, c, InitOptions{Type: tensor.F16, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	q8 := filepath.Join(dir, "bert-110m-q8_0.gguf")
	ft, err := quant.ParseFileType("q8_0")
	if err != nil {
		b.Fatal(err)
	}
	if _, err := quant.QuantizeFile(context.Background(), f16, q8, ft, quant.Options{}); err != nil {
		b.Fatal(err)
	}
	const texts, tokens = 32, 128
	r := rand.New(rand.NewPCG(2, 2))
	seqs := make([][]int32, texts)
	for i := range seqs {
		s := make([]int32, tokens)
		for j := range s {
			s[j] = int32(1000 + r.IntN(29000))
		}
		s[0], s[tokens-1] = 101, 102 // [CLS] … [SEP]
		seqs[i] = s
	}
	for _, path := range []string{f16, q8} {
		b.Run(filepath.Base(path), func(b *testing.B) {
			e, err := OpenEncoder(path)
			if err != nil {
				b.Fatal(err)
			}
			defer e.Close()
			s, err := e.NewState(Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			o := EmbedOptions{Pooling: PoolMean, Normalize: true}
			b.ResetTimer()
			for range b.N {
				if err := s.EmbedEach(context.Background(), seqs, o, func(int, []float32) error { return nil }); err != nil {
					b.Fatal(err)
				}
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(float64(texts*b.N)/sec, "texts/s")
			b.ReportMetric(float64(texts*tokens*b.N)/sec, "tokens/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
