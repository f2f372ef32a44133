// Reference: DeepSpeed-Chat step 3 (actor from the SFT model, critic from the reward model, a frozen reference for
// the KL penalty) and TRL's PPO trainer (the logged reward, KL, losses, clip fraction, entropy, response length);
// the loop is train.PPO, the model and export `gptgo train sft`'s (train_sft.go).

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/tokenizer/chat"
	"github.com/gptgo/gptgo/train"
)

const ppoUsage = "PROMPTS... --reward RM.gguf [--model SFT.gguf] [--out DIR] [--iterations N] [--batch B] [--max-new N] [--kl-coef B] [--kl-target K] [flags]\n\n" +
	"Optimises MODEL (the embedded default model when omitted; with --lora its adapters) with PPO against the reward model RM " +
	"(gptgo train rm), with a per-token KL penalty to a frozen copy of MODEL. PROMPTS are .txt files (one prompt a line) or " +
	"conversation files (the turns before the last assistant turn are the prompt). The critic starts as a copy of RM. Each iteration samples " +
	"one answer to --batch prompts, scores it, and runs --epochs PPO steps. Writes OUT/ppo.jsonl (mean reward, KL, β, policy and value " +
	"loss, clip fraction, entropy, response length per iteration), OUT/ppo.svg, OUT/checkpoint.ckpt and OUT/model.gguf (OUT/adapter.gguf with --lora). " +
	"--resume continues a run from its checkpoint, given the same arguments."

