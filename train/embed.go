// Reference: van den Oord et al. 2018 (InfoNCE), Karpukhin et al. 2020 (DPR: in-batch negatives,
// one hard negative per question), Reimers & Gurevych 2019 (Sentence-BERT: pooled BERT embeddings);
// the forward is llama.cpp's llm_build_bert, as model/bert_forward.go runs it for inference.

package train

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/kernel"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
)

// Contrastive training of a BERT embedder: each step encodes B queries and
// their B positive passages (and, when given, B hard negatives) with the
// same encoder on the tape, pools and scales every vector to norm 1/√τ, so
// that q·p is cos(q, p)/τ, and takes the softmax cross-entropy of each
// query against every passage of the batch with its own positive as the
// target: the other queries' passages are the in-batch negatives.

// EmbedPair is one JSONL training line: {"query": …, "positive": …} and an
// optional "negative" (a hard negative: a passage that looks relevant but
// is not).
type EmbedPair struct {
	Query    string `json:"query"`
	Positive string `json:"positive"`
	Negative string `json:"negative,omitempty"`
}

// ReadEmbedPairs reads JSONL pairs from path. Unknown fields, an empty
// query or positive, and blank lines are errors naming the line; either all
// pairs have a negative or none.
func ReadEmbedPairs(path string) ([]EmbedPair, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var pairs []EmbedPair
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, 16<<20)
	for line := 1; sc.Scan(); line++ {
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		var p EmbedPair
		if err := dec.Decode(&p); err != nil {
			return nil, fmt.Errorf("train: %s:%d: %v (want {\"query\": …, \"positive\": …, \"negative\": … optional})", path, line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("train: %s:%d: more than one JSON value on the line", path, line)
		}
		if p.Query == "" || p.Positive == "" {
			return nil, fmt.Errorf("train: %s:%d: \"query\" and \"positive\" must be non-empty strings", path, line)
		}
		if len(pairs) > 0 && (p.Negative == "") != (pairs[0].Negative == "") {
			return nil, fmt.Errorf("train: %s:%d: either every pair has a \"negative\" or none does (line 1 differs)", path, line)
		}
		pairs = append(pairs, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("train: %s: %w", path, err)
	}
	if len(pairs) == 0 {
		return nil, fmt.Errorf("train: %s: no pairs", path)
	}
	return pairs, nil
}

// EmbedConfig configures TrainEmbed.
type EmbedConfig struct {
	Steps       int     // optimizer steps
	Batch       int     // pairs per step (B); each query's negatives are the B−1 other positives (+ B hard negatives)
	LR          float64 // peak learning rate, after a linear warmup over the first tenth of the steps, then cosine to LR/10
	Temperature float64 // τ of InfoNCE; 0.05 is the usual value for cosine logits
	// LearnTemperature trains τ too, from Temperature, as CLIP does: a
	// parameter θ = ln(1/τ), the logits scaled by e^θ, θ kept ≤ ln 100.
	LearnTemperature bool
	WeightDecay      float64 // AdamW's, not applied to norms, biases and embedding tables
	Clip             float64 // gradient norm clip; 0 turns it off
	Seed             uint64  // batch order: the same seed, data and model give the same run
	Threads          int     // workers; 0 means all cores

	// Checkpoint, when set, is a file (train's GPTGOCKP format: weights,
	// AdamW's moments, the step) written every CheckpointEvery steps and
	// after the last; with Resume the run starts from it. A step's batch
	// depends only on (Seed, step), so a resumed run ends with the very
	// weights of an uninterrupted one.
	Checkpoint      string
	CheckpointEvery int
	Resume          bool
	// StopAt, when positive, ends the run after that step with a
	// checkpoint, as if killed there (the schedule still spans Steps).
	StopAt int
	// NoSteps, with Resume, loads the checkpoint and trains no step: the
	// weights are the checkpoint's, to export a run cut short.
	NoSteps bool
}

// DefaultEmbedConfig are the usual fine-tuning settings of sentence
// embedders (Sentence-BERT's 2e-5 is for 110M models; small models take more).
var DefaultEmbedConfig = EmbedConfig{Steps: 100, Batch: 16, LR: 5e-5, Temperature: 0.05, WeightDecay: 0.01, Clip: 1, Seed: 1}

func (c EmbedConfig) validate() error {
	switch {
	case c.Steps < 1:
		return fmt.Errorf("train: embed: steps %d must be at least 1", c.Steps)
	case c.Batch < 2:
		return fmt.Errorf("train: embed: batch %d must be at least 2 (the other pairs are the negatives)", c.Batch)
	case !(c.LR > 0) || math.IsInf(c.LR, 0):
		return fmt.Errorf("train: embed: learning rate %g must be positive", c.LR)
	case !(c.Temperature > 0) || math.IsInf(c.Temperature, 0):
		return fmt.Errorf("train: embed: temperature %g must be positive", c.Temperature)
	case c.WeightDecay < 0 || c.Clip < 0 || c.Threads < 0 || c.CheckpointEvery < 0 || c.StopAt < 0:
		return fmt.Errorf("train: embed: weight decay %g, clip %g, threads %d and checkpoint interval %d must not be negative", c.WeightDecay, c.Clip, c.Threads, c.CheckpointEvery)
	case c.Resume && c.Checkpoint == "":
		return fmt.Errorf("train: embed: resume needs a checkpoint file")
	case c.NoSteps && !c.Resume:
		return fmt.Errorf("train: embed: taking no step needs a checkpoint to resume from")
	}
	return nil
}

// EmbedTrainer holds a BERT model's weights (or a decoder's:
// embed_decoder.go) as float32 parameters and trains them contrastively.
type EmbedTrainer struct {
	Config  model.Config
	Pooling model.Pooling // the file's: mean, cls or last

	file   *gguf.File // the model trained from: its metadata and tensor order are the export's
	params []*autograd.Var
	byName map[string]*autograd.Var
	pool   *tensor.Pool
	tape   *autograd.Tape
	// logScale is θ = ln(1/τ) when the temperature is learned (nil: fixed).
	logScale *autograd.Var
	// dec is a decoder being trained as an embedder (embed_decoder.go);
	// nil for bert.
	dec *model.Trainable
}

// maxLogScale caps the learned inverse temperature at 100 (CLIP's clip).
var maxLogScale = float32(math.Log(100))

// Temperature is the learned τ, or 0 when it is fixed.
func (tr *EmbedTrainer) Temperature() float64 {
	if tr.logScale == nil {
		return 0
	}
	return math.Exp(-float64(tr.logScale.Data[0]))
}

// NewEmbedTrainer takes the weights of the bert model in f (any type,
// dequantized to float32). f must stay open until Export.
func NewEmbedTrainer(f *gguf.File, threads int) (*EmbedTrainer, error) {
	if !model.IsEncoderFile(f) {
		return newDecoderEmbedTrainer(f, threads) // embed_decoder.go
	}
	enc, err := model.EncoderFromGGUF(f) // checks every name and shape
	if err != nil {
		return nil, err
	}
	if enc.Arch != "bert" { // encode builds bert's graph only
		return nil, fmt.Errorf("train: embed: %s models are not trainable yet (bert and decoders are)", enc.Arch)
	}
	switch enc.Pooling {
	case model.PoolMean, model.PoolCLS, model.PoolLast:
	default:
		return nil, fmt.Errorf("train: embed: the model's pooling %s gives no single vector per text to train", enc.Pooling)
	}
	tr := &EmbedTrainer{Config: enc.Config, Pooling: enc.Pooling, file: f, byName: map[string]*autograd.Var{}}
	src := model.GGUFSource(f)
	for _, ti := range f.Tensors {
		t, _, err := src(ti.Name)
		if err != nil {
			return nil, err
		}
		x, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("train: embed: tensor %q: %w", ti.Name, err)
		}
		shape := []int{len(x)}
		if len(ti.Shape) == 2 {
			shape = []int{int(ti.Shape[1]), int(ti.Shape[0])} // [rows, row length], as Linear takes it
		}
		v, err := autograd.NewParam(ti.Name, x, shape...)
		if err != nil {
			return nil, err
		}
		if ti.Name == "token_types.weight" {
			v.NoDecay = true // an embedding table, like token_embd
		}
		tr.params = append(tr.params, v)
		tr.byName[ti.Name] = v
	}
	tr.pool = tensor.NewPool(threads)
	tr.tape = autograd.NewTape(tr.pool)
	return tr, nil
}

