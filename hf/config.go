// Reference: llama.cpp convert_hf_to_gguf.py (TextModel.set_gguf_parameters,
// LlamaModel.set_gguf_parameters with its rope_scaling cases and the
// llama-3 rope_freqs factors, GPT2Model.set_gguf_parameters) and
// gguf-py/gguf/constants.py (Keys.LLM, Keys.Attention, Keys.Rope); the
// Hugging Face configuration classes (LlamaConfig, Qwen2Config, GPT2Config)
// for the config.json field names and their defaults.

package hf

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gptgo/gptgo/gguf"
)

// hfConfig is config.json, decoded with numbers kept as written.
type hfConfig struct {
	path string
	m    map[string]any
}

func readConfig(dir string) (*hfConfig, error) {
	path := filepath.Join(dir, "config.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("hf: %w", err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	c := &hfConfig{path: path}
	if err := d.Decode(&c.m); err != nil || c.m == nil {
		return nil, fmt.Errorf("hf: %s: not a JSON object: %v", path, err)
	}
	return c, nil
}

// arch returns the first of "architectures".
func (c *hfConfig) arch() (string, error) {
	as, _ := c.m["architectures"].([]any)
	if len(as) == 0 {
		return "", fmt.Errorf("hf: %s: no \"architectures\" list", c.path)
	}
	s, _ := as[0].(string)
	return s, nil
}

func (c *hfConfig) has(key string) bool { v, ok := c.m[key]; return ok && v != nil }

// int reads a non-negative integer field; def when absent (def < 0: required).
func (c *hfConfig) int(key string, def int) (int, error) {
	v, ok := c.m[key]
	if !ok || v == nil {
		if def < 0 {
			return 0, fmt.Errorf("hf: %s: field %q is missing", c.path, key)
		}
		return def, nil
	}
	n, ok := v.(json.Number)
	i, err := n.Int64()
	if !ok || err != nil || i < 0 || i > math.MaxInt32 {
		return 0, fmt.Errorf("hf: %s: field %q is %v, want a non-negative integer", c.path, key, v)
	}
	return int(i), nil
}

// float reads a number field as float32, as GGUF stores it.
func (c *hfConfig) float(key string, def float64) (float32, error) {
	v, ok := c.m[key]
	if !ok || v == nil {
		if math.IsNaN(def) {
			return 0, fmt.Errorf("hf: %s: field %q is missing", c.path, key)
		}
		return float32(def), nil
	}
	n, ok := v.(json.Number)
	f, err := n.Float64()
	if !ok || err != nil {
		return 0, fmt.Errorf("hf: %s: field %q is %v, want a number", c.path, key, v)
	}
	return float32(f), nil
}

func (c *hfConfig) bool(key string, def bool) bool {
	if b, ok := c.m[key].(bool); ok {
		return b
	}
	return def
}

// hparams are the shape facts the converter checks tensors against.
type hparams struct {
	embd, layers, heads, kvHeads, headDim, ff, ctx, vocab int
	tied                                                  bool
}

// metadata turns config.json into the <arch>.* keys, in llama.cpp's order,
// and returns the shape facts. ropeFreqs is set for llama-3 rope scaling:
// the per-dimension factors llama.cpp stores as the tensor rope_freqs.weight.
func (c *hfConfig) metadata(a *arch) (kv []gguf.KV, hp hparams, ropeFreqs []float32, err error) {
	add := func(key string, v any) { kv = append(kv, gguf.KV{Key: a.gguf + "." + key, Value: gguf.NewValue(v)}) }
	r := &fieldReader{c: c}
	geti, getf := r.int, r.float
	hp.vocab = geti("vocab_size", -1)
	if a.gguf == "gpt2" {
		hp.embd = geti("n_embd", -1)
		hp.layers = geti("n_layer", -1)
		hp.heads = geti("n_head", -1)
		hp.ctx = geti("n_ctx", geti("n_positions", -1))
		hp.ff = geti("n_inner", 4*hp.embd)
		eps := getf("layer_norm_epsilon", 1e-5)
		hp.kvHeads = hp.heads
		hp.tied = c.bool("tie_word_embeddings", true)
		if len(r.errs) > 0 {
			return nil, hp, nil, joinErrs(r.errs)
		}
		add("block_count", uint32(hp.layers))
		add("context_length", uint32(hp.ctx))
		add("embedding_length", uint32(hp.embd))
		add("feed_forward_length", uint32(hp.ff))
		add("attention.head_count", uint32(hp.heads))
		add("attention.layer_norm_epsilon", eps)
		if hp.heads > 0 {
			hp.headDim = hp.embd / hp.heads
		}
		return kv, hp, nil, nil
	}
	if a.gguf == "bert" {
		return c.bertMetadata(a)
	}
	hp.embd = geti("hidden_size", -1)
	hp.layers = geti("num_hidden_layers", -1)
	hp.heads = geti("num_attention_heads", -1)
	hp.kvHeads = geti("num_key_value_heads", hp.heads)
	hp.ff = geti("intermediate_size", -1)
	hp.ctx = geti("max_position_embeddings", -1)
	eps := getf("rms_norm_eps", math.NaN())
	hp.tied = c.bool("tie_word_embeddings", false)
	if len(r.errs) > 0 {
		return nil, hp, nil, joinErrs(r.errs)
	}
	if hp.heads == 0 || hp.kvHeads == 0 || hp.heads%hp.kvHeads != 0 {
		return nil, hp, nil, fmt.Errorf("hf: %s: %d attention heads, %d key/value heads", c.path, hp.heads, hp.kvHeads)
	}
	hp.headDim = geti("head_dim", hp.embd/hp.heads)
	if hp.headDim == 0 || hp.headDim > 1<<16 {
		return nil, hp, nil, fmt.Errorf("hf: %s: head width %d (head_dim, or hidden_size / num_attention_heads)", c.path, hp.headDim)
	}
	add("block_count", uint32(hp.layers))
	add("context_length", uint32(hp.ctx))
	add("embedding_length", uint32(hp.embd))
	add("feed_forward_length", uint32(hp.ff))
	add("attention.head_count", uint32(hp.heads))
	// As llama.cpp: the key/value head count and the head width only when
	// config.json states them (absent, the runtime's defaults are the same).
	if c.has("num_key_value_heads") {
		add("attention.head_count_kv", uint32(hp.kvHeads))
	}
	if c.has("rope_theta") {
		add("rope.freq_base", getf("rope_theta", 0))
	}
	add("attention.layer_norm_rms_epsilon", eps)
	if c.has("head_dim") {
		add("attention.key_length", uint32(hp.headDim))
		add("attention.value_length", uint32(hp.headDim))
	}
	if a.gguf == "llama" {
		add("vocab_size", uint32(hp.vocab))
		add("rope.dimension_count", uint32(hp.headDim))
	}
	ropeFreqs, rkv, err := c.ropeScaling(a, hp)
	if err != nil {
		return nil, hp, nil, err
	}
	kv = append(kv, rkv...)
	if len(r.errs) > 0 {
		return nil, hp, nil, joinErrs(r.errs)
	}
	return kv, hp, ropeFreqs, nil
}

// ropeScaling reads "rope_scaling". Linear scaling is a metadata factor;
// llama-3 scaling becomes per-dimension factors (llama.cpp's rope_freqs
// tensor, which the model reads); YaRN and the rest are refused because
// the model package does not compute them.
func (c *hfConfig) ropeScaling(a *arch, hp hparams) ([]float32, []gguf.KV, error) {
	rs, ok := c.m["rope_scaling"].(map[string]any)
	if !ok {
		return nil, nil, nil
	}
	typ, _ := rs["rope_type"].(string)
	if typ == "" {
		typ, _ = rs["type"].(string)
	}
	num := func(key string, def float64) float64 {
		if n, ok := rs[key].(json.Number); ok {
			if f, err := n.Float64(); err == nil {
				return f
			}
		}
		return def
	}
	factor := num("factor", 0)
	switch typ {
	case "default", "":
		return nil, nil, nil
	case "linear":
		if factor <= 0 {
			return nil, nil, fmt.Errorf("hf: %s: rope_scaling linear needs a positive factor", c.path)
		}
		return nil, []gguf.KV{
			{Key: a.gguf + ".rope.scaling.type", Value: gguf.NewValue("linear")},
			{Key: a.gguf + ".rope.scaling.factor", Value: gguf.NewValue(float32(factor))},
		}, nil
	case "llama3":
		if a.gguf != "llama" {
			break
		}
		base, _ := c.float("rope_theta", 10000)
		low, high := num("low_freq_factor", 1), num("high_freq_factor", 4)
		old := num("original_max_position_embeddings", 8192)
		if factor <= 0 || high <= low {
			return nil, nil, fmt.Errorf("hf: %s: rope_scaling llama3 needs factor > 0 and high_freq_factor > low_freq_factor", c.path)
		}
		lowWave, highWave := old/low, old/high
		freqs := make([]float32, hp.headDim/2)
		for i := range freqs {
			freq := 1 / math.Pow(float64(base), float64(2*i)/float64(hp.headDim))
			wave := 2 * math.Pi / freq
			switch {
			case wave < highWave:
				freqs[i] = 1
			case wave > lowWave:
				freqs[i] = float32(factor)
			default:
				smooth := (old/wave - low) / (high - low)
				freqs[i] = float32(1 / ((1-smooth)/factor + smooth))
			}
		}
		return freqs, nil, nil
	}
	return nil, nil, fmt.Errorf("hf: %s: rope_scaling %q is not supported for %s (supported: linear%s)", c.path, typ, a.hf,
		map[bool]string{true: ", llama3", false: ""}[a.gguf == "llama"])
}

// fieldReader reads numbers of config.json for one metadata pass, keeping
// every error so that one message names all the bad fields at once.
type fieldReader struct {
	c    *hfConfig
	errs []error
}

func (r *fieldReader) int(key string, def int) int {
	n, err := r.c.int(key, def)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	return n
}

func (r *fieldReader) float(key string, def float64) float32 {
	f, err := r.c.float(key, def)
	if err != nil {
		r.errs = append(r.errs, err)
	}
	return f
}

func joinErrs(errs []error) error {
	var s []string
	for _, e := range errs {
		s = append(s, strings.TrimPrefix(e.Error(), "hf: "))
	}
	return fmt.Errorf("hf: %s", strings.Join(s, "; "))
}

// bertMetadata reads a BertConfig: the encoder's sizes, its LayerNorm
// epsilon, bidirectional attention, and the pooling a sentence-transformers
// directory declares (modules.json → the Pooling module's config.json), as
// llama.cpp's BertModel writes them.
func (c *hfConfig) bertMetadata(a *arch) ([]gguf.KV, hparams, []float32, error) {
	var hp hparams
	r := &fieldReader{c: c}
	geti := r.int
	hp.vocab = geti("vocab_size", -1)
	hp.embd = geti("hidden_size", -1)
	hp.layers = geti("num_hidden_layers", -1)
	hp.heads = geti("num_attention_heads", -1)
	hp.ff = geti("intermediate_size", -1)
	hp.ctx = geti("max_position_embeddings", -1)
	eps := r.float("layer_norm_eps", 1e-12)
	if len(r.errs) > 0 {
		return nil, hp, nil, joinErrs(r.errs)
	}
	if pe, _ := c.m["position_embedding_type"].(string); pe != "" && pe != "absolute" {
		return nil, hp, nil, fmt.Errorf("hf: %s: position_embedding_type %q is not supported (absolute is)", c.path, pe)
	}
	if hp.heads == 0 || hp.embd%hp.heads != 0 {
		return nil, hp, nil, fmt.Errorf("hf: %s: hidden_size %d does not split into %d heads", c.path, hp.embd, hp.heads)
	}
	hp.kvHeads, hp.headDim, hp.tied = hp.heads, hp.embd/hp.heads, true
	add := func(key string, v any) gguf.KV { return gguf.KV{Key: "bert." + key, Value: gguf.NewValue(v)} }
	kv := []gguf.KV{
		add("block_count", uint32(hp.layers)),
		add("context_length", uint32(hp.ctx)),
		add("embedding_length", uint32(hp.embd)),
		add("feed_forward_length", uint32(hp.ff)),
		add("attention.head_count", uint32(hp.heads)),
		add("attention.layer_norm_epsilon", eps),
		add("attention.causal", false),
	}
	pool, err := sentencePooling(filepath.Dir(c.path))
	if err != nil {
		return nil, hp, nil, err
	}
	if pool > 0 {
		kv = append(kv, add("pooling_type", uint32(pool)))
	}
	return kv, hp, nil, nil
}

// sentencePooling reads a sentence-transformers pooling module: 1 mean,
// 2 cls, 3 last (llama.cpp's numbers); 0 when the directory has none.
func sentencePooling(dir string) (int, error) {
	path := filepath.Join(dir, "modules.json")
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("hf: %w", err)
	}
	var mods []struct {
		Path string `json:"path"`
		Type string `json:"type"`
	}
	if err := json.Unmarshal(b, &mods); err != nil {
		return 0, fmt.Errorf("hf: %s: %v", path, err)
	}
	for _, m := range mods {
		if m.Type != "sentence_transformers.models.Pooling" {
			continue
		}
		if m.Path != filepath.Base(m.Path) && m.Path != filepath.ToSlash(filepath.Clean(m.Path)) || strings.Contains(m.Path, "..") {
			return 0, fmt.Errorf("hf: %s: pooling module path %q leaves the directory", path, m.Path)
		}
		pc, err := readJSONFile(filepath.Join(dir, m.Path, "config.json"))
		if err != nil {
			return 0, err
		}
		for key, n := range map[string]int{"pooling_mode_mean_tokens": 1, "pooling_mode_cls_token": 2, "pooling_mode_lasttoken": 3} {
			if on, _ := pc[key].(bool); on {
				return n, nil
			}
		}
		return 0, fmt.Errorf("hf: %s: pooling mode not supported (mean, cls and last token are)", filepath.Join(dir, m.Path, "config.json"))
	}
	return 0, nil
}
