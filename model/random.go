// Reference: llama.cpp convert_hf_to_gguf.py (the metadata keys and their order, F32 vectors) and
// src/llama-model.cpp (llama_model::load_tensors: names and shapes); GPT-2 and llama2.c for the initialisation.

package model

import (
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/tensor"
)

// ArchConfig returns the switches of arch with the norm epsilon and RoPE
// base its best-known models use (LLaMA-2: 1e-5 and 10000; Qwen2: 1e-6 and
// 1e6; GPT-2: 1e-5). The shape fields are left for the caller to fill.
func ArchConfig(arch string) (Config, error) {
	c, ok := archDefaults[arch]
	if !ok {
		return Config{}, fmt.Errorf("model: architecture %q is not supported (supported: %s)", arch, strings.Join(Architectures(), ", "))
	}
	c.Arch = arch
	c.NormEps, c.RopeBase, c.RopeScale = 1e-5, 10000, 1
	if arch == "qwen2" {
		c.NormEps, c.RopeBase = 1e-6, 1e6
	}
	if c.IsEncoder() { // BERT's LayerNorm epsilon; nomic-bert's rotary base (bert.go)
		c.NormEps = 1e-12
		if arch == "nomic-bert" {
			c.RopeBase = 1000
		}
	}
	return c, nil
}

// InitKind is how a new tensor's values are drawn.
type InitKind int

const (
	InitNormal   InitKind = iota // N(0, std)
	InitResidual                 // N(0, std/√(2L)): projections that add into the residual stream (GPT-2 §2.3)
	InitOnes                     // norm weights
	InitZeros                    // biases
)

// TensorSpec is one weight of a model as llama.cpp names and shapes it.
type TensorSpec struct {
	Name  string
	Shape []int64 // GGML order: Shape[0] is the row length
	Init  InitKind
	// KeepF32: stored as F32 whatever the file type, as llama.cpp's
	// converter keeps vectors and GPT-2's position embeddings (and as
	// llama-quantize leaves them).
	KeepF32 bool
}

// Elements is the product of the shape.
func (s TensorSpec) Elements() int64 {
	n := int64(1)
	for _, d := range s.Shape {
		n *= d
	}
	return n
}

// TensorSpecs lists every tensor a model of c is made of, in the order
// llama.cpp loads them: embeddings, then each block, then the output norm
// and head. tied leaves output.weight out (the head reuses token_embd);
// GPT-2 always has its own head, as llama.cpp requires. Biases are listed
// where llama.cpp requires them (Qwen2's q/k/v, every GPT-2 bias).
func (c Config) TensorSpecs(tied bool) []TensorSpec {
	if c.IsEncoder() { // bert: its own names, no output head (bert.go)
		return c.bertTensorSpecs()
	}
	C, V, F := int64(c.Embd), int64(c.Vocab), int64(c.FF)
	qd, kvd := int64(c.QDim()), int64(c.KVDim())
	specs := []TensorSpec{{Name: "token_embd.weight", Shape: []int64{C, V}}}
	if c.LearnedPos {
		specs = append(specs, TensorSpec{Name: "position_embd.weight", Shape: []int64{C, int64(c.CtxTrain)}, KeepF32: true})
	}
	ln := c.Norm == LayerNorm
	for i := range c.Layers {
		add := func(name string, init InitKind, shape ...int64) {
			specs = append(specs, TensorSpec{Name: fmt.Sprintf("blk.%d.%s", i, name), Shape: shape, Init: init, KeepF32: len(shape) == 1})
		}
		add("attn_norm.weight", InitOnes, C)
		if ln {
			add("attn_norm.bias", InitZeros, C)
		}
		if c.FusedQKV {
			add("attn_qkv.weight", InitNormal, C, qd+2*kvd)
			add("attn_qkv.bias", InitZeros, qd+2*kvd)
		} else {
			add("attn_q.weight", InitNormal, C, qd)
			if c.Arch == "qwen2" {
				add("attn_q.bias", InitZeros, qd)
			}
			add("attn_k.weight", InitNormal, C, kvd)
			if c.Arch == "qwen2" {
				add("attn_k.bias", InitZeros, kvd)
			}
			add("attn_v.weight", InitNormal, C, kvd)
			if c.Arch == "qwen2" {
				add("attn_v.bias", InitZeros, kvd)
			}
		}
		add("attn_output.weight", InitResidual, qd, C)
		if ln {
			add("attn_output.bias", InitZeros, C)
		}
		add("ffn_norm.weight", InitOnes, C)
		if ln {
			add("ffn_norm.bias", InitZeros, C)
		}
		if c.FFN == FFNSwiGLU {
			add("ffn_gate.weight", InitNormal, C, F)
		}
		add("ffn_down.weight", InitResidual, F, C)
		if ln {
			add("ffn_down.bias", InitZeros, C)
		}
		add("ffn_up.weight", InitNormal, C, F)
		if ln {
			add("ffn_up.bias", InitZeros, F)
		}
	}
	specs = append(specs, TensorSpec{Name: "output_norm.weight", Shape: []int64{C}, Init: InitOnes, KeepF32: true})
	if ln {
		specs = append(specs, TensorSpec{Name: "output_norm.bias", Shape: []int64{C}, Init: InitZeros, KeepF32: true})
	}
	if !tied || c.Arch == "gpt2" {
		specs = append(specs, TensorSpec{Name: "output.weight", Shape: []int64{C, V}})
	}
	return specs
}