// Close stops the trainer's workers.
func (tr *EmbedTrainer) Close() { tr.pool.Close() }

// Params returns the parameters, in the file's tensor order.
func (tr *EmbedTrainer) Params() []*autograd.Var { return tr.params }

// encode runs seqs (token ids, [CLS] … [SEP]) through the encoder on tp,
// packed, and returns the pooled vectors [len(seqs), C].
func (tr *EmbedTrainer) encode(tp *autograd.Tape, seqs [][]int32) *autograd.Var {
	if tr.dec != nil {
		return tr.encodeDecoder(tp, seqs)
	}
	c, w := tr.Config, tr.byName
	var ids, pos, zeros []int32
	lens := make([]int, len(seqs))
	for i, s := range seqs {
		lens[i] = len(s)
		ids = append(ids, s...)
		for p := range s {
			pos = append(pos, int32(p))
			zeros = append(zeros, 0)
		}
	}
	x := tp.Embedding(w["token_embd.weight"], ids)
	if tt := w["token_types.weight"]; tt != nil {
		x = tp.Add(x, tp.Embedding(tt, zeros))
	}
	x = tp.Add(x, tp.Embedding(w["position_embd.weight"], pos))
	x = tp.LayerNorm(x, w["token_embd_norm.weight"], w["token_embd_norm.bias"], c.NormEps)
	for i := range c.Layers {
		n := func(s string) *autograd.Var { return w[fmt.Sprintf("blk.%d.%s", i, s)] }
		q := tp.Linear(x, n("attn_q.weight"), n("attn_q.bias"))
		k := tp.Linear(x, n("attn_k.weight"), n("attn_k.bias"))
		v := tp.Linear(x, n("attn_v.weight"), n("attn_v.bias"))
		a := tp.AttentionPacked(q, k, v, lens, c.Heads, c.HeadDim)
		a = tp.Linear(a, n("attn_output.weight"), n("attn_output.bias"))
		x = tp.LayerNorm(tp.Add(a, x), n("attn_output_norm.weight"), n("attn_output_norm.bias"), c.NormEps)
		u := tp.GELU(tp.Linear(x, n("ffn_up.weight"), n("ffn_up.bias")))
		d := tp.Linear(u, n("ffn_down.weight"), n("ffn_down.bias"))
		x = tp.LayerNorm(tp.Add(d, x), n("layer_output_norm.weight"), n("layer_output_norm.bias"), c.NormEps)
	}
	if tr.Pooling == model.PoolMean {
		return tp.MeanRows(x, lens)
	}
	rows := make([]int32, len(seqs)) // the first (cls) or last row of each text
	first := 0
	for i, l := range lens {
		rows[i] = int32(first)
		if tr.Pooling == model.PoolLast {
			rows[i] += int32(l - 1)
		}
		first += l
	}
	return tp.Embedding(x, rows)
}

