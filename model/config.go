// Reference: llama.cpp src/llama-model.cpp (llm_load_hparams, llm_build_llama / _qwen2 / _gpt2) and
// src/llama-arch.cpp (the "<arch>.*" GGUF key names).

package model

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/gptgo/gptgo/gguf"
)

// Legend for shapes in this package (GGML order, fastest axis first):
//
//	V vocabulary size     C embedding width (n_embd)    L layers
//	H query heads         K key/value heads (GQA)        D head width
//	F feed-forward width  T context length (KV slots)    B tokens in a batch

// NormKind is the normalisation a model applies before attention, before
// the feed-forward block and before the output head.
type NormKind int

const (
	RMSNorm   NormKind = iota // x / rms(x) · w (LLaMA, Qwen2)
	LayerNorm                 // (x - mean) / std · w + b (GPT-2)
)

// RopeKind is how positions enter the model.
type RopeKind int

const (
	RopeNone RopeKind = iota // no rotary embedding (GPT-2 learns position vectors)
	RopeNorm                 // rotate adjacent pairs (x[2i], x[2i+1]) (LLaMA)
	RopeNeox                 // rotate (x[i], x[i+D/2]) (GPT-NeoX, Qwen2)
)

// FFNKind is the feed-forward block.
type FFNKind int

const (
	FFNSwiGLU FFNKind = iota // down(silu(gate(x)) · up(x))
	FFNGELU                  // down(gelu(up(x) + b) ) + b
)

// Config is everything about a model's shape and arithmetic, read from
// the "<arch>.*" metadata keys. It holds no weights.
type Config struct {
	Arch     string  // "general.architecture": llama, qwen2 or gpt2
	Vocab    int     // V: rows of token_embd.weight
	Embd     int     // C: "<arch>.embedding_length"
	Layers   int     // L: "<arch>.block_count"
	Heads    int     // H: "<arch>.attention.head_count"
	KVHeads  int     // K: "<arch>.attention.head_count_kv" (default H; H/K query heads share one KV head)
	HeadDim  int     // D: "<arch>.attention.key_length" (default C/H)
	FF       int     // F: "<arch>.feed_forward_length"
	CtxTrain int     // "<arch>.context_length": positions the model was trained on
	NormEps  float32 // "<arch>.attention.layer_norm_rms_epsilon" (RMSNorm) or ".layer_norm_epsilon" (LayerNorm)

	RopeDims  int     // "<arch>.rope.dimension_count" (default D): leading elements of a head that rotate
	RopeBase  float32 // "<arch>.rope.freq_base" (default 10000)
	RopeScale float32 // 1 / "<arch>.rope.scaling.factor" for linear scaling; 1 without

	Norm       NormKind
	Rope       RopeKind
	FFN        FFNKind
	FusedQKV   bool // one attn_qkv matrix instead of attn_q/k/v (GPT-2)
	LearnedPos bool // position_embd.weight added to the token embeddings (GPT-2)
}

// archDefaults are the per-architecture switches; everything else comes
// from the file. Add an architecture here and in weights.go.
var archDefaults = map[string]Config{
	"llama": {Norm: RMSNorm, Rope: RopeNorm, FFN: FFNSwiGLU},
	"qwen2": {Norm: RMSNorm, Rope: RopeNeox, FFN: FFNSwiGLU},
	"gpt2":  {Norm: LayerNorm, Rope: RopeNone, FFN: FFNGELU, FusedQKV: true, LearnedPos: true},
	// bert is an encoder (Config.IsEncoder): Model refuses it and Encoder
	// (bert.go) runs it; its norms come after the residual adds.
	"bert": {Norm: LayerNorm, Rope: RopeNone, FFN: FFNGELU, LearnedPos: true},
	// nomic-bert is bert with rotary positions, a fused QKV and SwiGLU.
	"nomic-bert": {Norm: LayerNorm, Rope: RopeNeox, FFN: FFNSwiGLU, FusedQKV: true},
}