// InitOptions choose the type, seed and scale of a random model.
type InitOptions struct {
	Type      tensor.DType // F32, F16 or BF16 for the tensors that are not KeepF32
	Seed      uint64       // the same seed gives the same bytes, whatever Threads is
	Std       float64      // standard deviation of the matrices; 0 means 0.02 (GPT-2, llama2.c)
	Tied      bool         // llama, qwen2: no output.weight, the head reuses token_embd
	Name      string       // general.name; empty means "<arch> <millions of parameters>M random"
	Tokenizer []gguf.KV    // tokenizer.* metadata, copied verbatim (see TokenizerKV)
	Threads   int          // goroutines drawing numbers; 0 means GOMAXPROCS
}

// fileTypes maps the float types a new model may have to general.file_type
// (llama.cpp's LLAMA_FTYPE numbers: ALL_F32 0, MOSTLY_F16 1, MOSTLY_BF16 32).
var fileTypes = map[tensor.DType]uint32{tensor.F32: 0, tensor.F16: 1, tensor.BF16: 32}

// TokenizerKV returns the tokenizer.* entries of f (vocabulary, merges,
// special ids, chat template), which is all a new model needs to speak
// f's vocabulary, and the vocabulary's size.
func TokenizerKV(f *gguf.File) ([]gguf.KV, int, error) {
	var kv []gguf.KV
	for _, e := range f.KV {
		if strings.HasPrefix(e.Key, "tokenizer.") {
			kv = append(kv, e)
		}
	}
	tokens, ok := f.Strings("tokenizer.ggml.tokens")
	if !ok || len(tokens) == 0 {
		return nil, 0, fmt.Errorf("model: no tokenizer.ggml.tokens array: not a vocabulary")
	}
	return kv, len(tokens), nil
}

