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

// ShardPath names shard n (0-based) under o.Dir.
func ShardPath(o TokenizeOptions, n int) string {
	return filepath.Join(o.Dir, fmt.Sprintf("%s-%05d.tok", o.Prefix, n))
}

// ShardCutter decides where shards start: documents go, in input order, to
// the current shard until it holds MaxShardTokens or more, and a document
// never straddles two shards. The stage here and a distributed planner
// (data/beampipe) cut the same shards from the same token counts.
type ShardCutter struct {
	Max    uint64 // o.MaxShardTokens
	shard  int    // index of the current shard, -1 before the first document
	tokens uint64 // tokens in the current shard
}

// NewShardCutter starts before the first shard.
func NewShardCutter(max uint64) *ShardCutter { return &ShardCutter{Max: max, shard: -1} }

// Add places the next document, of n tokens (its EOS included), and returns
// its shard's index.
func (c *ShardCutter) Add(n uint64) int {
	if c.shard < 0 || c.tokens >= c.Max {
		c.shard++
		c.tokens = 0
	}
	c.tokens += n
	return c.shard
}

// DocTokens is what a document of n token ids adds to a shard: n, and its
// EOS when the encoder has one.
func DocTokens(enc Encoder, n int) uint64 {
	if enc.EOS() >= 0 {
		return uint64(n) + 1
	}
	return uint64(n)
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
		cut     = NewShardCutter(o.MaxShardTokens)
		n       = -1 // the shard w writes
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
		n++
		p := ShardPath(o, n)
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
			if cut.Add(DocTokens(enc, len(toks))) != n {
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