func runPPO(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "train ppo", ppoUsage)
	base := fs.String("model", "", "GGUF model to optimise (default: the embedded default model)")
	rmPath := fs.String("reward", "", "reward model (gptgo train rm's model.gguf)")
	out := fs.String("out", "out", "output directory (ppo.jsonl, ppo.svg, model.gguf)")
	tmpl := fs.String("template", "", "built-in chat template for the prompts ("+strings.Join(chat.BuiltinNames(), ", ")+"); default: the model's")
	iters := fs.Int("iterations", 50, "rollout batches")
	batch := fs.Int("batch", 8, "prompts per rollout batch")
	maxNew := fs.Int("max-new", 48, "answer tokens at most")
	epochs := fs.Int("epochs", train.DefaultPPO.Epochs, "PPO epochs over each batch")
	lr := fs.Float64("lr", 1e-5, "learning rate (actor and critic)")
	klCoef := fs.Float64("kl-coef", train.DefaultPPO.KL.Beta, "β of the per-token KL penalty to the initial model")
	klTarget := fs.Float64("kl-target", 0, "adapt β toward this KL per answer (0: β fixed)")
	temp := fs.Float64("temperature", 1, "sampling temperature of the rollouts")
	seed := fs.Uint64("seed", 1337, "seed of the prompt order and the sampling")
	threads := fs.Int("threads", 0, "worker threads (0: all cores)")
	every := fs.Int("checkpoint-every", 10, "write OUT/checkpoint.ckpt every N iterations (and after the last)")
	resume := fs.Bool("resume", false, "continue the run in --out from its checkpoint (give the same arguments)")
	lf := addLoRATrainFlags(fs)
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || *rmPath == "" {
		return fmt.Errorf("name the prompt files and --reward RM.gguf")
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	cfg := train.DefaultSFTConfig()
	cfg.Model.Base, cfg.Data.Template, cfg.Run.Out, cfg.Run.Seed, cfg.Run.Threads = *base, *tmpl, *out, *seed, *threads
	if err := lf.apply(given, &cfg.LoRA); err != nil {
		return err
	}
	opts := train.DefaultPPO
	opts.Epochs, opts.KL = *epochs, train.KLController{Beta: *klCoef, Target: *klTarget, Horizon: 10000}
	pc := train.PPOConfig{PPOOptions: opts, Iterations: *iters, Batch: *batch, MaxNew: *maxNew, Temperature: *temp, LR: *lr,
		AdamW: train.AdamWConfig{Beta1: 0.9, Beta2: 0.95, Eps: 1e-8}, ClipNorm: 1, Seed: *seed,
		CheckpointPath: filepath.Join(*out, ckptName), CheckpointEvery: *every}
	if err := checkRunDir(*out, *resume); err != nil {
		return err
	}
	if err := opts.Validate(); err != nil {
		return err
	}
	s := &sftRun{cfg: cfg, e: e}
	if err := s.loadBase(); err != nil {
		return err
	}
	defer s.close()
	s.pool = tensor.NewPool(*threads)
	pc.IsEOG = s.enc.Tok.IsEOG
	prompts, msgs, err := readPrompts(s.enc, pos, s.m.CtxTrain-*maxNew)
	if err != nil {
		return err
	}
	ref, err := openTrainable(*base)
	if err != nil {
		return fmt.Errorf("reference: %w", err)
	}
	rm, err := openScorer(*rmPath, *tmpl, *threads)
	if err != nil {
		return err
	}
	defer rm.close()
	critic, err := openScorer(*rmPath, *tmpl, 1)
	if err != nil {
		return err
	}
	critic.close() // its model is used on s.pool
	// train.PPO hands the reward the very prompt slices it was given: the
	// address of the first token finds the prompt's turns.
	index := map[*int32]int{}
	for i, p := range prompts {
		index[&p[0]] = i
	}
	reward := func(prompt, resp []int32) (float64, error) {
		i, ok := index[&prompt[0]]
		if !ok {
			return 0, fmt.Errorf("unknown prompt")
		}
		text := s.enc.Tok.Decode(trimEOG(resp, s.enc.Tok.IsEOG))
		return rm.rm.ScoreAnswer(rm.pool, rm.enc, msgs[i], text, rm.ctx)
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "%d prompts; %d iterations of %d answers (≤ %d tokens), %d epochs each, β %g%s\n", len(prompts), *iters, *batch, *maxNew, *epochs, *klCoef,
		map[bool]string{true: fmt.Sprintf(" adapted to a KL of %g", *klTarget), false: " fixed"}[*klTarget > 0])
	var log []train.PPOStats
	if *resume {
		if log, err = readPPOLog(*out); err != nil {
			return err
		}
	}
	started, first := time.Now(), true
	err = train.PPO(ctx, s.m, ref, critic.rm, reward, s.pool, prompts, pc, func(st train.PPOStats) error {
		if first { // iterations an earlier session logged past its checkpoint are redone
			log = slices.DeleteFunc(log, func(l train.PPOStats) bool { return l.Iteration >= st.Iteration })
			first = false
		}
		log = append(log, st)
		fmt.Fprintf(e.stderr, "\riteration %d/%d  reward %.4f  KL %.3f  β %.4f  clip %.2f  entropy %.3f  length %.1f   ", st.Iteration, *iters, st.Reward, st.KL, st.Beta, st.ClipFrac, st.Entropy, st.Length)
		return writePPOLog(*out, log)
	})
	fmt.Fprintln(e.stderr)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return fmt.Errorf("interrupted; checkpoint in %s (continue with the same arguments and --resume)", pc.CheckpointPath)
		}
		return err
	}
	if len(log) == 0 {
		return fmt.Errorf("the run in %s had already done its %d iterations", *out, *iters)
	}
	path, dt, params, err := s.export("PPO")
	if err != nil {
		return err
	}
	initial, last := log[0], log[len(log)-1]
	fmt.Fprintf(e.stdout, "%s: %s, %s parameters, %v, %d iterations, mean reward %.4f → %.4f, KL %.3f, %.1fs\n",
		path, s.m.Arch, benchCount(int64(params)), dt, len(log), initial.Reward, last.Reward, last.KL, time.Since(started).Seconds())
	return nil
}

func trimEOG(resp []int32, isEOG func(int32) bool) []int32 {
	if n := len(resp); n > 0 && isEOG(resp[n-1]) {
		return resp[:n-1]
	}
	return resp
}

