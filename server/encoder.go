// Reference: llama.cpp tools/server (an embedding model answers /v1/embeddings and refuses
// completions; prompts tokenized with parse_special) over model.EncoderState (bert, issue #21).

package server

import (
	"context"
	"fmt"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/tokenizer/chat"
)

// An encoder model (bert) is loaded beside the decoder path rather than
// through it: it has no KV cache, sampler or chat, so instead of generate
// sessions it keeps a pool of EncoderStates, one per --parallel slot, and
// an embeddings request takes one for all its inputs, which are packed
// into passes of many texts. Generation on it is a 400 (Loaded.Generate).

// loadEncoder finishes loadEntry for a bert file f (taken over).
func loadEncoder(e modelstore.Entry, f *gguf.File, o loadOptions, start time.Time) (*Loaded, error) {
	enc, err := model.OpenEncoderFile(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("server: model %q: %w", e.Name, err)
	}
	l := &Loaded{Entry: e, Encoder: enc, run: newRunner(nil, nil)}
	fail := func(err error) (*Loaded, error) {
		l.close()
		return nil, fmt.Errorf("server: model %q: %w", e.Name, err)
	}
	if l.Tok, err = tokenizer.FromGGUF(f); err != nil {
		return fail(err)
	}
	// A template is kept so that code reading l.Template before
	// Generate refuses the request never meets a nil one.
	if l.Template, err = chat.FromGGUF(f); err != nil {
		return fail(err)
	}
	ctx := o.ctx
	if ctx == 0 {
		ctx = paramInt(e.Parameters, "num_ctx", 0)
	}
	if ctx == 0 {
		ctx = enc.CtxTrain
	}
	ctx = min(ctx, enc.CtxTrain)
	n := max(1, o.parallel)
	l.encoders = make(chan *model.EncoderState, n)
	l.Bytes = enc.WeightBytes()
	for range n {
		st, err := enc.NewState(model.Options{Ctx: ctx, Threads: o.threads})
		if err != nil {
			return fail(err)
		}
		l.encoders <- st
		l.Bytes += st.BufferBytes()
	}
	l.Ctx = ctx
	l.LoadTime = time.Since(start)
	return l, nil
}

// closeEncoder frees an encoder's states and file; every state is back in
// the pool, since a model is closed only when no request holds it.
func (l *Loaded) closeEncoder() {
	for {
		select {
		case st := <-l.encoders:
			st.Close()
		default:
			l.Encoder.Close()
			return
		}
	}
}

// errEncoderGenerate is the 400 for a generation on an encoder model.
func (l *Loaded) errEncoderGenerate() error {
	return Errorf(KindBadRequest, "model", "model %q is a %s embedding model: it cannot generate text (use /v1/embeddings or /api/embed)", l.Entry.Name, l.Encoder.Arch)
}

// embedEncoder is Server.embed for an encoder model: the inputs are
// tokenized with special tokens' text parsed (as llama.cpp's server does,
// so an input's ids equal llama-embedding's), checked, then embedded
// together on one of the model's states.
func (s *Server) embedEncoder(ctx context.Context, l *Loaded, j embedJob, res *embedResult) (*embedResult, error) {
	enc := l.Encoder
	if j.Dimensions != 0 && j.Dimensions != enc.Embd {
		return nil, Errorf(KindBadRequest, "dimensions", "dimensions %d is not supported: model %q gives vectors of %d values and cannot shorten them (omit dimensions)", j.Dimensions, j.Model, enc.Embd)
	}
	if p := enc.Pooling; p != model.PoolMean && p != model.PoolCLS && p != model.PoolLast {
		return nil, Errorf(KindNotSupported, "model", "model %q has pooling type %s, which does not give one vector per input", j.Model, p)
	}
	limit := l.Ctx
	if j.Options != nil {
		if _, err := s.ollamaOptions(l, j.Options); err != nil {
			return nil, err
		}
		if n := embedNumCtx(j.Options); n > 0 {
			limit = min(limit, n)
		}
	}
	seqs, total, err := embedTokensWith(l.Tok, enc.Vocab, j.In, limit, j.Truncate, tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: true})
	if err != nil {
		return nil, err
	}
	res.Tokens = total
	var st *model.EncoderState
	select {
	case st = <-l.encoders:
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	}
	defer func() { l.encoders <- st }()
	res.Vectors = make([][]float32, 0, len(seqs))
	o := model.EmbedOptions{Pooling: enc.Pooling, Normalize: j.Normalize}
	if err := st.EmbedEach(ctx, seqs, o, func(_ int, v []float32) error {
		res.Vectors = append(res.Vectors, append([]float32(nil), v...))
		return nil
	}); err != nil {
		return nil, err
	}
	if l.metrics != nil {
		l.metrics.promptTokens.WithLabelValues(l.Entry.Name).Add(float64(total))
	}
	return res, nil
}
