// Reference: DPR (Karpukhin et al. 2020) and Sentence-BERT's MultipleNegativesRankingLoss (InfoNCE with
// in-batch negatives) over train.EmbedTrainer; the output is a bert GGUF as llama.cpp's converter writes it.

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/rag"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
)

const trainEmbedUsage = `PAIRS.jsonl|QA.json... --model BERT.gguf --out OUT.gguf [flags]   or   --recipe RECIPE.json

Trains a BERT embedder contrastively: each step embeds --batch queries and their positive
passages, and pushes every query towards its own passage and away from the other passages of
the batch (InfoNCE with in-batch negatives, temperature --temperature). Each line of PAIRS is
{"query": "…", "positive": "…"}, with an optional "negative" (a hard negative passage,
scored against every query too) on every line or on none. A .json input is a question-answering
set (SQuAD 2.0 or CMRC 2018 layout, or DPR's retriever JSON): each question becomes a pair with
its paragraph, and every --held-out-th paragraph with its questions is kept out of training;
recall@1/5/20 of the right paragraph among the held-out ones is printed before and after
training.

--model is a bert GGUF (a converted bge/MiniLM/e5, or a new one from 'gptgo init --arch bert
--vocab-from SOME-BERT.gguf' to start from scratch) or a decoder (llama, qwen2, gpt2: its final
hidden states pooled as 'gptgo embed' pools them); its tokenizer and pooling are used. The
trained model is written to --out with the model's metadata and tensor order, matrices as
--type, in the layout llama.cpp's converter writes; 'gptgo embed' and the server load it. The
run is reproducible (--seed) and resumable: a checkpoint (weights, optimizer moments, step) is
written to --checkpoint every --checkpoint-every steps and at the end, and --resume continues
from it to the same final weights as an uninterrupted run.

--recipe FILE runs a whole embedder recipe instead (recipes/embed.json makes the embedded
default embedder): pairs from QA sets, prose and instruction sets, a BPE tokenizer, gptgo init
--arch bert, this training and the export, each stage skipped when its output exists.`

