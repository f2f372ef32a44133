// The tokenize stage: survivors are encoded on every core and appended, in
// input order, to rotating GPTGOTOK shards (shard.go).

package data

import (
	"fmt"
	"os"
	"path/filepath"
)

// Encoder is what the stage needs of a tokenizer; gptgo's tokenizer package
// satisfies it through a small adapter in the CLI.
type Encoder interface {
	Encode(text string) []int32 // safe for concurrent use
	EOS() int32                 // the id that ends each document, or -1
	VocabSize() int
}

// TokenizeOptions configure shard output.
type TokenizeOptions struct {
	Dir            string `json:"dir"`              // where shards go; created if missing
	Prefix         string `json:"prefix"`           // shard names: PREFIX-00000.tok
	MaxShardTokens uint64 `json:"max_shard_tokens"` // a new shard starts past this many tokens
	Vocab          string `json:"vocab"`            // GGUF file holding the tokenizer (CLI)
}

// DefaultTokenizeOptions: 100 M tokens (200 MB at uint16) per shard.
func DefaultTokenizeOptions() TokenizeOptions {
	return TokenizeOptions{Dir: "shards", Prefix: "shard", MaxShardTokens: 100_000_000}
}

// TokenizeStage encodes each document and writes shards under o.Dir.
func TokenizeStage(enc Encoder, o TokenizeOptions) (Stage, error) {
	if enc == nil {
		return Stage{}, fmt.Errorf("data: tokenize stage needs a tokenizer")
	}
	if o.MaxShardTokens == 0 {
		o.MaxShardTokens = DefaultTokenizeOptions().MaxShardTokens
	}
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Stage{}, err
	}
	var (
		w       *ShardWriter
		n       int
		total   uint64
		docs    int64
		werr    error
		written []string
	)
	next := func() error {
		if w != nil {
			if err := w.Close(); err != nil {
				return err
			}
		}
		p := filepath.Join(o.Dir, fmt.Sprintf("%s-%05d.tok", o.Prefix, n))
		n++
		var err error
		w, err = CreateShard(p, enc.VocabSize(), enc.EOS())
		written = append(written, p)
		return err
	}
	return Stage{
		Name: "tokenize",
		Map:  func(d *Doc) { d.put("tokens", enc.Encode(d.Text)) },
		Seq: func(d *Doc) {
			toks, _ := d.take("tokens").([]int32)
			if werr != nil {
				d.Drop = "shard_write_failed"
				return
			}
			if w == nil || w.Tokens() >= o.MaxShardTokens {
				if werr = next(); werr != nil {
					d.Drop = "shard_write_failed"
					return
				}
			}
			if werr = w.WriteDoc(toks); werr != nil {
				d.Drop = "shard_write_failed"
				return
			}
			total += uint64(len(toks))
			docs++
		},
		Finish: func(r *StageReport) error {
			if werr != nil {
				if w != nil {
					w.Abort()
				}
				return werr
			}
			if w != nil {
				if err := w.Close(); err != nil {
					return err
				}
			}
			r.Counts = map[string]int64{"tokens": int64(total), "documents": docs, "shards": int64(len(written))}
			return nil
		},
	}, nil
}
