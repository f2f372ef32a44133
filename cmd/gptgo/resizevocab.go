// Reference: ymcui/Chinese-LLaMA-Alpaca (resize_token_embeddings before
// continued pretraining on the extended vocabulary) and Hewitt 2021,
// "Initializing New Word Embeddings for Pretrained Language Models" (new
// rows at the mean of the old ones); llama.cpp's tensor names
// token_embd.weight / output.weight and the tokenizer.ggml.* keys.

package main

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "model",
		summary: "change a model file: resize-vocab grows the embeddings to a new vocabulary",
		usage: `SUBCOMMAND ...

Subcommands:
  resize-vocab MODEL NEWVOCAB OUT [--type keep|f32|f16]
      Give MODEL (GGUF) the vocabulary NEWVOCAB (.model, .gguf, tokenizer.json):
      token_embd.weight and output.weight (when present) get one row per new
      token, set to the mean of the old rows; the tokenizer.ggml.* keys are
      replaced. The new vocabulary must keep every old id (as 'tokenizer
      extend' does). A quantized embedding keeps its type when gptgo can
      quantize it, and is otherwise dequantized to F32 (--type chooses).`,
		run: runModelCmd,
	})
}

func runModelCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "resize-vocab":
		return runResizeVocab(e, args[1:])
	case "-h", "--help", "help":
		printUsage(e.stdout, commands["model"])
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (resize-vocab)", args[0])
}

// grownTensor is one vocabulary-indexed tensor of the output.
type grownTensor struct {
	src     *gguf.TensorInfo // as in the input
	outType tensor.DType
	mean    []byte // the new row, encoded as outType
}