func runTrainEmbed(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train embed", trainEmbedUsage)
	modelPath := fs.String("model", "", "bert GGUF to train (required)")
	out := fs.String("out", "", "GGUF file to write (required)")
	d := train.DefaultEmbedConfig
	steps := fs.Int("steps", d.Steps, "optimizer steps")
	batch := fs.Int("batch", d.Batch, "pairs per step; the other pairs' passages are each query's negatives")
	lr := fs.Float64("lr", d.LR, "peak learning rate (linear warmup over the first tenth of the steps, cosine to lr/10)")
	temp := fs.Float64("temperature", d.Temperature, "InfoNCE temperature τ (logits are cosine/τ); with --learn-temperature its start")
	learnTemp := fs.Bool("learn-temperature", false, "train τ with the model (as ln(1/τ), at the model's learning rate, τ ≥ 0.01)")
	wd := fs.Float64("weight-decay", d.WeightDecay, "AdamW weight decay (not on norms, biases, embedding tables)")
	clip := fs.Float64("clip", d.Clip, "gradient norm clip (0: off)")
	seed := fs.Uint64("seed", d.Seed, "seed of the batch order")
	maxTokens := fs.Int("max-tokens", 128, "cut each text to this many tokens, [SEP] kept (at most the model's context)")
	typ := fs.String("type", "f16", "type of the written matrices: f32 or f16 (norms, biases, positions stay f32)")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	logEvery := fs.Int("log-every", 10, "print the loss every N steps")
	ckpt := fs.String("checkpoint", "", "checkpoint file (default: OUT.ckpt)")
	ckptEvery := fs.Int("checkpoint-every", 100, "write the checkpoint every N steps (0: only at the end)")
	resume := fs.Bool("resume", false, "continue from --checkpoint (same pairs, model and settings)")
	heldEvery := fs.Int("held-out", 5, "QA sets: hold out every Nth paragraph and its questions for evaluation (0: none)")
	valEvery := fs.Int("validation", 0, "QA sets: also keep paragraphs 3, 3+N, 3+2N, … (not held out) and their questions out of training, as a validation split (0: none)")
	mine := fs.Int("mine-negatives", 0, "give every pair without a negative a BM25-mined hard negative: one of the first N other passages of the same input that BM25 ranks for its query (0: off)")
	stopAt := fs.Int("stop-at", 0, "end after this step with a checkpoint (the schedule still runs to --steps), to compare a resumed run's checkpoint")
	noSteps := fs.Bool("export-checkpoint", false, "with --resume: write OUT from the checkpoint's weights, training no step (a run cut short)")
	recipe := fs.String("recipe", "", "run an embedder recipe (recipes/embed.json) instead: pairs, tokenizer, init, training, export")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if *recipe != "" {
		if len(pos) > 0 {
			return fmt.Errorf("--recipe takes no other inputs (got %s)", strings.Join(pos, " "))
		}
		return runEmbedRecipe(ctx, e, *recipe, *stopAt) // train_embed_recipe.go
	}
	if len(pos) == 0 || *modelPath == "" || *out == "" {
		return errUsage
	}
	dt, err := tensor.ParseDType(strings.ToUpper(*typ))
	if err != nil || (dt != tensor.F32 && dt != tensor.F16) {
		return fmt.Errorf("--type %q: want f32 or f16 (quantize the result afterwards)", *typ)
	}
	if *logEvery < 1 || *threads < 0 || *stopAt < 0 {
		return fmt.Errorf("--log-every must be at least 1, --threads and --stop-at not negative")
	}
	cfg := train.EmbedConfig{Steps: *steps, Batch: *batch, LR: *lr, Temperature: *temp, WeightDecay: *wd, Clip: *clip, Seed: *seed, Threads: *threads,
		LearnTemperature: *learnTemp, Checkpoint: *ckpt, CheckpointEvery: *ckptEvery, Resume: *resume, StopAt: *stopAt, NoSteps: *noSteps}
	if cfg.Checkpoint == "" {
		cfg.Checkpoint = *out + ".ckpt"
	}

	if *valEvery < 0 || *mine < 0 {
		return fmt.Errorf("--validation and --mine-negatives must not be negative")
	}
	var pairs []train.EmbedPair
	var groups []int // the input each pair came from, for --mine-negatives
	type heldSet struct {
		name string
		set  *train.QASet
	}
	var held []heldSet
	for fi, p := range pos {
		var ps []train.EmbedPair
		if strings.HasSuffix(strings.ToLower(p), ".json") {
			qa, err := train.ReadQASetSplit(p, *heldEvery, *valEvery)
			if err != nil {
				return err
			}
			if len(qa.Held) > 0 {
				held = append(held, heldSet{p, qa})
			}
			ps = qa.Train
		} else if ps, err = train.ReadEmbedPairs(p); err != nil {
			return err
		}
		if *mine == 0 && len(pairs) > 0 && (ps[0].Negative == "") != (pairs[0].Negative == "") {
			return fmt.Errorf("%s: either every pair has a \"negative\" or none does (%s differs)", p, pos[0])
		}
		pairs = append(pairs, ps...)
		for range ps {
			groups = append(groups, fi)
		}
	}
	if *mine > 0 {
		if err := mineNegatives(e, pairs, groups, *mine, *seed); err != nil {
			return err
		}
	}
	if err := checkModelFile(*modelPath); err != nil {
		return err
	}
	f, err := gguf.Open(*modelPath)
	if err != nil {
		return err
	}
	defer f.Close()
	tok, err := tokenizer.FromGGUF(f)
	if err != nil {
		return fmt.Errorf("--model %s: %w", *modelPath, err)
	}
	tr, err := train.NewEmbedTrainer(f, *threads)
	if err != nil {
		return fmt.Errorf("--model %s: %w", *modelPath, err)
	}
	defer tr.Close()
	limit := min(*maxTokens, tr.Config.CtxTrain)
	if limit < 2 {
		return fmt.Errorf("--max-tokens %d: at least 2 ([CLS] and [SEP])", *maxTokens)
	}
	// Texts are tokenized as gptgo embed tokenizes them for this model:
	// bert parses special tokens' text (as llama.cpp does), decoders not.
	eo := tokenizer.EncodeOptions{AddSpecial: true, ParseSpecial: model.IsEncoderFile(f)}
	enc := func(s string) []int32 {
		ids := tok.Encode(s, eo)
		if len(ids) > limit {
			ids = append(ids[:limit-1], ids[len(ids)-1])
		}
		return ids
	}
	var data train.EmbedBatch
	for _, p := range pairs {
		data.Queries = append(data.Queries, enc(p.Query))
		data.Positives = append(data.Positives, enc(p.Positive))
		if p.Negative != "" {
			data.Negatives = append(data.Negatives, enc(p.Negative))
		}
	}
	evaluate := func(when string) error {
		for _, h := range held {
			qs := make([][]int32, len(h.set.Held))
			for i, q := range h.set.Held {
				qs[i] = enc(q)
			}
			ps := make([][]int32, len(h.set.Passages))
			for i, p := range h.set.Passages {
				ps[i] = enc(p)
			}
			qv, err := tr.EmbedAll(qs)
			if err != nil {
				return err
			}
			pv, err := tr.EmbedAll(ps)
			if err != nil {
				return err
			}
			r := train.RecallAtK(qv, pv, h.set.Answer, []int{1, 5, 20})
			fmt.Fprintf(e.stderr, "held-out %s (%s): recall@1 %.3f  @5 %.3f  @20 %.3f  (%d questions, %d paragraphs)\n",
				h.name, when, r[0], r[1], r[2], len(qs), len(ps))
		}
		return nil
	}
	if err := evaluate("before"); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "train embed: %d pairs, %s %d×%d (%s pooling), %d steps of %d\n",
		len(pairs), tr.Config.Arch, tr.Config.Layers, tr.Config.Embd, tr.Pooling, cfg.Steps, cfg.Batch)
	if *maxTokens > tr.Config.CtxTrain {
		fmt.Fprintf(e.stderr, "texts cut to the model's context of %d tokens\n", tr.Config.CtxTrain)
	}
	start := time.Now()
	err = tr.TrainEmbed(ctx, data, cfg, func(step int, loss, lr float64) {
		if step%*logEvery == 0 || step == cfg.Steps {
			fmt.Fprintf(e.stderr, "step %d/%d  loss %.4f  lr %.2e  %.1fs\n", step, cfg.Steps, loss, lr, time.Since(start).Seconds())
		}
	})
	if err != nil {
		return err
	}
	if *stopAt > 0 && *stopAt < cfg.Steps {
		fmt.Fprintf(e.stderr, "stopped after step %d; checkpoint %s (--resume continues)\n", *stopAt, cfg.Checkpoint)
		return nil
	}
	if tau := tr.Temperature(); tau > 0 {
		fmt.Fprintf(e.stderr, "learned temperature %.4f\n", tau)
	}
	if err := evaluate("after"); err != nil {
		return err
	}
	if err := tr.Export(*out, dt); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s\n", *out)
	return nil
}

// mineNegatives fills in the missing negatives of pairs with BM25-mined
// ones (rag.MineNegatives: the passages of the same input, depth N, the
// run's seed), so that a run is reproduced by its flags alone.
func mineNegatives(e *env, pairs []train.EmbedPair, groups []int, depth int, seed uint64) error {
	var qs, ps []string
	var gs, at []int
	for i, p := range pairs {
		if p.Negative == "" {
			qs, ps, gs, at = append(qs, p.Query), append(ps, p.Positive), append(gs, groups[i]), append(at, i)
		}
	}
	if len(qs) == 0 {
		return nil
	}
	start := time.Now()
	neg := rag.MineNegatives(qs, ps, gs, depth, seed)
	for k, i := range at {
		if neg[k] == "" {
			return fmt.Errorf("--mine-negatives: the query %q has no other passage in its input to be its negative", pairs[i].Query)
		}
		pairs[i].Negative = neg[k]
	}
	fmt.Fprintf(e.stderr, "mined %d BM25 hard negatives (depth %d) in %.1fs\n", len(qs), depth, time.Since(start).Seconds())
	return nil
}
