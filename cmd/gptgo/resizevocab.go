// Reference: ymcui/Chinese-LLaMA-Alpaca (resize_token_embeddings before
// continued pretraining on the extended vocabulary) and Hewitt 2021,
// "Initializing New Word Embeddings for Pretrained Language Models" (new
// rows at the mean of the old ones); the piece-mean initialisation as in
// Gee et al. 2022, "Fast Vocabulary Transfer" (a new token's row is the mean
// of the rows of the old tokens that spell it); llama.cpp's tensor names
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
  resize-vocab MODEL NEWVOCAB OUT [--type keep|f32|f16] [--init mean|pieces]
      Give MODEL (GGUF) the vocabulary NEWVOCAB (.model, .gguf, tokenizer.json):
      token_embd.weight and output.weight (when present) get one row per new
      token, set to the mean of the old rows (--init mean) or to the mean of
      the rows of the old tokens that spell the new token's bytes (--init
      pieces); the tokenizer.ggml.* keys are replaced. The new vocabulary must keep every old id (as 'tokenizer
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
	mean    []byte   // the mean of the old rows, encoded as outType
	rows    [][]byte // --init pieces: each new token's row, encoded as outType (nil: mean)
}

func runResizeVocab(e *env, args []string) error {
	fs := newFlags(e, "model resize-vocab", "MODEL NEWVOCAB OUT [--type keep|f32|f16] [--init mean|pieces]")
	typ := fs.String("type", "keep", "type of the grown tensors: keep (dequantize only when the type cannot be written), f32, f16")
	initMode := fs.String("init", "mean", "new rows: mean (of all old rows) or pieces (of the old rows that spell the new token)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 {
		return errUsage
	}
	return resizeVocab(e.stdout, pos[0], pos[1], pos[2], *typ, *initMode)
}

