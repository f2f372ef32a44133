// Reference: nanoGPT's data/*/prepare.py (text → token ids in a binary shard, a validation split) and
// llm.c's dev/data (shard files the loader memory-maps); the shard format is package data's.

package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// loadTokenizer reads data.vocab, else the tokenizer of model.init.
func (r *pretrainRun) loadTokenizer() error {
	path := r.cfg.Data.Vocab
	if path == "" {
		path = r.cfg.Model.Init
	}
	if path == "" {
		return nil
	}
	if isGGUF(path) {
		f, err := gguf.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		kv, _, err := model.TokenizerKV(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		t, err := tokenizer.FromGGUF(f)
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		r.tok, r.tokKV = t, kv
		return nil
	}
	v, err := tokenizer.LoadVocab(path)
	if err != nil {
		return err
	}
	if r.tok, err = v.Tokenizer(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	r.tokKV = v.GGUFKV()
	return nil
}

func hasMagic(path, magic string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	b := make([]byte, len(magic))
	_, err = io.ReadFull(f, b)
	return err == nil && string(b) == magic
}

func isGGUF(path string) bool { return hasMagic(path, "GGUF") }

// prepareData returns the training and validation shards. Text is
// tokenized into OUT/data/{train,val}.tok (again on --resume: the same
// tokenizer gives the same tokens, so the saved loader position still
// points at the same batch).
func (r *pretrainRun) prepareData() (trainShards, valShards []string, vocab int, err error) {
	d := r.cfg.Data
	split := func(paths []string) (shards, text []string) {
		for _, p := range paths {
			if hasMagic(p, data.ShardMagic) {
				shards = append(shards, p)
			} else {
				text = append(text, p)
			}
		}
		return
	}
	trainShards, trainText := split(d.Train)
	valShards, valText := split(d.Val)
	if (len(trainText) > 0 || len(valText) > 0) && r.tok == nil {
		return nil, nil, 0, fmt.Errorf("text data needs a tokenizer: give --vocab (a GGUF vocabulary from `gptgo tokenizer train`, tokenizer.json, …)")
	}
	if len(trainText) > 0 {
		toks, err := r.tokenize(trainText)
		if err != nil {
			return nil, nil, 0, err
		}
		if len(d.Val) == 0 && d.ValFraction > 0 {
			cut := len(toks) - int(float64(len(toks))*d.ValFraction)
			p := filepath.Join(r.dir, "data", "val.tok")
			if err := r.writeShard(p, toks[cut:]); err != nil {
				return nil, nil, 0, err
			}
			valShards, toks = append(valShards, p), toks[:cut]
		}
		p := filepath.Join(r.dir, "data", "train.tok")
		if err := r.writeShard(p, toks); err != nil {
			return nil, nil, 0, err
		}
		trainShards = append(trainShards, p)
	}
	if len(valText) > 0 {
		toks, err := r.tokenize(valText)
		if err != nil {
			return nil, nil, 0, err
		}
		p := filepath.Join(r.dir, "data", "val.tok")
		if err := r.writeShard(p, toks); err != nil {
			return nil, nil, 0, err
		}
		valShards = append(valShards, p)
	}
	for _, p := range append(append([]string(nil), trainShards...), valShards...) {
		h, err := shardHeader(p)
		if err != nil {
			return nil, nil, 0, err
		}
		switch {
		case vocab == 0:
			vocab = int(h.VocabSize)
		case vocab != int(h.VocabSize):
			return nil, nil, 0, fmt.Errorf("%s: vocabulary of %d, other shards have %d", p, h.VocabSize, vocab)
		}
	}
	if r.tok != nil && vocab != r.tok.VocabSize() {
		return nil, nil, 0, fmt.Errorf("the shards' vocabulary of %d differs from the tokenizer's %d", vocab, r.tok.VocabSize())
	}
	return trainShards, valShards, vocab, nil
}

func shardHeader(path string) (data.ShardHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return data.ShardHeader{}, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return data.ShardHeader{}, err
	}
	return data.ReadShardHeader(bufio.NewReader(f), st.Size(), path)
}

// tokenize encodes the files into one stream. A JSON record is a document
// and ends with EOS (when the vocabulary has one); a text file is one
// document, streamed in pieces cut where pre-tokenization restarts, so
// encoding the pieces gives the tokens of the whole.
func (r *pretrainRun) tokenize(paths []string) ([]int32, error) {
	var toks []int32
	eos := r.tok.EOS()
	for _, p := range paths {
		ext := strings.ToLower(filepath.Ext(p))
		records := ext == ".jsonl" || ext == ".ndjson" || ext == ".json"
		err := tokenizer.ForEachText(p, r.cfg.Data.Field, nil, func(s string) error {
			toks = append(toks, r.tok.Encode(s, tokenizer.EncodeOptions{})...)
			if records && eos >= 0 {
				toks = append(toks, eos)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		if !records && eos >= 0 {
			toks = append(toks, eos)
		}
	}
	return toks, nil
}

// writeShard writes toks as one shard without a separator of its own: the
// stream already holds the EOS tokens.
func (r *pretrainRun) writeShard(path string, toks []int32) error {
	w, err := data.CreateShard(path, r.tok.VocabSize(), -1)
	if err != nil {
		return err
	}
	if err := w.WriteDoc(toks); err != nil {
		w.Abort()
		return err
	}
	return w.Close()
}