func runResizeVocab(e *env, args []string) error {
	fs := newFlags(e, "model resize-vocab", "MODEL NEWVOCAB OUT [--type keep|f32|f16]")
	typ := fs.String("type", "keep", "type of the grown tensors: keep (dequantize only when the type cannot be written), f32, f16")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return errUsage
	}
	f, err := gguf.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	v, err := tokenizer.LoadVocab(pos[1])
	if err != nil {
		return err
	}
	if v.Unigram {
		return fmt.Errorf("%s: a SentencePiece unigram model is not a vocabulary gptgo or llama.cpp's llama tokenizer runs; extend a BPE vocabulary with it first", pos[1])
	}
	n := int64(len(v.Tokens))
	old, hasTokens := f.Strings("tokenizer.ggml.tokens")
	if hasTokens {
		if int64(len(old)) > n {
			return fmt.Errorf("%s: %d tokens, fewer than the model's %d: only growing is supported", pos[1], n, len(old))
		}
		changed := 0
		for i, t := range old {
			if v.Tokens[i] != t {
				changed++
			}
		}
		if changed > 0 {
			return fmt.Errorf("%s: %d of the model's %d token ids hold other tokens in the new vocabulary; extend the model's own vocabulary (gptgo tokenizer extend)", pos[1], changed, len(old))
		}
	}

	h := f.Header()
	var grown []*grownTensor
	byIndex := map[int]*grownTensor{}
	for i := range h.Tensors {
		ti := &f.Tensors[i]
		if ti.Name != "token_embd.weight" && ti.Name != "output.weight" {
			continue
		}
		if len(ti.Shape) != 2 {
			return fmt.Errorf("%s: tensor %q has shape %v, want [n_embd, n_vocab]", pos[0], ti.Name, ti.Shape)
		}
		if hasTokens && ti.Shape[1] != int64(len(old)) {
			return fmt.Errorf("%s: tensor %q has %d rows for %d tokens", pos[0], ti.Name, ti.Shape[1], len(old))
		}
		if ti.Shape[1] > n {
			return fmt.Errorf("%s: tensor %q has %d rows, more than the %d new tokens", pos[0], ti.Name, ti.Shape[1], n)
		}
		g, err := meanRow(f, ti, *typ)
		if err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
		grown = append(grown, g)
		byIndex[i] = g
		h.Tensors[i].DType = g.outType
		h.Tensors[i].Shape = []int64{ti.Shape[0], n}
	}
	if len(grown) == 0 {
		return fmt.Errorf("%s: no token_embd.weight or output.weight tensor", pos[0])
	}

	// Replace the vocabulary: drop every tokenizer.ggml.* key, append the new ones.
	kv := h.KV[:0]
	for _, x := range h.KV {
		if !strings.HasPrefix(x.Key, "tokenizer.ggml.") {
			kv = append(kv, x)
		}
	}
	h.KV = append(kv, v.GGUFKV()...)
	if arch := f.Arch(); arch != "" {
		if _, ok := h.Lookup(arch + ".vocab_size"); ok {
			h.Set(arch+".vocab_size", gguf.NewValue(uint32(n)))
		}
	}
	if err := h.Layout(); err != nil {
		return err
	}
	src := f.Source()
	err = gguf.WriteFile(pos[2], h, func(i int, w io.Writer) error {
		g, ok := byIndex[i]
		if !ok {
			return src(i, w)
		}
		if err := writeRows(f, g, w); err != nil {
			return err
		}
		for r := g.src.Shape[1]; r < n; r++ {
			if _, err := w.Write(g.mean); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, g := range grown {
		note := ""
		if g.outType != g.src.DType {
			note = fmt.Sprintf(", dequantized from %v to %v", g.src.DType, g.outType)
		}
		fmt.Fprintf(e.stdout, "%s: %d -> %d rows of %d (%v)%s, new rows = mean of the old\n",
			g.src.Name, g.src.Shape[1], n, g.src.Shape[0], g.outType, note)
	}
	fmt.Fprintf(e.stdout, "wrote %s with the %d-token vocabulary of %s\n", pos[2], n, pos[1])
	return nil
}

// meanRow chooses the output type of ti and computes its mean row in it.
func meanRow(f *gguf.File, ti *gguf.TensorInfo, want string) (*grownTensor, error) {
	g := &grownTensor{src: ti, outType: ti.DType}
	switch want {
	case "keep":
		if !ti.DType.CanQuantize() {
			g.outType = tensor.F32
		}
	case "f32", "F32":
		g.outType = tensor.F32
	case "f16", "F16":
		g.outType = tensor.F16
	default:
		return nil, fmt.Errorf("--type %q (want keep, f32 or f16)", want)
	}
	if !ti.DType.CanDequantize() {
		return nil, fmt.Errorf("tensor %q: cannot read %v", ti.Name, ti.DType)
	}
	cols, rows := ti.Shape[0], ti.Shape[1]
	rowBytes, err := ti.DType.RowSize(cols)
	if err != nil {
		return nil, err
	}
	data := f.TensorData(ti)
	row := make([]float32, cols)
	sum := make([]float64, cols)
	for r := int64(0); r < rows; r++ {
		if err := tensor.Dequantize(ti.DType, data[r*rowBytes:(r+1)*rowBytes], row); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
		}
		for j, x := range row {
			sum[j] += float64(x)
		}
	}
	for j := range row {
		row[j] = float32(sum[j] / float64(rows))
	}
	if g.mean, err = encodeRow(g.outType, row); err != nil {
		return nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
	}
	return g, nil
}

// encodeRow packs one row of floats as type t.
func encodeRow(t tensor.DType, row []float32) ([]byte, error) {
	if t == tensor.F32 {
		b := make([]byte, 4*len(row))
		for i, x := range row {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		return b, nil
	}
	size, err := t.RowSize(int64(len(row)))
	if err != nil {
		return nil, err
	}
	b := make([]byte, size)
	return b, tensor.Quantize(t, row, b)
}

// writeRows writes the old rows of g, converted when its type changes.
func writeRows(f *gguf.File, g *grownTensor, w io.Writer) error {
	data := f.TensorData(g.src)
	if g.outType == g.src.DType {
		_, err := w.Write(data)
		return err
	}
	cols := g.src.Shape[0]
	rowBytes, err := g.src.DType.RowSize(cols)
	if err != nil {
		return err
	}
	row := make([]float32, cols)
	for r := int64(0); r < g.src.Shape[1]; r++ {
		if err := tensor.Dequantize(g.src.DType, data[r*rowBytes:(r+1)*rowBytes], row); err != nil {
			return err
		}
		b, err := encodeRow(g.outType, row)
		if err != nil {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
