// Reference: decoder embedders pooled from the final hidden state (Wang et al. 2023, e5-mistral: last
// token; llama.cpp's pooling types), trained with the same InfoNCE as bert (embed.go).

package train

import (
	"fmt"
	"os"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// newDecoderEmbedTrainer takes a decoder's weights (model.TrainableFromGGUF)
// to train as an embedder, pooled as the file's "<arch>.pooling_type" says
// (mean when absent), as State.Embed pools at inference.
func newDecoderEmbedTrainer(f *gguf.File, threads int) (*EmbedTrainer, error) {
	p, ok, err := model.PoolingFromGGUF(f)
	if err != nil {
		return nil, err
	}
	if !ok {
		p = model.PoolMean
	}
	switch p {
	case model.PoolMean, model.PoolCLS, model.PoolLast:
	default:
		return nil, fmt.Errorf("train: embed: the model's pooling %s gives no single vector per text to train", p)
	}
	dec, err := model.TrainableFromGGUF(f)
	if err != nil {
		return nil, err
	}
	tr := &EmbedTrainer{Config: dec.Config, Pooling: p, file: f, dec: dec, params: dec.Params(), byName: map[string]*autograd.Var{}}
	tr.pool = tensor.NewPool(threads)
	tr.tape = autograd.NewTape(tr.pool)
	return tr, nil
}

// encodeDecoder runs each text as its own sequence, padded to the longest
// (the causal mask keeps padding after a text out of its states), takes
// the final normed hidden states (Trainable.HiddenSegments) and pools each
// text's rows: [len(seqs), C].
func (tr *EmbedTrainer) encodeDecoder(tp *autograd.Tape, seqs [][]int32) *autograd.Var {
	T := 0
	for _, s := range seqs {
		T = max(T, len(s))
	}
	tokens := make([]int32, len(seqs)*T) // padding: token 0
	lens := make([]int, len(seqs))
	var rows, ends []int32
	for i, s := range seqs {
		copy(tokens[i*T:], s)
		lens[i] = len(s)
		for j := range s {
			rows = append(rows, int32(i*T+j))
		}
		switch tr.Pooling {
		case model.PoolCLS:
			ends = append(ends, int32(i*T))
		case model.PoolLast:
			ends = append(ends, int32(i*T+len(s)-1))
		}
	}
	h := tr.dec.HiddenSegments(tp, tokens, T, nil)
	if tr.Pooling == model.PoolMean {
		return tp.MeanRows(tp.Embedding(h, rows), lens) // the texts' rows, packed, then their means
	}
	return tp.Embedding(h, ends)
}

// exportDecoder writes the trained decoder as Trainable.WriteGGUF does
// (the tokenizer, name and pooling of the file trained from kept).
func (tr *EmbedTrainer) exportDecoder(path string, dt tensor.DType) error {
	tok, _, err := model.TokenizerKV(tr.file)
	if err != nil {
		tok = nil // a file without a vocabulary stays without one
	}
	name, _ := tr.file.String("general.name")
	tmp := path + ".decoder.tmp"
	if err := tr.dec.WriteGGUF(tmp, tok, dt, name); err != nil {
		return err
	}
	defer os.Remove(tmp)
	// WriteGGUF writes the header of a new model of this shape; the
	// pooling the embedder was trained with must travel with it.
	f, err := gguf.Open(tmp)
	if err != nil {
		return err
	}
	defer f.Close()
	h := f.Header()
	h.Set(tr.Config.Arch+".pooling_type", gguf.NewValue(uint32(tr.Pooling)))
	if err := h.Layout(); err != nil {
		return err
	}
	if err := gguf.WriteFile(path, h, f.Source()); err != nil {
		return fmt.Errorf("train: embed: %s: %w", path, err)
	}
	return nil
}
