// Reference: resizevocab.go (new rows = mean of the old, old rows unchanged).

package main

import (
	"encoding/binary"
	"io"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/testkit"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
)

// smallVocab is a SentencePiece vocabulary: the meta pieces, 256 bytes, a few pieces.
func smallVocab(extra ...string) *tokenizer.Vocab {
	v := &tokenizer.Vocab{Model: "llama", UNK: 0, BOS: 1, EOS: 2, PAD: -1, AddBOS: true, AddSpacePrefix: true}
	add := func(s string, ty tokenizer.TokenType) {
		v.Tokens = append(v.Tokens, s)
		v.Types = append(v.Types, ty)
		v.Scores = append(v.Scores, -float32(len(v.Scores)))
	}
	add("<unk>", tokenizer.TypeUnknown)
	add("<s>", tokenizer.TypeControl)
	add("</s>", tokenizer.TypeControl)
	for b := 0; b < 256; b++ {
		add(strings.ToUpper(string([]byte{'<', '0', 'x', "0123456789abcdef"[b>>4], "0123456789abcdef"[b&15], '>'})), tokenizer.TypeByte)
		v.Tokens[len(v.Tokens)-1] = "<0x" + v.Tokens[len(v.Tokens)-1][3:5] + ">"
	}
	for _, s := range append([]string{"▁a", "▁b"}, extra...) {
		add(s, tokenizer.TypeNormal)
	}
	return v
}

