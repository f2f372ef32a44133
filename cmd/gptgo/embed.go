// Reference: llama.cpp examples/embedding (llama-embedding: one vector per prompt, --pooling,
// --embd-normalize) over model.State.Embed.

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "embed",
		summary: "print the embedding vector of each text (pooled final hidden state)",
		usage:   "[MODEL] [TEXT...] [--json] [--pooling mean|cls|last] [--normalize=false]   (MODEL defaults to the embedded default model, TEXT to stdin lines)",
		run:     runEmbed,
	})
}

// embedRecord is one --json output line.
type embedRecord struct {
	Index     int       `json:"index"`
	Text      string    `json:"text"`
	Tokens    int       `json:"tokens"`
	Embedding []float32 `json:"embedding"`
}

func runEmbed(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "embed", "[MODEL] [TEXT...] [flags]\n\nRuns each text through the model on its own and prints its embedding: the final normalised\nhidden states pooled into one vector (the pooling the GGUF names, else mean), scaled to unit\nlength. MODEL is a .gguf file (else the embedded default model); without TEXT, each non-empty\nline of stdin is a text. One line per text: the values separated by spaces, or with --json a\nJSON object {index, text, tokens, embedding}.")
	f := addLoadFlags(fs)
	asJSON := fs.Bool("json", false, "print one JSON object per text")
	pooling := fs.String("pooling", "", "mean, cls or last (default: the model's pooling_type, else mean)")
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
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	o := model.EmbedOptions{Normalize: *normalize}
	if *pooling == "" {
		if o.Pooling, err = in.m.DefaultPooling(); err != nil {
			return fmt.Errorf("%s: %w", displayName(path), err)
		}
	} else if o.Pooling, err = model.ParsePooling(*pooling); err != nil {
		return fmt.Errorf("--pooling: %w", err)
	}
	if o.Pooling != model.PoolMean && o.Pooling != model.PoolCLS && o.Pooling != model.PoolLast {
		return fmt.Errorf("--pooling %s: only mean, cls and last give one vector per text", o.Pooling)
	}
	seqs := make([][]int32, len(texts))
	for i, t := range texts {
		seqs[i] = in.tok.Encode(t, tokenizer.EncodeOptions{AddSpecial: true})
		if n, c := len(seqs[i]), in.st.Ctx(); n > c {
			return fmt.Errorf("text %d is %d tokens, more than the context of %d (--ctx)", i+1, n, c)
		}
	}
	w := bufio.NewWriter(e.stdout)
	defer w.Flush()
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return in.st.EmbedEach(ctx, seqs, o, func(i int, v []float32) error {
		if *asJSON {
			return enc.Encode(embedRecord{Index: i, Text: texts[i], Tokens: len(seqs[i]), Embedding: v})
		}
		var b strings.Builder
		for j, x := range v {
			if j > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(strconv.FormatFloat(float64(x), 'g', -1, 32))
		}
		b.WriteByte('\n')
		_, err := w.WriteString(b.String())
		return err
	})
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
