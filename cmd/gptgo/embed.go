// Reference: llama.cpp examples/embedding (llama-embedding: one vector per prompt, --pooling,
// --embd-normalize, tokens with parse_special) over model.State.Embed (decoders) and
// model.EncoderState.EmbedEach (bert).

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "embed",
		summary: "print the embedding vector of each text (pooled final hidden state; bert or decoder models)",
		usage:   "[MODEL] [TEXT...] [--json] [--pooling mean|cls|last|none] [--normalize=false]   (MODEL defaults to the embedded default embedder, TEXT to stdin lines)",
		run:     runEmbed,
	})
}

// embedRecord is one --json output line.
type embedRecord struct {
	Index     int       `json:"index"`
	Text      string    `json:"text"`
	Tokens    []int32   `json:"tokens"` // the ids embedded, special tokens included
	Embedding []float32 `json:"embedding"`
}

// tokenEmbedRecord is one --json output line for --pooling none: one
// vector per token.
type tokenEmbedRecord struct {
	Index     int         `json:"index"`
	Text      string      `json:"text"`
	Tokens    []int32     `json:"tokens"`
	Embedding [][]float32 `json:"embedding"`
}

func runEmbed(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "embed", "[MODEL] [TEXT...] [flags]\n\nRuns each text through the model on its own and prints its embedding: the final normalised\nhidden states pooled into one vector (the pooling the GGUF names, else mean), scaled to unit\nlength. MODEL is a .gguf file: a decoder, or a BERT encoder (general.architecture bert), whose\ntexts are packed --batch tokens per pass. Without MODEL the embedded default embedder (a small\nBERT, models/embed.md) is used; --model default pools the embedded default decoder. Without TEXT,\neach non-empty line of stdin is a text. One line per text: the values separated by spaces, or\nwith --json a JSON object {index, text, tokens, embedding} (tokens: the ids). --pooling none\ngives every token's vector: one line per token and a blank line after each text, or with\n--json an array of vectors.")
	f := addLoadFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per text")
	pooling := fs.String("pooling", "", "mean, cls, last, or none for every token's vector (default: the model's pooling_type, else mean)")
	normalize := fs.Bool("normalize", true, "scale each vector to unit L2 norm (cosine similarity becomes a dot product)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if err := f.validate(); err != nil {
		return err
	}
	path := *f.model
	if path == "" && len(pos) > 0 && (isGGUF(pos[0]) || looksLikeModelPath(pos[0]) || isDir(pos[0])) {
		path, pos = pos[0], pos[1:]
	}
	// No model: the embedded embedder (models/embed.gguf), trained for
	// this; --model default pools the embedded default decoder instead.
	decoder := path == "default"
	if _, embedded := embeddedModel(path); decoder || embedded && strings.TrimSuffix(path, ":latest") == models.EmbedModelName {
		path = "" // "default-embed" names the embedder, as in the server
	}
	if path != "" {
		if err := checkModelFile(path); err != nil {
			return err
		}
	}
	texts := pos
	if len(texts) == 0 {
		if texts, err = stdinLines(ctx, e); err != nil {
			return err
		}
		if len(texts) == 0 {
			return fmt.Errorf("no text to embed: give TEXT arguments or lines on stdin")
		}
	}
	for i, t := range texts {
		if t == "" {
			return fmt.Errorf("text %d is empty: an empty text has no embedding", i+1)
		}
	}
	o := model.EmbedOptions{Normalize: *normalize}
	if *pooling != "" {
		if o.Pooling, err = model.ParsePooling(*pooling); err != nil {
			return fmt.Errorf("--pooling: %w", err)
		}
		if o.Pooling == model.PoolRank {
			return fmt.Errorf("--pooling rank needs a classifier head (rerankers); use mean, cls, last or none")
		}
	}
	out := &embedWriter{w: bufio.NewWriter(e.stdout), texts: texts, json: *asJSON}
	defer out.w.Flush()
	out.enc = json.NewEncoder(out.w)
	out.enc.SetEscapeHTML(false)
	if path == "" && !decoder {
		gf, err := models.OpenEmbed()
		if err != nil {
			return err
		}
		return embedEncoder(ctx, gf, models.EmbedName, f, *pooling != "", o, out)
	}
	if path != "" {
		gf, err := gguf.Open(path)
		if err != nil {
			return err
		}
		if model.IsEncoderFile(gf) {
			return embedEncoder(ctx, gf, path, f, *pooling != "", o, out)
		}
		gf.Close()
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	if *pooling == "" {
		if o.Pooling, err = in.m.DefaultPooling(); err != nil {
			return fmt.Errorf("%s: %w", displayName(path), err)
		}
	}
	out.seqs = make([][]int32, len(texts))
	for i, t := range texts {
		out.seqs[i] = in.tok.Encode(t, tokenizer.EncodeOptions{AddSpecial: true})
		if n, c := len(out.seqs[i]), in.st.Ctx(); n > c {
			return fmt.Errorf("text %d is %d tokens, more than the context of %d (--ctx)", i+1, n, c)
		}
	}
	if out.none = o.Pooling == model.PoolNone; out.none {
		return decoderTokenVectors(ctx, in.st, out.seqs, o.Normalize, out.write)
	}
	return in.st.EmbedEach(ctx, out.seqs, o, out.write)
}