// RandomGGUF returns the header of a new model of shape c with random
// weights, and the source that draws them when gguf.Write asks: nothing is
// held in memory beyond a few chunks per worker, so a 2 GB model streams.
// Every chunk of 64 Ki values has its own generator seeded from (Seed,
// tensor name, chunk), which is what makes the bytes independent of the
// number of threads and of the order tensors are asked in.
func RandomGGUF(c Config, o InitOptions) (*gguf.Header, gguf.TensorSource, error) {
	if err := checkInit(c, o); err != nil {
		return nil, nil, err
	}
	specs := c.TensorSpecs(o.Tied)
	var params int64
	for _, s := range specs {
		params += s.Elements()
	}
	name := o.Name
	if name == "" {
		name = fmt.Sprintf("%s %.0fM random", c.Arch, float64(params)/1e6)
	}
	h := &gguf.Header{Version: 3}
	a := c.Arch + "."
	u32 := func(x int) gguf.Value { return gguf.NewValue(uint32(x)) }
	f32 := func(x float32) gguf.Value { return gguf.NewValue(x) }
	h.Set("general.architecture", gguf.NewValue(c.Arch))
	h.Set("general.type", gguf.NewValue("model"))
	h.Set("general.name", gguf.NewValue(name))
	h.Set(a+"block_count", u32(c.Layers))
	h.Set(a+"context_length", u32(c.CtxTrain))
	h.Set(a+"embedding_length", u32(c.Embd))
	h.Set(a+"feed_forward_length", u32(c.FF))
	h.Set(a+"attention.head_count", u32(c.Heads))
	h.Set(a+"attention.head_count_kv", u32(c.KVHeads))
	if c.Rope != RopeNone {
		h.Set(a+"rope.freq_base", f32(c.RopeBase))
	}
	if c.Norm == RMSNorm {
		h.Set(a+"attention.layer_norm_rms_epsilon", f32(c.NormEps))
	} else {
		h.Set(a+"attention.layer_norm_epsilon", f32(c.NormEps))
	}
	if c.HeadDim*c.Heads != c.Embd {
		h.Set(a+"attention.key_length", u32(c.HeadDim))
		h.Set(a+"attention.value_length", u32(c.HeadDim))
	}
	h.Set("general.file_type", u32(int(fileTypes[o.Type])))
	h.Set(a+"vocab_size", u32(c.Vocab))
	if c.Rope != RopeNone {
		h.Set(a+"rope.dimension_count", u32(c.RopeDims))
	}
	if c.IsEncoder() { // as convert_hf_to_gguf.py's BertModel writes them (bert.go)
		h.Set(a+"attention.causal", gguf.NewValue(false))
		h.Set(a+"pooling_type", u32(int(PoolMean)))
	}
	h.Set("general.quantization_version", u32(2)) // GGML_QNT_VERSION; the converter writes it for every file
	for _, kv := range o.Tokenizer {
		h.Set(kv.Key, kv.Value)
	}
	if _, ok := h.Lookup("tokenizer.ggml.token_type_count"); c.IsEncoder() && !ok {
		h.Set("tokenizer.ggml.token_type_count", u32(2)) // token_types.weight's rows, which llama.cpp checks against it
	}
	for _, s := range specs {
		dt := o.Type
		if s.KeepF32 {
			dt = tensor.F32
		}
		h.Tensors = append(h.Tensors, gguf.TensorInfo{Name: s.Name, Shape: s.Shape, DType: dt})
	}
	if err := h.Layout(); err != nil {
		return nil, nil, err
	}
	g := newInitGen(c, o)
	src := func(i int, w io.Writer) error {
		return g.write(specs[i], h.Tensors[i].DType, w)
	}
	return h, src, nil
}