// resizeVocab writes the model at in with the vocabulary at vocabPath
// (which keeps every old id) to out, growing its vocabulary-indexed tensors
// as typ and initMode say (resize-vocab's --type and --init), and reports on w.
func resizeVocab(w io.Writer, in, vocabPath, out, typ, initMode string) error {
	if initMode != "mean" && initMode != "pieces" {
		return fmt.Errorf("--init %q (want mean or pieces)", initMode)
	}
	f, err := gguf.Open(in)
	if err != nil {
		return err
	}
	defer f.Close()
	v, err := tokenizer.LoadVocab(vocabPath)
	if err != nil {
		return err
	}
	if v.Unigram {
		return fmt.Errorf("%s: a SentencePiece unigram model is not a vocabulary gptgo or llama.cpp's llama tokenizer runs; extend a BPE vocabulary with it first", vocabPath)
	}
	n := int64(len(v.Tokens))
	old, hasTokens := f.Strings("tokenizer.ggml.tokens")
	if hasTokens {
		if int64(len(old)) > n {
			return fmt.Errorf("%s: %d tokens, fewer than the model's %d: only growing is supported", vocabPath, n, len(old))
		}
		changed := 0
		for i, t := range old {
			if v.Tokens[i] != t {
				changed++
			}
		}
		if changed > 0 {
			return fmt.Errorf("%s: %d of the model's %d token ids hold other tokens in the new vocabulary; extend the model's own vocabulary (gptgo tokenizer extend)", vocabPath, changed, len(old))
		}
	}
	var spell *pieceSpelling
	if initMode == "pieces" {
		if !hasTokens {
			return fmt.Errorf("%s: --init pieces needs the model's own vocabulary (tokenizer.ggml.tokens) to spell the new tokens with", in)
		}
		if spell, err = spellNewTokens(f, v, len(old)); err != nil {
			return fmt.Errorf("%s: --init pieces: %w", in, err)
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
			return fmt.Errorf("%s: tensor %q has shape %v, want [n_embd, n_vocab]", in, ti.Name, ti.Shape)
		}
		if hasTokens && ti.Shape[1] != int64(len(old)) {
			return fmt.Errorf("%s: tensor %q has %d rows for %d tokens", in, ti.Name, ti.Shape[1], len(old))
		}
		if ti.Shape[1] > n {
			return fmt.Errorf("%s: tensor %q has %d rows, more than the %d new tokens", in, ti.Name, ti.Shape[1], n)
		}
		g, err := meanRow(f, ti, typ, spell)
		if err != nil {
			return fmt.Errorf("%s: %w", in, err)
		}
		grown = append(grown, g)
		byIndex[i] = g
		h.Tensors[i].DType = g.outType
		h.Tensors[i].Shape = []int64{ti.Shape[0], n}
	}
	if len(grown) == 0 {
		return fmt.Errorf("%s: no token_embd.weight or output.weight tensor", in)
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
	err = gguf.WriteFile(out, h, func(i int, w io.Writer) error {
		g, ok := byIndex[i]
		if !ok {
			return src(i, w)
		}
		if err := writeRows(f, g, w); err != nil {
			return err
		}
		for r := g.src.Shape[1]; r < n; r++ {
			row := g.mean
			if g.rows != nil {
				row = g.rows[r-g.src.Shape[1]]
			}
			if _, err := w.Write(row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	how := "mean of the old"
	if spell != nil {
		how = fmt.Sprintf("mean of the old rows spelling each (%d of %d new tokens; %d with no spelling got the mean of all)", n-int64(len(old))-int64(spell.unspelt), n-int64(len(old)), spell.unspelt)
	}
	for _, g := range grown {
		note := ""
		if g.outType != g.src.DType {
			note = fmt.Sprintf(", dequantized from %v to %v", g.src.DType, g.outType)
		}
		fmt.Fprintf(w, "%s: %d -> %d rows of %d (%v)%s, new rows = %s\n",
			g.src.Name, g.src.Shape[1], n, g.src.Shape[0], g.outType, note, how)
	}
	fmt.Fprintf(w, "wrote %s with the %d-token vocabulary of %s\n", out, n, vocabPath)
	return nil
}

// pieceSpelling is, for each token appended to a vocabulary, the old
// tokens whose text is its text.
type pieceSpelling struct {
	ids     [][]int32 // per new token; nil when it has no spelling
	unspelt int       // new tokens with none (special tokens, a text the old vocabulary cannot give back)
}

// spellNewTokens spells the text of every token of v from id old on with
// the model's own tokenizer: its encoding of the text; for SentencePiece,
// whose encoder puts a space before a text, the encoding of the text less
// its leading space, or with the lone space token dropped; else the old
// byte tokens of its bytes. A spelling counts only when its tokens give
// back exactly the new token's bytes; control tokens (<|im_end|> …) have
// none.
func spellNewTokens(f *gguf.File, v *tokenizer.Vocab, old int) (*pieceSpelling, error) {
	oldTok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return nil, err
	}
	newTok, err := v.Tokenizer()
	if err != nil {
		return nil, err
	}
	byteTok := map[byte]int32{} // the old token of each single byte
	for id := int32(old) - 1; id >= 0; id-- {
		if b := oldTok.TokenBytes(id); len(b) == 1 && !oldTok.IsControl(id) {
			byteTok[b[0]] = id
		}
	}
	s := &pieceSpelling{ids: make([][]int32, len(v.Tokens)-old)}
	for id := old; id < len(v.Tokens); id++ {
		ty := newTok.Type(int32(id))
		text := newTok.TokenBytes(int32(id))
		if text == "" || ty == tokenizer.TypeControl || ty == tokenizer.TypeUnknown {
			s.unspelt++
			continue
		}
		ok := func(ids []int32) bool { return len(ids) > 0 && spelt(oldTok, ids) == text }
		ids := oldTok.EncodeBytes([]byte(text))
		if !ok(ids) && len(text) > 1 && text[0] == ' ' {
			ids = oldTok.EncodeBytes([]byte(text[1:]))
		}
		if !ok(ids) {
			if ids = oldTok.EncodeBytes([]byte(text)); len(ids) > 1 && oldTok.TokenBytes(ids[0]) == " " {
				ids = ids[1:]
			}
		}
		if !ok(ids) {
			ids = ids[:0:0]
			for i := 0; i < len(text); i++ {
				if b, found := byteTok[text[i]]; found {
					ids = append(ids, b)
				}
			}
		}
		if !ok(ids) {
			s.unspelt++
			continue
		}
		s.ids[id-old] = ids
	}
	return s, nil
}

func spelt(t *tokenizer.Tokenizer, ids []int32) string {
	var b strings.Builder
	for _, id := range ids {
		b.WriteString(t.TokenBytes(id))
	}
	return b.String()
}

// meanRow chooses the output type of ti and computes its mean row in it,
// and with spell each new token's row, the mean of the rows that spell it.
func meanRow(f *gguf.File, ti *gguf.TensorInfo, want string, spell *pieceSpelling) (*grownTensor, error) {
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
	if spell == nil {
		return g, nil
	}
	g.rows = make([][]byte, len(spell.ids))
	piece := make([]float32, cols)
	for k, ids := range spell.ids {
		if ids == nil {
			g.rows[k] = g.mean
			continue
		}
		clear(sum)
		for _, id := range ids {
			if int64(id) >= rows {
				return nil, fmt.Errorf("tensor %q: token %d beyond its %d rows", ti.Name, id, rows)
			}
			if err := tensor.Dequantize(ti.DType, data[int64(id)*rowBytes:(int64(id)+1)*rowBytes], piece); err != nil {
				return nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
			}
			for j, x := range piece {
				sum[j] += float64(x)
			}
		}
		for j := range row {
			row[j] = float32(sum[j] / float64(len(ids)))
		}
		if g.rows[k], err = encodeRow(g.outType, row); err != nil {
			return nil, fmt.Errorf("tensor %q: %w", ti.Name, err)
		}
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