// embedEncoder embeds the texts with the bert model in gf (taken over and
// closed here): special tokens' text is parsed as llama.cpp's
// llama-embedding does, and the texts go through the encoder packed,
// --batch tokens per pass. The decoder-only flags are refused rather than
// ignored.
func embedEncoder(ctx context.Context, gf *gguf.File, path string, f *inferFlags, pooled bool, o model.EmbedOptions, out *embedWriter) error {
	enc, err := model.OpenEncoderFile(gf)
	if err != nil {
		gf.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	defer enc.Close()
	if len(f.loras) > 0 {
		return fmt.Errorf("--lora: %s is a bert encoder; adapters apply to decoders only", path)
	}
	if *f.kvType != "f16" {
		return fmt.Errorf("--kv-type: %s is a bert encoder, which keeps no KV cache", path)
	}
	tok, err := tokenizer.FromGGUF(gf)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if !pooled {
		o.Pooling = enc.Pooling
	}
	st, err := enc.NewState(model.Options{Ctx: *f.ctx, Batch: *f.batch, Threads: *f.threads})
	if err != nil {
		return fmt.Errorf("--ctx/--batch: %w", err)
	}
	defer st.Close()
	out.seqs = make([][]int32, len(out.texts))
	for i, t := range out.texts {
		out.seqs[i] = tok.Encode(t, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
		if n, c := len(out.seqs[i]), st.Ctx(); n > c {
			return fmt.Errorf("text %d is %d tokens, more than the context of %d (--ctx)", i+1, n, c)
		}
	}
	out.none = o.Pooling == model.PoolNone
	return st.EmbedEach(ctx, out.seqs, o, out.write)
}

// decoderTokenVectors is --pooling none for a decoder: each text from an
// empty cache, every token's final normalised hidden state (each scaled to
// unit length when normalize is set), n rows of C for fn.
func decoderTokenVectors(ctx context.Context, st *model.State, seqs [][]int32, normalize bool, fn func(int, []float32) error) error {
	C := st.Model().Embd
	for i, toks := range seqs {
		st.Reset()
		rows := make([]float32, 0, len(toks)*C)
		err := st.Hidden(ctx, toks, func(_ int, h []float32) error {
			rows = append(rows, h...)
			return nil
		})
		st.Reset()
		if err != nil {
			return fmt.Errorf("input %d: %w", i, err)
		}
		if normalize {
			for r := 0; r < len(rows); r += C {
				model.NormalizeL2(rows[r : r+C])
			}
		}
		if err := fn(i, rows); err != nil {
			return err
		}
	}
	return nil
}

// embedWriter prints each text's vector as it comes: a line of values or
// a JSON record; for --pooling none (v holds one row per token) a line per
// token and a blank line, or one record with an array of vectors.
type embedWriter struct {
	w     *bufio.Writer
	enc   *json.Encoder
	texts []string
	seqs  [][]int32
	json  bool
	none  bool // --pooling none: v holds len(seqs[i]) rows
}

func (ew *embedWriter) write(i int, v []float32) error {
	n := len(ew.seqs[i])
	if ew.json {
		if ew.none {
			C := len(v) / n
			rows := make([][]float32, n)
			for r := range rows {
				rows[r] = v[r*C : (r+1)*C]
			}
			return ew.enc.Encode(tokenEmbedRecord{Index: i, Text: ew.texts[i], Tokens: ew.seqs[i], Embedding: rows})
		}
		return ew.enc.Encode(embedRecord{Index: i, Text: ew.texts[i], Tokens: ew.seqs[i], Embedding: v})
	}
	rows := 1
	if ew.none {
		rows = n
	}
	C := len(v) / rows
	var b strings.Builder
	for r := range rows {
		for j, x := range v[r*C : (r+1)*C] {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
		}
		b.WriteByte('\n')
	}
	if ew.none {
		b.WriteByte('\n')
	}
	_, err := ew.w.WriteString(b.String())
	return err
}

// stdinLines reads stdin's non-empty lines (without their line ends).
func stdinLines(ctx context.Context, e *env) ([]string, error) {
	text, err := promptText(ctx, e, nil)
	if err != nil {
		return nil, err
	}
	var lines []string
	for _, l := range strings.Split(text, "\n") {
		if l = strings.TrimSuffix(l, "\r"); l != "" {
			lines = append(lines, l)
		}
	}
	return lines, nil
}