// WriteRandom writes a random model of shape c to path atomically.
func WriteRandom(path string, c Config, o InitOptions) error {
	h, src, err := RandomGGUF(c, o)
	if err != nil {
		return err
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// RandomSource is the in-memory twin of RandomGGUF for training: the same
// values (before rounding to o.Type) as F32 tensors, made when first asked.
func RandomSource(c Config, o InitOptions) (Source, error) {
	o.Type = tensor.F32
	if err := checkInit(c, o); err != nil {
		return nil, err
	}
	specs := map[string]TensorSpec{}
	for _, s := range c.TensorSpecs(o.Tied) {
		specs[s.Name] = s
	}
	g := newInitGen(c, o)
	var mu sync.Mutex
	made := map[string]*tensor.Tensor{}
	return func(name string) (*tensor.Tensor, bool, error) {
		mu.Lock()
		defer mu.Unlock()
		if t, ok := made[name]; ok {
			return t, true, nil
		}
		s, ok := specs[name]
		if !ok {
			return nil, false, nil
		}
		x := make([]float32, s.Elements())
		g.fill(s, x)
		shape := make([]int, len(s.Shape))
		for i, d := range s.Shape {
			shape[i] = int(d)
		}
		t, err := tensor.FromFloat32(name, x, shape...)
		if err != nil {
			return nil, false, err
		}
		made[name] = t
		return t, true, nil
	}, nil
}

func checkInit(c Config, o InitOptions) error {
	if err := c.Validate(); err != nil {
		return err
	}
	if _, ok := fileTypes[o.Type]; !ok {
		return fmt.Errorf("model: a new model's type must be F32, F16 or BF16, not %v (quantize it afterwards)", o.Type)
	}
	if o.Std < 0 || math.IsNaN(o.Std) || math.IsInf(o.Std, 0) {
		return fmt.Errorf("model: init standard deviation %g", o.Std)
	}
	if o.Tied && c.Arch == "gpt2" {
		return fmt.Errorf("model: gpt2 files need their own output.weight (llama.cpp requires it); drop the tied option")
	}
	// llama.cpp shapes Qwen2's attn_q and attn_output as [C, C] and GPT-2's
	// fused projection from n_embd, so the heads must tile the embedding.
	if c.Arch != "llama" && c.Heads*c.HeadDim != c.Embd {
		return fmt.Errorf("model: %s needs heads × head width = embedding (%d × %d ≠ %d)", c.Arch, c.Heads, c.HeadDim, c.Embd)
	}
	if c.Arch == "llama" && c.RopeDims != c.HeadDim {
		return fmt.Errorf("model: llama rotates whole heads: rope dimension count %d ≠ head width %d", c.RopeDims, c.HeadDim)
	}
	for _, kv := range o.Tokenizer {
		if !strings.HasPrefix(kv.Key, "tokenizer.") {
			return fmt.Errorf("model: tokenizer metadata key %q lacks the tokenizer. prefix", kv.Key)
		}
		if kv.Key == "tokenizer.ggml.tokens" && kv.Value.Len() != c.Vocab {
			return fmt.Errorf("model: vocabulary size %d differs from the %d tokens of tokenizer.ggml.tokens", c.Vocab, kv.Value.Len())
		}
	}
	return nil
}

// initChunk is the number of values one generator draws. Fixed, so that
// the values do not depend on the thread count.
const initChunk = 1 << 16

// initGen draws the values of new tensors.
type initGen struct {
	seed     uint64
	std, res float64 // N(0, std) and the residual projections' N(0, res)
	threads  int
}

func newInitGen(c Config, o InitOptions) *initGen {
	std := o.Std
	if std == 0 {
		std = 0.02
	}
	threads := o.Threads
	if threads <= 0 {
		threads = runtime.GOMAXPROCS(0)
	}
	return &initGen{seed: o.Seed, std: std, res: std / math.Sqrt(2*float64(c.Layers)), threads: threads}
}

// fillChunk writes chunk k of tensor s into x (len(x) ≤ initChunk).
func (g *initGen) fillChunk(s TensorSpec, nameHash uint64, k int, x []float32) {
	switch s.Init {
	case InitOnes:
		for i := range x {
			x[i] = 1
		}
		return
	case InitZeros:
		clear(x)
		return
	}
	std := g.std
	if s.Init == InitResidual {
		std = g.res
	}
	// splitmix64's increment spreads consecutive chunk numbers over the
	// stream space, so neighbouring chunks share no PCG state.
	r := rand.New(rand.NewPCG(g.seed, nameHash+uint64(k)*0x9e3779b97f4a7c15))
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
}

func hashName(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

// fill writes all of tensor s into x (len(x) = s.Elements()).
func (g *initGen) fill(s TensorSpec, x []float32) {
	nh := hashName(s.Name)
	n := (len(x) + initChunk - 1) / initChunk
	g.parallel(n, func(k int) {
		g.fillChunk(s, nh, k, x[k*initChunk:min((k+1)*initChunk, len(x))])
	})
}

// parallel runs fn(0…n-1) on up to g.threads goroutines.
func (g *initGen) parallel(n int, fn func(k int)) {
	workers := min(g.threads, n)
	if workers <= 1 {
		for k := range n {
			fn(k)
		}
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range next {
				fn(k)
			}
		}()
	}
	for k := range n {
		next <- k
	}
	close(next)
	wg.Wait()
}

// write streams tensor s as dt to w, a group of chunks at a time, so memory
// stays at threads × 64 Ki values whatever the tensor's size.
func (g *initGen) write(s TensorSpec, dt tensor.DType, w io.Writer) error {
	total := int(s.Elements())
	nh := hashName(s.Name)
	group := g.threads * 4
	x := make([]float32, min(total, group*initChunk))
	rowSize, err := dt.RowSize(int64(len(x)))
	if err != nil {
		return err
	}
	buf := make([]byte, rowSize)
	for first := 0; first*initChunk < total; first += group {
		start := first * initChunk
		n := min(total-start, group*initChunk)
		chunks := (n + initChunk - 1) / initChunk
		g.parallel(chunks, func(j int) {
			lo := j * initChunk
			g.fillChunk(s, nh, first+j, x[lo:min(lo+initChunk, n)])
		})
		size := n * dt.TypeSize() // F32, F16, BF16: one value per block
		if err := tensor.Quantize(dt, x[:n], buf[:size]); err != nil {
			return err
		}
		if _, err := w.Write(buf[:size]); err != nil {
			return err
		}
	}
	return nil
}