// EmbedBatch is one step's token ids: B queries, their B positives, and
// either no negatives or B hard negatives.
type EmbedBatch struct {
	Queries, Positives, Negatives [][]int32
}

// Loss records the InfoNCE loss of b on the trainer's tape (after a
// Reset): the mean over queries of −log softmax(cos(q, ·)/τ) at the
// query's positive, over all the batch's passages.
func (tr *EmbedTrainer) loss(b EmbedBatch, temperature float64) (*autograd.Var, error) {
	B := len(b.Queries)
	if B < 1 || len(b.Positives) != B || (len(b.Negatives) != 0 && len(b.Negatives) != B) {
		return nil, fmt.Errorf("train: embed: batch of %d queries, %d positives and %d negatives", B, len(b.Positives), len(b.Negatives))
	}
	for _, s := range slices.Concat(b.Queries, b.Positives, b.Negatives) {
		if len(s) == 0 || len(s) > tr.Config.CtxTrain {
			return nil, fmt.Errorf("train: embed: a text of %d tokens (want 1…%d, the model's positions)", len(s), tr.Config.CtxTrain)
		}
		for _, t := range s {
			if t < 0 || int(t) >= tr.Config.Vocab {
				return nil, fmt.Errorf("train: embed: token %d is outside the vocabulary of %d", t, tr.Config.Vocab)
			}
		}
	}
	tp := tr.tape
	s := float32(1 / math.Sqrt(temperature))
	if tr.logScale != nil {
		s = 1 // cosines, scaled by e^θ below
	}
	q := tp.NormalizeRows(tr.encode(tp, b.Queries), s)
	p := tp.NormalizeRows(tr.encode(tp, slices.Concat(b.Positives, b.Negatives)), s)
	targets := make([]int32, B)
	for i := range targets {
		targets[i] = int32(i)
	}
	logits := tp.Linear(q, p, nil)
	if tr.logScale != nil {
		logits = tp.ScaleByExp(logits, tr.logScale)
	}
	l := tp.CrossEntropy(logits, targets, -1)
	return l, tp.Err()
}

