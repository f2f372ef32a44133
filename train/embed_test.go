// Reference: DPR (Karpukhin et al. 2020): in-batch negatives; checked on a synthetic retrieval task and
// against the inference encoder (model/bert_forward.go).

package train

import (
	"context"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tensor"
)

// tinyBertFile writes a random 2-block bert (width 32, 60 tokens, 32
// positions) as `gptgo init --arch bert --type f32` would.
func tinyBertFile(t *testing.T) string {
	t.Helper()
	c, err := model.ArchConfig("bert")
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain = 60, 32, 2, 4, 4, 8, 64, 32
	path := filepath.Join(t.TempDir(), "bert.gguf")
	if err := model.WriteRandom(path, c, model.InitOptions{Type: tensor.F32, Seed: 3, Std: 0.2}); err != nil {
		t.Fatal(err)
	}
	return path
}

// openEmbedTrainer opens the model at path and a 2-thread trainer over it,
// both closed when the test ends (the trainer first: it reads the mapping).
func openEmbedTrainer(t *testing.T, path string) *EmbedTrainer {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	tr, err := NewEmbedTrainer(f, 2)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tr.Close)
	return tr
}

// synthPairs makes n query → passage pairs over tokens 3…59 (1 is [CLS],
// 2 [SEP]): a passage holds its query's two topic tokens among three
// random ones, so only training can tell which passage a query wants.
func synthPairs(n int, seed uint64) EmbedBatch {
	r := rand.New(rand.NewPCG(seed, 1))
	var b EmbedBatch
	for range n {
		a, c := int32(3+r.IntN(57)), int32(3+r.IntN(57))
		q := []int32{1, a, c, 2}
		p := []int32{1, int32(3 + r.IntN(57)), a, int32(3 + r.IntN(57)), c, int32(3 + r.IntN(57)), 2}
		b.Queries, b.Positives = append(b.Queries, q), append(b.Positives, p)
	}
	return b
}

// recallAt1 is the share of queries whose nearest passage (cosine) is their own.
func recallAt1(t *testing.T, tr *EmbedTrainer, b EmbedBatch) float64 {
	t.Helper()
	q, err := tr.Embed(b.Queries)
	if err != nil {
		t.Fatal(err)
	}
	p, err := tr.Embed(b.Positives)
	if err != nil {
		t.Fatal(err)
	}
	hits := 0
	for i, qv := range q {
		best, arg := math.Inf(-1), -1
		for j, pv := range p {
			var dot float64
			for k := range qv {
				dot += float64(qv[k]) * float64(pv[k])
			}
			if dot > best {
				best, arg = dot, j
			}
		}
		if arg == i {
			hits++
		}
	}
	return float64(hits) / float64(len(q))
}