// openTrainable reads a frozen float32 copy of the model at path ("" is
// the embedded default).
func openTrainable(path string) (*model.Trainable, error) {
	var f *gguf.File
	var err error
	if path == "" {
		f, err = models.OpenDefault()
	} else {
		f, err = gguf.Open(path)
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return model.TrainableFromGGUF(f)
}

// readPrompts reads prompts: .txt lines, or conversation files (the turns
// before the last assistant turn). Each is rendered with the generation
// prompt; those longer than maxTokens are dropped, said on stderr by the caller's count.
func readPrompts(enc *train.Encoder, paths []string, maxTokens int) ([][]int32, [][]chat.Message, error) {
	var msgs [][]chat.Message
	for _, p := range paths {
		if strings.HasSuffix(p, ".txt") {
			f, err := os.Open(p)
			if err != nil {
				return nil, nil, err
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); line != "" {
					msgs = append(msgs, []chat.Message{{Role: "user", Content: line}})
				}
			}
			f.Close()
			if err := sc.Err(); err != nil {
				return nil, nil, fmt.Errorf("%s: %w", p, err)
			}
			continue
		}
		cs, err := train.ReadConversations(p)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cs {
			last := 0
			for i, m := range c.Messages {
				if m.Role == "assistant" {
					last = i
				}
			}
			if last > 0 {
				msgs = append(msgs, c.Messages[:last])
			}
		}
	}
	var prompts [][]int32
	var kept [][]chat.Message
	for _, m := range msgs {
		ids, err := enc.Prompt(m)
		if err != nil {
			return nil, nil, err
		}
		if len(ids) > 0 && len(ids) <= maxTokens {
			prompts, kept = append(prompts, ids), append(kept, m)
		}
	}
	if len(prompts) == 0 {
		return nil, nil, fmt.Errorf("no prompt in %s fits the context with --max-new tokens", strings.Join(paths, ", "))
	}
	return prompts, kept, nil
}

// readPPOLog reads an earlier session's OUT/ppo.jsonl.
func readPPOLog(dir string) ([]train.PPOStats, error) {
	b, err := os.ReadFile(filepath.Join(dir, "ppo.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var log []train.PPOStats
	for _, line := range strings.Split(string(b), "\n") {
		var st train.PPOStats
		if line != "" && json.Unmarshal([]byte(line), &st) == nil {
			log = append(log, st)
		}
	}
	return log, nil
}

// writePPOLog writes OUT/ppo.jsonl and OUT/ppo.svg from the whole log.
func writePPOLog(dir string, log []train.PPOStats) error {
	var b strings.Builder
	for _, s := range log {
		line, err := json.Marshal(s)
		if err != nil {
			return err
		}
		b.Write(append(line, '\n'))
	}
	if err := atomicfile.WriteBytes(filepath.Join(dir, "ppo.jsonl"), []byte(b.String())); err != nil {
		return err
	}
	series := []struct {
		name string
		get  func(train.PPOStats) float64
	}{
		{"mean reward", func(s train.PPOStats) float64 { return s.Reward }}, {"KL to the reference", func(s train.PPOStats) float64 { return s.KL }},
		{"policy loss", func(s train.PPOStats) float64 { return s.PolicyLoss }}, {"value loss", func(s train.PPOStats) float64 { return s.ValueLoss }},
		{"clip fraction", func(s train.PPOStats) float64 { return s.ClipFrac }}, {"entropy", func(s train.PPOStats) float64 { return s.Entropy }},
		{"response length", func(s train.PPOStats) float64 { return s.Length }}, {"KL coefficient β", func(s train.PPOStats) float64 { return s.Beta }},
	}
	// Small multiples: one panel per quantity, two columns, iteration on x.
	const pw, ph, gap, cols = 340, 150, 40, 2
	W, H := cols*(pw+gap)+gap, (len(series)+cols-1)/cols*(ph+gap)+gap
	var svg strings.Builder
	fmt.Fprintf(&svg, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11"><rect width="%d" height="%d" fill="white"/>`+"\n", W, H, W, H)
	for k, s := range series {
		x0, y0 := gap+(k%cols)*(pw+gap), gap+(k/cols)*(ph+gap)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, e := range log {
			v := s.get(e)
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		if !(hi > lo) {
			lo, hi = lo-1, lo+1
		}
		fmt.Fprintf(&svg, `<text x="%d" y="%d">%s</text><text x="%d" y="%d" fill="#666">%.3g … %.3g</text><path d="M%d %d V%d H%d" fill="none" stroke="black"/>`+"\n",
			x0, y0-6, xmlEscape(s.name), x0+pw-120, y0-6, lo, hi, x0, y0, y0+ph, x0+pw)
		var pts strings.Builder
		for i, e := range log {
			x := float64(x0) + float64(pw)*float64(i)/float64(max(len(log)-1, 1))
			y := float64(y0) + float64(ph)*(1-(s.get(e)-lo)/(hi-lo))
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
		}
		fmt.Fprintf(&svg, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`+"\n", strings.TrimSpace(pts.String()))
	}
	svg.WriteString("</svg>\n")
	return atomicfile.WriteBytes(filepath.Join(dir, "ppo.svg"), []byte(svg.String()))
}