// Eval returns b's loss without training (no gradients recorded).
func (tr *EmbedTrainer) Eval(b EmbedBatch, temperature float64) (float64, error) {
	tr.tape.Reset()
	tr.tape.NoGrad(true)
	defer tr.tape.NoGrad(false)
	l, err := tr.loss(b, temperature)
	if err != nil {
		return 0, err
	}
	return float64(l.Data[0]), nil
}

// Embed returns the unit vectors of seqs under the current weights, as
// the tape computes them (float32 GELU, not inference's half-precision one).
func (tr *EmbedTrainer) Embed(seqs [][]int32) ([][]float32, error) {
	tr.tape.Reset()
	tr.tape.NoGrad(true)
	defer tr.tape.NoGrad(false)
	v := tr.tape.NormalizeRows(tr.encode(tr.tape, seqs), 1)
	if err := tr.tape.Err(); err != nil {
		return nil, err
	}
	C := tr.Config.Embd
	out := make([][]float32, len(seqs))
	for i := range out {
		out[i] = append([]float32(nil), v.Data[i*C:(i+1)*C]...)
	}
	return out, nil
}

// embedBatchRows returns the pairs of step: epoch e = step / k (k = n/B
// whole batches per epoch, the remainder left out of that epoch) is a
// permutation of the n pairs drawn from (seed, e), and the step takes its
// (step mod k)-th run of B. Being a function of the step alone, it needs
// no state in a checkpoint.
func embedBatchRows(seed uint64, n, B, step int) []int {
	k := n / B
	perm := rand.New(rand.NewPCG(seed, 0x656d626564^uint64(step/k))).Perm(n) // "embed"
	j := step % k
	return perm[j*B : (j+1)*B]
}

// TrainEmbed runs optimizer steps until cfg.Steps over the pairs of data
// (tokenized: parallel slices of queries, positives and optional
// negatives), each step's batch drawn as embedBatchRows says, and calls
// log with each step's loss and learning rate. With cfg.Resume it starts
// from cfg.Checkpoint's step, weights and moments. ctx is checked between
// steps; a cancelled run keeps its last checkpoint.
func (tr *EmbedTrainer) TrainEmbed(ctx context.Context, data EmbedBatch, cfg EmbedConfig, log func(step int, loss, lr float64)) error {
	if err := cfg.validate(); err != nil {
		return err
	}
	n := len(data.Queries)
	if n < cfg.Batch {
		return fmt.Errorf("train: embed: %d pairs are fewer than a batch of %d", n, cfg.Batch)
	}
	params := tr.params
	if cfg.LearnTemperature {
		if tr.logScale == nil {
			v, err := autograd.NewParam("logit_scale", []float32{float32(math.Log(1 / cfg.Temperature))}, 1)
			if err != nil {
				return err
			}
			tr.logScale = v
		}
		params = append(slices.Clip(params), tr.logScale)
	}
	opt, err := NewAdamW(params, AdamWConfig{Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: cfg.WeightDecay}, tr.pool)
	if err != nil {
		return err
	}
	sched := Schedule{MaxLR: cfg.LR, MinLR: cfg.LR / 10, Warmup: cfg.Steps / 10, Decay: cfg.Steps}
	// What a checkpoint must agree on with the run resuming it.
	meta := map[string]string{"kind": "embed", "pairs": fmt.Sprint(n), "batch": fmt.Sprint(cfg.Batch), "seed": fmt.Sprint(cfg.Seed),
		"steps": fmt.Sprint(cfg.Steps), "lr": fmt.Sprint(cfg.LR), "temperature": fmt.Sprint(cfg.Temperature), "negatives": fmt.Sprint(data.Negatives != nil),
		"learn_temperature": fmt.Sprint(cfg.LearnTemperature)}
	if cfg.Resume {
		c, err := LoadCheckpoint(cfg.Checkpoint, opt)
		if err != nil {
			return err
		}
		var diffs []string
		for _, k := range slices.Sorted(maps.Keys(meta)) {
			if c.Meta[k] != meta[k] {
				diffs = append(diffs, fmt.Sprintf("%s = %q (this run: %q)", k, c.Meta[k], meta[k]))
			}
		}
		if len(diffs) > 0 {
			return fmt.Errorf("train: embed: checkpoint %s was made with other settings: %s", cfg.Checkpoint, strings.Join(diffs, ", "))
		}
	}
	save := func() error {
		if cfg.Checkpoint == "" {
			return nil
		}
		return SaveCheckpoint(cfg.Checkpoint, opt, Checkpoint{Step: opt.Steps, Meta: meta})
	}
	if cfg.NoSteps || (cfg.StopAt > 0 && opt.Steps >= cfg.StopAt) {
		return nil // the checkpoint is already where the run ends
	}
	for step := opt.Steps; step < cfg.Steps; step++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		var b EmbedBatch
		for _, i := range embedBatchRows(cfg.Seed, n, cfg.Batch, step) {
			b.Queries = append(b.Queries, data.Queries[i])
			b.Positives = append(b.Positives, data.Positives[i])
			if data.Negatives != nil {
				b.Negatives = append(b.Negatives, data.Negatives[i])
			}
		}
		tr.tape.Reset()
		l, err := tr.loss(b, cfg.Temperature)
		if err != nil {
			return err
		}
		if err := tr.tape.Backward(l, 1); err != nil {
			return err
		}
		if cfg.Clip > 0 {
			if _, err := ClipGradNorm(params, cfg.Clip); err != nil {
				return fmt.Errorf("train: embed: step %d: %w", step+1, err)
			}
		}
		lr := sched.LR(step)
		opt.Step(lr)
		opt.ZeroGrad()
		if tr.logScale != nil {
			tr.logScale.Data[0] = min(tr.logScale.Data[0], maxLogScale)
		}
		if cfg.CheckpointEvery > 0 && (step+1)%cfg.CheckpointEvery == 0 && step+1 < cfg.Steps {
			if err := save(); err != nil {
				return err
			}
		}
		if log != nil {
			log(step+1, float64(l.Data[0]), lr)
		}
		if step+1 == cfg.StopAt {
			return save()
		}
	}
	return save()
}

