// Reference: docs/rag.md "Embedders" (the store records which embedder made its vectors).

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/tokenizer"
)

// defaultKBDir is the store used without --kb: $XDG_DATA_HOME/gptgo/kb, or
// the platform's data directory beside the models directory.
func defaultKBDir() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); filepath.IsAbs(d) {
		return filepath.Join(d, "gptgo", "kb"), nil
	}
	switch runtime.GOOS {
	case "darwin":
		d, err := os.UserConfigDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "gptgo", "kb"), nil
	case "windows":
		d, err := os.UserCacheDir()
		if err != nil {
			return "", err
		}
		return filepath.Join(d, "gptgo", "kb"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", err
	}
	return filepath.Join(home, ".local", "share", "gptgo", "kb"), nil
}

// kbEmbedder is a loaded embedder and what to release after it.
type kbEmbedder struct {
	emb     rag.Embedder // nil: no embedder (BM25 only)
	count   func(string) int
	ctx     int    // tokens the embedder sees of a text (0: unbounded)
	model   string // recorded in meta.json
	closers []func()
}

func (k *kbEmbedder) Close() {
	for i := len(k.closers) - 1; i >= 0; i-- {
		k.closers[i]()
	}
}

// loadKBEmbedder loads the embedder spec names: "none", "hash", "" (the
// embedded default embedder), "default" (the embedded default decoder,
// pooled) or a GGUF file (a bert encoder, or a decoder pooled).
func loadKBEmbedder(spec string) (*kbEmbedder, error) {
	switch spec {
	case "none":
		return &kbEmbedder{model: "none"}, nil
	case "hash":
		return &kbEmbedder{emb: rag.HashEmbedder{D: 256}, model: "hash"}, nil
	}
	var gf *gguf.File
	var err error
	name := "default"
	switch spec {
	case "": // the embedded embedder (models/embed.md)
		gf, err = models.OpenEmbed()
		name = "embed"
	case "default": // the embedded default decoder, pooled (stores made before the embedder)
		gf, err = models.OpenDefault()
	default:
		if err := checkModelFile(spec); err != nil {
			return nil, fmt.Errorf("--embed-model: %w", err)
		}
		gf, err = gguf.Open(spec)
		name = filepath.Base(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("--embed-model: %w", err)
	}
	k := &kbEmbedder{model: spec}
	tok, err := tokenizer.FromGGUF(gf)
	if err != nil {
		gf.Close()
		return nil, fmt.Errorf("--embed-model %s: %w", displayName(spec), err)
	}
	if model.IsEncoderFile(gf) {
		enc, err := model.OpenEncoderFile(gf)
		if err != nil {
			gf.Close()
			return nil, fmt.Errorf("--embed-model %s: %w", spec, err)
		}
		k.closers = append(k.closers, func() { enc.Close() })
		st, err := enc.NewState(model.Options{})
		if err != nil {
			k.Close()
			return nil, fmt.Errorf("--embed-model %s: %w", spec, err)
		}
		k.closers = append(k.closers, st.Close)
		me := rag.NewEncoderEmbedder(name, st, tok)
		k.emb, k.count, k.ctx = me, me.CountTokens, st.Ctx()
		return k, nil
	}
	m, err := model.OpenFile(gf)
	if err != nil {
		gf.Close()
		return nil, fmt.Errorf("--embed-model %s: %w", displayName(spec), err)
	}
	k.closers = append(k.closers, func() { m.Close() })
	pool, err := m.DefaultPooling()
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("--embed-model %s: %w", displayName(spec), err)
	}
	st, err := m.NewState(model.Options{})
	if err != nil {
		k.Close()
		return nil, fmt.Errorf("--embed-model %s: %w", displayName(spec), err)
	}
	k.closers = append(k.closers, st.Close)
	me := rag.NewDecoderEmbedder(name, st, tok, pool)
	k.emb, k.count, k.ctx = me, me.CountTokens, st.Ctx()
	return k, nil
}

// openKB opens the store in dir with the embedder spec names, or the one
// its meta.json records when spec is unset.
func openKB(dir, spec string, specSet bool) (*rag.DirStore, *kbEmbedder, error) {
	return openKBWith(dir, spec, specSet, rag.HNSWConfig{}, nil)
}

// openKBWith is openKB with the HNSW graph's parameters and hybrid
// search's fusion (nil: rag.DefaultFusion).
func openKBWith(dir, spec string, specSet bool, h rag.HNSWConfig, fu *rag.Fusion) (*rag.DirStore, *kbEmbedder, error) {
	m, exists, err := rag.ReadMeta(dir)
	if err != nil {
		return nil, nil, fmt.Errorf("--kb: %w", err)
	}
	if exists && !specSet {
		switch {
		case m.Embedder == "":
			spec = "none"
		case m.Embedder == "hash":
			spec = "hash"
		case m.Model == "" && strings.HasPrefix(m.Embedder, "default/"):
			spec = "default" // made with the pooled default decoder
		default:
			spec = m.Model
		}
	}
	k, err := loadKBEmbedder(spec)
	if err != nil {
		return nil, nil, err
	}
	s, err := rag.OpenDir(dir, rag.Options{Embedder: k.emb, Model: k.model, HNSW: h, Fusion: fu})
	if err != nil {
		k.Close()
		return nil, nil, fmt.Errorf("--kb: %w", err)
	}
	return s, k, nil
}