// Architectures lists the decoder values of general.architecture: those
// Model runs. The encoders (EncoderArchitectures) are apart because they
// cannot generate.
func Architectures() []string {
	names := make([]string, 0, len(archDefaults))
	for n := range archDefaults {
		if !(Config{Arch: n}).IsEncoder() {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// EncoderArchitectures lists the encoder values of general.architecture:
// those Encoder runs (bert.go).
func EncoderArchitectures() []string { return []string{"bert", "nomic-bert"} }

// ConfigFromGGUF reads the hyperparameters of f. The vocabulary size comes
// from the token embedding's shape, which the file must hold.
func ConfigFromGGUF(f *gguf.File) (Config, error) {
	arch := f.Arch()
	c, ok := archDefaults[arch]
	if !ok {
		return Config{}, fmt.Errorf("model: architecture %q is not supported (supported: %s)", arch, strings.Join(Architectures(), ", "))
	}
	c.Arch = arch
	var errs []string
	req := func(key string) int {
		v, ok := f.Uint(arch + "." + key)
		if !ok {
			errs = append(errs, arch+"."+key)
		}
		return int(v)
	}
	opt := func(key string, def int) int {
		if v, ok := f.Uint(arch + "." + key); ok {
			return int(v)
		}
		return def
	}
	optF := func(key string, def float32) float32 {
		if v, ok := f.Float(arch + "." + key); ok {
			return float32(v)
		}
		return def
	}
	c.Embd = req("embedding_length")
	c.Layers = req("block_count")
	c.Heads = req("attention.head_count")
	c.FF = req("feed_forward_length")
	c.CtxTrain = req("context_length")
	if c.Norm == RMSNorm {
		v, ok := f.Float(arch + ".attention.layer_norm_rms_epsilon")
		if !ok {
			errs = append(errs, arch+".attention.layer_norm_rms_epsilon")
		}
		c.NormEps = float32(v)
	} else {
		v, ok := f.Float(arch + ".attention.layer_norm_epsilon")
		if !ok {
			errs = append(errs, arch+".attention.layer_norm_epsilon")
		}
		c.NormEps = float32(v)
	}
	if len(errs) > 0 {
		return Config{}, fmt.Errorf("model: %s file lacks required metadata: %s", arch, strings.Join(errs, ", "))
	}
	c.KVHeads = opt("attention.head_count_kv", c.Heads)
	if c.Heads > 0 {
		c.HeadDim = opt("attention.key_length", c.Embd/c.Heads)
		if vl := opt("attention.value_length", c.HeadDim); vl != c.HeadDim {
			return Config{}, fmt.Errorf("model: key length %d differs from value length %d; not supported", c.HeadDim, vl)
		}
	}
	c.RopeDims = opt("rope.dimension_count", c.HeadDim)
	c.RopeBase = optF("rope.freq_base", 10000)
	c.RopeScale = 1
	typ, _ := f.String(arch + ".rope.scaling.type")
	factor := optF("rope.scaling.factor", optF("rope.scale_linear", 0))
	switch typ {
	case "", "none", "linear":
		if factor != 0 && typ != "none" {
			c.RopeScale = 1 / factor
		}
	default:
		return Config{}, fmt.Errorf("model: rope scaling %q is not supported (supported: none, linear, and llama-3 factors in rope_freqs.weight)", typ)
	}
	ti, ok := f.Tensor("token_embd.weight")
	if !ok || len(ti.Shape) != 2 {
		return Config{}, fmt.Errorf("model: %s file has no 2-D tensor \"token_embd.weight\" to take the vocabulary size from", arch)
	}
	c.Vocab = int(ti.Shape[1])
	return c, c.Validate()
}

// Validate checks the shape facts the forward pass relies on.
func (c Config) Validate() error {
	var errs []string
	check := func(ok bool, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	if _, ok := archDefaults[c.Arch]; !ok {
		return fmt.Errorf("model: architecture %q is not supported (supported: %s)", c.Arch, strings.Join(Architectures(), ", "))
	}
	check(c.Vocab > 0, "vocabulary size %d", c.Vocab)
	check(c.Embd > 0, "embedding length %d", c.Embd)
	check(c.Layers > 0, "block count %d", c.Layers)
	check(c.Heads > 0 && c.KVHeads > 0 && c.Heads%max(c.KVHeads, 1) == 0, "head count %d is not a multiple of KV head count %d", c.Heads, c.KVHeads)
	check(c.HeadDim > 0, "head width %d", c.HeadDim)
	check(c.FF > 0, "feed-forward length %d", c.FF)
	check(c.CtxTrain > 0, "context length %d", c.CtxTrain)
	check(c.NormEps > 0, "norm epsilon %g", c.NormEps)
	if c.Rope != RopeNone {
		check(c.RopeDims > 0 && c.RopeDims%2 == 0 && c.RopeDims <= c.HeadDim, "rope dimension count %d (head width %d)", c.RopeDims, c.HeadDim)
		check(c.RopeBase > 0, "rope base %g", c.RopeBase)
		check(c.RopeScale > 0, "rope scale %g", c.RopeScale)
	}
	if c.FusedQKV || c.Rope == RopeNone {
		check(c.Heads*c.HeadDim == c.Embd, "heads %d × width %d ≠ embedding %d", c.Heads, c.HeadDim, c.Embd)
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return fmt.Errorf("model: bad %s config: %s", c.Arch, strings.Join(errs, "; "))
	}
	return nil
}

// QDim is the width of the query projection (H·D).
func (c Config) QDim() int { return c.Heads * c.HeadDim }

// KVDim is the width of one token's keys or values (K·D).
func (c Config) KVDim() int { return c.KVHeads * c.HeadDim }