// TestTrainEmbedLearnsRetrieval trains the tiny random bert on synthetic
// pairs: the InfoNCE loss of a fixed batch must fall by half and recall@1
// over the 64 training pairs must rise from chance-like to ≥ 0.8 (measured:
// see the log). The exported file, opened by the inference encoder, must
// embed as the trainer does (cosine ≥ 0.999; the inference GELU goes
// through half precision), and a second run with the same seed must give
// the same weights bit for bit.
func TestTrainEmbedLearnsRetrieval(t *testing.T) {
	path := tinyBertFile(t)
	data := synthPairs(64, 9)
	cfg := EmbedConfig{Steps: 80, Batch: 16, LR: 3e-3, Temperature: 0.05, WeightDecay: 0.01, Clip: 1, Seed: 4, Threads: 2}
	run := func() (*EmbedTrainer, []float64) {
		tr := openEmbedTrainer(t, path)
		var losses []float64
		if err := tr.TrainEmbed(context.Background(), data, cfg, func(_ int, l, _ float64) { losses = append(losses, l) }); err != nil {
			t.Fatal(err)
		}
		return tr, losses
	}
	before := openEmbedTrainer(t, path)
	fixed := EmbedBatch{Queries: data.Queries[:16], Positives: data.Positives[:16]}
	l0, err := before.Eval(fixed, cfg.Temperature)
	if err != nil {
		t.Fatal(err)
	}
	r0 := recallAt1(t, before, data)

	tr, losses := run()
	l1, err := tr.Eval(fixed, cfg.Temperature)
	if err != nil {
		t.Fatal(err)
	}
	r1 := recallAt1(t, tr, data)
	t.Logf("fixed-batch loss %.3f → %.3f, recall@1 %.2f → %.2f; step losses %.3f … %.3f", l0, l1, r0, r1, losses[0], losses[len(losses)-1])
	if !(l1 < l0/2) || r1 < 0.8 || r1 <= r0 {
		t.Errorf("training did not learn: loss %.3f → %.3f, recall@1 %.2f → %.2f", l0, l1, r0, r1)
	}

	out := filepath.Join(t.TempDir(), "trained.gguf")
	if err := tr.Export(out, tensor.F32); err != nil {
		t.Fatal(err)
	}
	enc, err := model.OpenEncoder(out)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	st, err := enc.NewState(model.Options{Threads: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want, err := tr.Embed(data.Positives[:8])
	if err != nil {
		t.Fatal(err)
	}
	err = st.EmbedEach(context.Background(), data.Positives[:8], model.EmbedOptions{Pooling: model.PoolMean, Normalize: true}, func(i int, v []float32) error {
		var dot float64
		for k := range v {
			dot += float64(v[k]) * float64(want[i][k])
		}
		if dot < 0.999 {
			t.Errorf("exported model, text %d: cosine %.6f with the trainer's vector", i, dot)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	tr2, losses2 := run()
	if !slices.Equal(losses, losses2) {
		t.Error("a second run with the same seed gave other losses")
	}
	for i, p := range tr.Params() {
		if !slices.Equal(p.Data, tr2.Params()[i].Data) {
			t.Fatalf("a second run with the same seed gave other weights (%s)", p.Name)
		}
	}
}

// TestTrainEmbedHardNegatives checks that hard negatives join the
// passages: a batch with negatives has a higher loss at the start than
// without (more competitors), and training with them runs and learns.
func TestTrainEmbedHardNegatives(t *testing.T) {
	tr := openEmbedTrainer(t, tinyBertFile(t))
	data := synthPairs(32, 5)
	negs := synthPairs(32, 6)
	data.Negatives = negs.Positives
	plain, err := tr.Eval(EmbedBatch{Queries: data.Queries[:8], Positives: data.Positives[:8]}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	hard, err := tr.Eval(EmbedBatch{Queries: data.Queries[:8], Positives: data.Positives[:8], Negatives: data.Negatives[:8]}, 0.05)
	if err != nil {
		t.Fatal(err)
	}
	if !(hard > plain) {
		t.Errorf("loss with 8 more negatives %.4f, without %.4f: the negatives were not scored", hard, plain)
	}
	var first, last float64
	cfg := EmbedConfig{Steps: 40, Batch: 8, LR: 3e-3, Temperature: 0.05, Clip: 1, Seed: 1, Threads: 2}
	if err := tr.TrainEmbed(context.Background(), data, cfg, func(s int, l, _ float64) {
		if s == 1 {
			first = l
		}
		last = l
	}); err != nil {
		t.Fatal(err)
	}
	if !(last < first) {
		t.Errorf("loss %.3f → %.3f with hard negatives", first, last)
	}
}

func TestReadEmbedPairs(t *testing.T) {
	dir := t.TempDir()
	write := func(s string) string {
		p := filepath.Join(dir, "p.jsonl")
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	pairs, err := ReadEmbedPairs(write(`{"query":"q1","positive":"p1","negative":"n1"}` + "\n" + `{"query":"q2","positive":"p2","negative":"n2"}` + "\n"))
	if err != nil || len(pairs) != 2 || pairs[1] != (EmbedPair{"q2", "p2", "n2"}) {
		t.Fatalf("%v %v", pairs, err)
	}
	for _, c := range []struct{ text, want string }{
		{`{"query":"q","positive":"p","extra":1}`, `:1: json: unknown field "extra"`},
		{`{"query":"q","positive":"p"}` + "\n" + `{"query":"","positive":"p"}`, `:2: "query" and "positive"`},
		{`{"query":"q","positive":"p"}` + "\n" + `{"query":"q","positive":"p","negative":"n"}`, `:2: either every pair`},
		{`{"query":"q","positive":"p"} {}`, `:1: more than one`},
		{"", "no pairs"},
	} {
		if _, err := ReadEmbedPairs(write(c.text)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%q: %v, want %q", c.text, err, c.want)
		}
	}
}

// TestTrainEmbedResume stops a run after step 7 (its last checkpoint is
// step 5's), resumes it from the checkpoint, and checks that the final
// checkpoint is byte for byte the one of an uninterrupted run; a
// checkpoint from another configuration is refused.
func TestTrainEmbedResume(t *testing.T) {
	path := tinyBertFile(t)
	data := synthPairs(40, 3)
	dir := t.TempDir()
	cfg := EmbedConfig{Steps: 12, Batch: 8, LR: 2e-3, Temperature: 0.05, Clip: 1, Seed: 7, Threads: 2, CheckpointEvery: 5}
	train := func(cfg EmbedConfig, stopAfter int) error {
		tr := openEmbedTrainer(t, path)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		return tr.TrainEmbed(ctx, data, cfg, func(step int, _, _ float64) {
			if step == stopAfter {
				cancel()
			}
		})
	}
	whole := cfg
	whole.Checkpoint = filepath.Join(dir, "whole.ckpt")
	if err := train(whole, -1); err != nil {
		t.Fatal(err)
	}
	cut := cfg
	cut.Checkpoint = filepath.Join(dir, "cut.ckpt")
	if err := train(cut, 7); err == nil {
		t.Fatal("the stopped run reported no error")
	}
	cut.Resume = true
	if err := train(cut, -1); err != nil {
		t.Fatal(err)
	}
	a, err := os.ReadFile(whole.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(cut.Checkpoint)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(a, b) {
		t.Error("the resumed run's final checkpoint differs from the uninterrupted run's")
	}
	other := cut
	other.Batch = 4
	if err := train(other, -1); err == nil || !strings.Contains(err.Error(), "batch") {
		t.Errorf("a checkpoint of batch 8 resumed with batch 4: %v", err)
	}
}

// TestTrainEmbedLearnedTemperature trains τ with the model: it moves from
// its start, the loss falls, and the checkpoint carries it (a resumed run
// ends where an uninterrupted one does).
func TestTrainEmbedLearnedTemperature(t *testing.T) {
	path := tinyBertFile(t)
	data := synthPairs(32, 8)
	dir := t.TempDir()
	cfg := EmbedConfig{Steps: 30, Batch: 8, LR: 3e-3, Temperature: 0.1, LearnTemperature: true, Clip: 1, Seed: 2, Threads: 2,
		Checkpoint: filepath.Join(dir, "a.ckpt"), CheckpointEvery: 10}
	run := func(cfg EmbedConfig, stopAfter int) (*EmbedTrainer, []float64, error) {
		tr := openEmbedTrainer(t, path)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		var losses []float64
		err := tr.TrainEmbed(ctx, data, cfg, func(s int, l, _ float64) {
			losses = append(losses, l)
			if s == stopAfter {
				cancel()
			}
		})
		return tr, losses, err
	}
	tr, losses, err := run(cfg, -1)
	if err != nil {
		t.Fatal(err)
	}
	tau := tr.Temperature()
	t.Logf("τ 0.1 → %.4f, loss %.3f → %.3f", tau, losses[0], losses[len(losses)-1])
	if tau == 0.1 || tau < 0.01 || tau > 1 || !(losses[len(losses)-1] < losses[0]) {
		t.Errorf("τ %.4f, loss %.3f → %.3f", tau, losses[0], losses[len(losses)-1])
	}
	cut := cfg
	cut.Checkpoint = filepath.Join(dir, "b.ckpt")
	if _, _, err := run(cut, 15); err == nil {
		t.Fatal("the stopped run reported no error")
	}
	cut.Resume = true
	if _, _, err := run(cut, -1); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(cfg.Checkpoint)
	b, _ := os.ReadFile(cut.Checkpoint)
	if len(a) == 0 || !slices.Equal(a, b) {
		t.Error("the resumed run's checkpoint differs from the uninterrupted run's")
	}
}

// TestTrainEmbedDecoder trains a tiny random llama as an embedder (mean
// pooling of its final hidden states, as State.Embed pools): recall@1 over
// the training pairs rises, and the exported file, opened as a decoder,
// embeds as the trainer does (cosine ≥ 0.999) with its pooling kept.
func TestTrainEmbedDecoder(t *testing.T) {
	c, err := model.ArchConfig("llama")
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain, c.RopeDims = 60, 32, 2, 4, 4, 8, 64, 32, 8
	path := filepath.Join(t.TempDir(), "llama.gguf")
	if err := model.WriteRandom(path, c, model.InitOptions{Type: tensor.F32, Seed: 3, Std: 0.2}); err != nil {
		t.Fatal(err)
	}
	tr := openEmbedTrainer(t, path)
	data := synthPairs(48, 11)
	r0 := recallAt1(t, tr, data)
	cfg := EmbedConfig{Steps: 60, Batch: 16, LR: 3e-3, Temperature: 0.05, Clip: 1, Seed: 1, Threads: 2}
	if err := tr.TrainEmbed(context.Background(), data, cfg, nil); err != nil {
		t.Fatal(err)
	}
	r1 := recallAt1(t, tr, data)
	t.Logf("decoder recall@1 %.2f → %.2f", r0, r1)
	if r1 < 0.8 || r1 <= r0 {
		t.Errorf("recall@1 %.2f → %.2f", r0, r1)
	}
	out := filepath.Join(t.TempDir(), "trained.gguf")
	if err := tr.Export(out, tensor.F32); err != nil {
		t.Fatal(err)
	}
	m, err := model.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if p, err := m.DefaultPooling(); err != nil || p != model.PoolMean {
		t.Errorf("exported pooling %s, %v", p, err)
	}
	st, err := m.NewState(model.Options{Threads: 2, KVF32: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want, err := tr.Embed(data.Positives[:6])
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range data.Positives[:6] {
		v, err := st.Embed(context.Background(), s, model.EmbedOptions{Pooling: model.PoolMean, Normalize: true})
		if err != nil {
			t.Fatal(err)
		}
		var dot float64
		for k := range v {
			dot += float64(v[k]) * float64(want[i][k])
		}
		if dot < 0.999 {
			t.Errorf("text %d: cosine %.6f between the exported decoder and the trainer", i, dot)
		}
	}
}

// TestTrainEmbedRefusesNomicBert checks that an encoder whose graph the
// trainer does not build is an error, not a nil weight on the tape.
func TestTrainEmbedRefusesNomicBert(t *testing.T) {
	c, err := model.ArchConfig("nomic-bert")
	if err != nil {
		t.Fatal(err)
	}
	c.Vocab, c.Embd, c.Layers, c.Heads, c.KVHeads, c.HeadDim, c.FF, c.CtxTrain, c.RopeDims = 60, 32, 1, 4, 4, 8, 64, 32, 8
	path := filepath.Join(t.TempDir(), "nomic.gguf")
	if err := model.WriteRandom(path, c, model.InitOptions{Type: tensor.F32, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := NewEmbedTrainer(f, 1); err == nil || !strings.Contains(err.Error(), "nomic-bert") {
		t.Errorf("nomic-bert: %v", err)
	}
}
