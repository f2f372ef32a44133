//go:build beam

// Reference: data/tokenize.go (TokenizeStage, ShardCutter) and data/shard.go
// (the GPTGOTOK format): documents are encoded in parallel, one planner cuts
// the shards from the token counts alone, and each shard is written by one
// worker, its documents in input order.

package beampipe

import (
	"fmt"
	"os"
	"sort"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/tokenizer"
)

// tokDoc is a document's token ids.
type tokDoc struct {
	Seq  int64
	Toks []int32
}

// tokCount is what a document adds to its shard (data.DocTokens).
type tokCount struct {
	Seq int64
	N   int64
}

// shardPlan lists the Seq of each shard's first document.
type shardPlan struct {
	First []int64
}

// shardOf is the shard of the document at seq.
func (p shardPlan) shardOf(seq int64) int {
	return sort.Search(len(p.First), func(i int) bool { return p.First[i] > seq }) - 1
}

// encoder adapts gptgo's tokenizer to data.Encoder as the CLI does
// (cmd/gptgo/data.go, tokEncoder): raw text is never parsed for special
// tokens, and each document ends with EOS, or EOT when there is no EOS.
type encoder struct{ t *tokenizer.Tokenizer }

func (e encoder) Encode(s string) []int32 {
	return e.t.Encode(s, tokenizer.EncodeOptions{AddSpecial: false, ParseSpecial: false})
}

func (e encoder) EOS() int32 {
	if id := e.t.EOS(); id >= 0 {
		return id
	}
	return e.t.EOT()
}

func (e encoder) VocabSize() int { return e.t.VocabSize() }

func loadEncoder(c data.Config) (data.Encoder, error) {
	if c.Tokenize.Vocab == "" {
		return nil, fmt.Errorf("data/beampipe: the tokenize stage needs tokenize.vocab in the config")
	}
	t, err := tokenizer.Load(c.Tokenize.Vocab)
	if err != nil {
		return nil, err
	}
	return encoder{t}, nil
}

// tokenize encodes the surviving documents and writes the shards; it
// returns the documents and the plan (for the report's shard count).
func tokenize(s beam.Scope, docs beam.PCollection, cfg string) (out, plan, written beam.PCollection) {
	s = s.Scope(data.StageTokenize)
	out, toks, counts := beam.ParDo3(s, &encodeFn{Cfg: cfg}, docs)
	plan = beam.ParDo(s, &planFn{Cfg: cfg}, beam.Impulse(s), beam.SideInput{Input: counts})
	byShard := beam.ParDo(s, assignFn, toks, beam.SideInput{Input: plan})
	written = beam.ParDo(s, &writeShardFn{Cfg: cfg}, beam.GroupByKey(s, byShard))
	return out, plan, written
}

type encodeFn struct {
	Cfg string
	enc data.Encoder
}

func (f *encodeFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	if err != nil {
		return err
	}
	f.enc, err = loadEncoder(c)
	return err
}

func (f *encodeFn) ProcessElement(d Doc, docs func(Doc), toks func(tokDoc), counts func(tokCount)) {
	if d.dropped() {
		docs(d)
		return
	}
	d.enter()
	t := f.enc.Encode(d.Text)
	d.count(data.StageTokenize+"/tokens", int64(len(t)))
	d.count(data.StageTokenize+"/documents", 1)
	d.leave()
	docs(d)
	toks(tokDoc{Seq: d.Seq, Toks: t})
	counts(tokCount{Seq: d.Seq, N: int64(data.DocTokens(f.enc, len(t)))})
}

type planFn struct {
	Cfg string
	max uint64
}

func (f *planFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	f.max = c.Tokenize.MaxShardTokens
	return err
}

func (f *planFn) ProcessElement(_ []byte, counts func(*tokCount) bool) shardPlan {
	var all []tokCount
	var c tokCount
	for counts(&c) {
		all = append(all, c)
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	cut := data.NewShardCutter(f.max)
	var p shardPlan
	for _, c := range all {
		if cut.Add(uint64(c.N)) == len(p.First) {
			p.First = append(p.First, c.Seq)
		}
	}
	return p
}

func assignFn(t tokDoc, plan shardPlan) (int, tokDoc) { return plan.shardOf(t.Seq), t }

type writeShardFn struct {
	Cfg string
	o   data.TokenizeOptions
	enc data.Encoder
}

func (f *writeShardFn) Setup() error {
	c, err := parseConfig(f.Cfg)
	if err != nil {
		return err
	}
	f.o = c.Tokenize
	if f.enc, err = loadEncoder(c); err != nil {
		return err
	}
	return os.MkdirAll(f.o.Dir, 0o755)
}

func (f *writeShardFn) ProcessElement(shard int, group func(*tokDoc) bool) (int, error) {
	var all []tokDoc
	var t tokDoc
	for group(&t) {
		all = append(all, t)
		t = tokDoc{}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].Seq < all[j].Seq })
	w, err := data.CreateShard(data.ShardPath(f.o, shard), f.enc.VocabSize(), f.enc.EOS())
	if err != nil {
		return 0, err
	}
	for _, t := range all {
		if err := w.WriteDoc(t.Toks); err != nil {
			w.Abort()
			return 0, err
		}
	}
	return shard, w.Close()
}