// Export writes the trained model to path (atomically) with the metadata
// and tensor order of the file it was trained from: the token embedding
// and the blocks' matrices as dt (F32 or F16), the position and token type
// embeddings, norms and biases as F32, as llama.cpp's converter writes a
// BERT. llama.cpp and model.OpenEncoder load it.
func (tr *EmbedTrainer) Export(path string, dt tensor.DType) error {
	if dt != tensor.F32 && dt != tensor.F16 {
		return fmt.Errorf("train: embed: export type %v (want F32 or F16; quantize afterwards)", dt)
	}
	if tr.dec != nil {
		return tr.exportDecoder(path, dt)
	}
	h := tr.file.Header()
	for i := range h.Tensors {
		ti := &h.Tensors[i]
		ti.DType = tensor.F32
		if len(ti.Shape) == 2 && ti.Name != "position_embd.weight" && ti.Name != "token_types.weight" {
			ti.DType = dt
		}
	}
	ftype := uint32(0) // LLAMA_FTYPE_ALL_F32
	if dt == tensor.F16 {
		ftype = 1 // MOSTLY_F16
	}
	h.Set("general.file_type", gguf.NewValue(ftype))
	// llama.cpp sizes token_types.weight by this key, which a vocabulary
	// that is not BERT's own (a byte-level BPE) does not carry.
	if tt := tr.byName["token_types.weight"]; tt != nil {
		if _, ok := h.Lookup("tokenizer.ggml.token_type_count"); !ok && len(tt.Shape) == 2 {
			h.Set("tokenizer.ggml.token_type_count", gguf.NewValue(uint32(tt.Shape[0])))
		}
	}
	if err := h.Layout(); err != nil {
		return err
	}
	src := func(i int, w io.Writer) error {
		x := tr.byName[h.Tensors[i].Name].Data
		if h.Tensors[i].DType == tensor.F16 {
			b := make([]byte, 2*len(x))
			kernel.FP32ToFP16Bytes(b, x)
			_, err := w.Write(b)
			return err
		}
		_, err := w.Write(kernel.F32Bytes(x))
		return err
	}
	if err := gguf.WriteFile(path, h, src); err != nil {
		return fmt.Errorf("train: embed: %s: %w", path, err)
	}
	return nil
}