// vocabModel writes a two-tensor model whose embedding row r holds r+j/8
// (F32) and whose output is the same as dtype out.
func vocabModel(t *testing.T, v *tokenizer.Vocab, out tensor.DType) string {
	const cols = 32
	rows := int64(len(v.Tokens))
	h := &gguf.Header{KV: []gguf.KV{
		{Key: "general.architecture", Value: gguf.NewValue("llama")},
		{Key: "llama.vocab_size", Value: gguf.NewValue(uint32(rows))},
	}}
	h.KV = append(h.KV, v.GGUFKV()...)
	h.Tensors = []gguf.TensorInfo{
		{Name: "token_embd.weight", Shape: []int64{cols, rows}, DType: tensor.F32},
		{Name: "output_norm.weight", Shape: []int64{cols}, DType: tensor.F32},
		{Name: "output.weight", Shape: []int64{cols, rows}, DType: out},
	}
	if err := h.Layout(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "m.gguf")
	err := gguf.WriteFile(path, h, func(i int, w io.Writer) error {
		n := h.Tensors[i].Elements()
		f := make([]float32, n)
		for k := range f {
			f[k] = float32(k/cols) + float32(k%cols)/8
		}
		b := make([]byte, h.Tensors[i].Size)
		if err := tensor.Quantize(h.Tensors[i].DType, f, b); err != nil {
			return err
		}
		_, err := w.Write(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return path
}

func f32At(b []byte, i int64) float32 {
	return math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
}

func TestModelResizeVocab(t *testing.T) {
	if !tensor.Q8_0.CanQuantize() || !tensor.F32.CanQuantize() {
		t.Skip("F32/Q8_0 writers not registered")
	}
	base := smallVocab()
	in := vocabModel(t, base, tensor.Q8_0)
	dir := filepath.Dir(in)
	grownPath := filepath.Join(dir, "new.model")
	if err := smallVocab("▁c", "▁d", "▁e").WriteFile(grownPath); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		typ     string
		outType tensor.DType
	}{{"keep", tensor.Q8_0}, {"f32", tensor.F32}} {
		out := filepath.Join(dir, "out-"+c.typ+".gguf")
		stdout, stderr, code := runCLI(t, "", "model", "resize-vocab", in, grownPath, out, "--type", c.typ)
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if c.typ == "f32" && !strings.Contains(stdout, "dequantized from Q8_0 to F32") {
			t.Errorf("stdout does not say the output was dequantized: %s", stdout)
		}
		f, err := gguf.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		old := int64(len(base.Tokens))
		emb, _ := f.Tensor("token_embd.weight")
		if emb.Shape[1] != old+3 || emb.DType != tensor.F32 {
			t.Fatalf("token_embd %v %v", emb.Shape, emb.DType)
		}
		d := f.TensorData(emb)
		// Old rows unchanged; each new element is the mean over rows of r + j/8.
		mean := float32(old-1) / 2
		for _, k := range []int64{0, 5, 32*old - 1} {
			if got := f32At(d, k); got != float32(k/32)+float32(k%32)/8 {
				t.Fatalf("old element %d changed: %v", k, got)
			}
		}
		for j := int64(0); j < 32; j++ {
			for r := old; r < old+3; r++ {
				if got := f32At(d, r*32+j); !testkit.Close(float64(got), float64(mean+float32(j)/8), 1e-4, 1e-6) {
					t.Fatalf("new row %d col %d: %v, want %v", r, j, got, mean+float32(j)/8)
				}
			}
		}
		outW, _ := f.Tensor("output.weight")
		if outW.Shape[1] != old+3 || outW.DType != c.outType {
			t.Fatalf("output %v %v, want %v", outW.Shape, outW.DType, c.outType)
		}
		if n, _ := f.Uint("llama.vocab_size"); n != uint64(old+3) {
			t.Errorf("vocab_size %d", n)
		}
		tk, err := tokenizer.FromGGUF(f)
		if err != nil || tk.VocabSize() != int(old+3) {
			t.Fatalf("tokenizer: %v", err)
		}
		f.Close()
	}

	// A vocabulary that moves old ids, or is smaller, is refused.
	moved := smallVocab("▁c")
	moved.Tokens[260] = "▁z"
	movedPath := filepath.Join(dir, "moved.model")
	moved.WriteFile(movedPath)
	for _, args := range [][]string{
		{"model", "resize-vocab", in, movedPath, filepath.Join(dir, "x.gguf")},
		{"model", "resize-vocab", in, grownPath, filepath.Join(dir, "x.gguf"), "--type", "q9"},
		{"model", "resize-vocab", in, grownPath, filepath.Join(dir, "x.gguf"), "--init", "zero"},
		{"model", "resize-vocab", in, grownPath},
		{"model", "nope"},
		{"model"},
	} {
		if _, _, code := runCLI(t, "", args...); code == 0 {
			t.Errorf("%q succeeded", args)
		}
	}
}

// TestResizeTinyLlamaChinese extends the tiny reference model's vocabulary
// with Chinese-LLaMA's pieces, resizes it and runs it.
func TestResizeTinyLlamaChinese(t *testing.T) {
	in := testkit.Shared(t, "reference", "models", "tiny-llama-f32.gguf")
	zh := testkit.Shared(t, "data", "5-models-tokenizers", "chinese-llama-alpaca_chinese_sp.model")
	dir := t.TempDir()
	vocab, out := filepath.Join(dir, "zh-vocab.gguf"), filepath.Join(dir, "zh.gguf")
	if _, stderr, code := runCLI(t, "", "tokenizer", "extend", in, zh, vocab); code != 0 {
		t.Fatalf("extend: %s", stderr)
	}
	stdout, stderr, code := runCLI(t, "", "model", "resize-vocab", in, vocab, out)
	if code != 0 {
		t.Fatalf("resize: %s", stderr)
	}
	t.Log(stdout)
	m, err := model.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	m.Close()
	// The resized model runs: greedy decoding of a Chinese prompt.
	if stdout, stderr, code := runCLI(t, "", "run", out, "人工智能", "-n", "3", "--temp", "0"); code != 0 {
		t.Fatalf("run: exit %d: %s %s", code, stdout, stderr)
	}
	tk, err := tokenizer.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	ids := tk.Encode("人工智能", tokenizer.EncodeOptions{AddSpecial: true})
	if len(ids) > 4 || ids[len(ids)-1] < 1024 {
		t.Errorf("Chinese text is %v: the added pieces are not used", ids)
	}

	// --init pieces: every added SentencePiece piece is spelt by the old
	// vocabulary (with or without its ▁, or by byte tokens), and its row
	// is its spelling's mean.
	pieces := filepath.Join(dir, "zh-pieces.gguf")
	stdout, stderr, code = runCLI(t, "", "model", "resize-vocab", in, vocab, pieces, "--init", "pieces")
	if code != 0 || !strings.Contains(stdout, "0 with no spelling") {
		t.Fatalf("resize --init pieces: exit %d\n%s%s", code, stdout, stderr)
	}
	bf, err := gguf.Open(in)
	if err != nil {
		t.Fatal(err)
	}
	defer bf.Close()
	pf, err := gguf.Open(pieces)
	if err != nil {
		t.Fatal(err)
	}
	defer pf.Close()
	oldTok, _ := tokenizer.FromGGUF(bf)
	oldRows, newRows := rowsF32(t, bf, "output.weight"), rowsF32(t, pf, "output.weight")
	// The first added piece with a ▁ that the old encoder spells as it
	// spells text (putting the ▁ in front itself).
	var id int32
	var spelling []int32
	for i := int32(1024); i < int32(tk.VocabSize()) && spelling == nil; i++ {
		text := tk.TokenBytes(i)
		if len(text) < 2 || text[0] != ' ' {
			continue
		}
		ids := oldTok.Encode(text[1:], tokenizer.EncodeOptions{})
		if spelt(oldTok, ids) == text && len(ids) > 1 {
			id, spelling = i, ids
		}
	}
	if spelling == nil {
		t.Fatal("no added piece spelt by two or more old ones")
	}
	for j := range newRows[id] {
		var sum float64
		for _, s := range spelling {
			sum += float64(oldRows[s][j])
		}
		if want := sum / float64(len(spelling)); !testkit.Close(float64(newRows[id][j]), want, 1e-6, 1e-6) {
			t.Fatalf("%q (spelt %v) column %d: %v, want %v", tk.Piece(id), spelling, j, newRows[id][j], want)
		}
	}
}
