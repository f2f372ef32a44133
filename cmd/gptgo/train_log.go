// Reference: nanoGPT train.py and llm.c train_gpt2.c (a log line per step, val loss every N steps, a
// generated sample every M); the run's log.jsonl, loss.svg and summary.

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/autograd"
)

// logEntry is one line of OUT/log.jsonl.
type logEntry struct {
	Step      int      `json:"step"`
	Loss      float64  `json:"loss"`
	LR        float64  `json:"lr"`
	GradNorm  float64  `json:"grad_norm"`
	TokPerSec float64  `json:"tok_per_s"`
	ValLoss   *float64 `json:"val_loss,omitempty"`
	StepS     float64  `json:"step_s,omitempty"`  // the step's seconds (a session's first pays its cold start)
	SetupS    float64  `json:"setup_s,omitempty"` // a session's first step only: seconds before it (train.StepReport.Setup)
}

// valSummary words the last validation loss for the summary line, or why
// there is none (rather than "val loss NaN").
func (r *pretrainRun) valSummary() string {
	switch {
	case r.valL == nil:
		return "no validation data"
	case math.IsNaN(r.lastEval):
		return "no validation loss (eval_every 0)"
	}
	return fmt.Sprintf("val loss %.4f", r.lastEval)
}

func (r *pretrainRun) ckptPath() string { return filepath.Join(r.dir, ckptName) }

func (r *pretrainRun) lastStep() int {
	if len(r.log) == 0 {
		return 0
	}
	return r.log[len(r.log)-1].Step
}

// openLog reads an earlier session's log when resuming (the entries after
// the checkpoint are dropped when the first resumed step reports), and
// opens the log for writing.
func (r *pretrainRun) openLog() error {
	path := filepath.Join(r.dir, logName)
	r.log = nil
	if r.resuming {
		b, err := os.ReadFile(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
		for _, line := range bytes.Split(b, []byte("\n")) {
			var le logEntry
			if len(line) > 0 && json.Unmarshal(line, &le) == nil {
				r.log = append(r.log, le)
			}
		}
	}
	return r.rewriteLog()
}

// rewriteLog replaces the log with r.log as a whole (a kill mid-rewrite
// leaves the previous log, never a truncated one) and opens it for
// appending; a step's line torn by a kill is skipped by openLog.
func (r *pretrainRun) rewriteLog() error {
	if r.logFile != nil {
		r.logFile.Close()
		r.logFile = nil
	}
	var buf bytes.Buffer
	for _, le := range r.log {
		b, err := json.Marshal(le)
		if err != nil {
			return err
		}
		buf.Write(append(b, '\n'))
	}
	path := filepath.Join(r.dir, logName)
	if err := atomicfile.WriteBytes(path, buf.Bytes()); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		return err
	}
	r.logFile = f
	return nil
}

func (r *pretrainRun) appendLog(le logEntry, keep bool) error {
	b, err := json.Marshal(le)
	if err != nil {
		return err
	}
	if keep {
		r.log = append(r.log, le)
	}
	_, err = r.logFile.Write(append(b, '\n'))
	return err
}

// report prints the progress line, logs the step, and runs the samples
// and the loss curve on their schedule.
func (r *pretrainRun) report(s train.StepReport) error {
	cfg := r.cfg
	le, err := r.logStep(s)
	if err != nil {
		return err
	}
	tps := le.TokPerSec
	perStep := time.Since(r.started) / time.Duration(r.stepsNow)
	eta := perStep * time.Duration(cfg.Run.Steps-s.Step)
	fmt.Fprintf(r.e.stderr, "\rstep %d/%d  loss %.4f  lr %.2e  %.0f tok/s  ETA %s   ", s.Step, cfg.Run.Steps, s.Loss, s.LR, tps, eta.Round(time.Second))
	if le.ValLoss != nil {
		fmt.Fprintf(r.e.stderr, "\nstep %d: val loss %.4f\n", s.Step, *le.ValLoss)
	}
	if cfg.Run.SampleEvery > 0 && s.Step%cfg.Run.SampleEvery == 0 && s.Step != cfg.Run.Steps && r.tok != nil {
		if err := r.sample(s.Step); err != nil {
			return err
		}
	}
	if cfg.Run.CheckpointEvery > 0 && s.Step%cfg.Run.CheckpointEvery == 0 {
		return r.writeSVG()
	}
	return nil
}

// logStep writes the step's line to OUT/log.jsonl (after dropping, on the
// first step of a resumed session, what an earlier session logged past its
// checkpoint) and keeps the last losses; `gptgo train sft` logs through it
// too.
func (r *pretrainRun) logStep(s train.StepReport) (logEntry, error) {
	if r.stepsNow == 0 && s.Resumed {
		// Steps an earlier session logged past its checkpoint are redone.
		kept := r.log[:0]
		for _, le := range r.log {
			if le.Step < s.Step {
				kept = append(kept, le)
			}
		}
		r.log = kept
		if err := r.rewriteLog(); err != nil {
			return logEntry{}, err
		}
		fmt.Fprintf(r.e.stderr, "resumed at step %d\n", s.Step-1)
	}
	r.stepsNow++
	le := logEntry{Step: s.Step, Loss: s.Loss, LR: s.LR, GradNorm: s.GradNorm, TokPerSec: float64(s.Tokens) / s.Elapsed.Seconds(),
		StepS: s.Elapsed.Seconds(), SetupS: s.Setup.Seconds()}
	r.lastLoss = s.Loss
	if !math.IsNaN(s.EvalLoss) {
		v := s.EvalLoss
		le.ValLoss, r.lastEval = &v, v
	}
	if err := r.appendLog(le, true); err != nil {
		return logEntry{}, err
	}
	if s.Saved {
		// The checkpoint holding this step is published after this returns:
		// the line must be on disk first (a crash then leaves the log one
		// step ahead, which a resume redoes, never one behind).
		if err := r.logFile.Sync(); err != nil {
			return logEntry{}, err
		}
	}
	return le, nil
}

// sample prints a greedy continuation of the sample prompt from the
// current weights. Each token reruns the whole window on a tape of its own
// with gradients off (no KV cache on the tape), which costs little at
// sample lengths and leaves the training tape and loaders untouched.
func (r *pretrainRun) sample(step int) error {
	cfg := r.cfg
	ids := r.tok.Encode(cfg.Run.SamplePrompt, tokenizer.EncodeOptions{})
	if len(ids) == 0 {
		ids = []int32{max(r.tok.BOS(), r.tok.EOS(), 0)}
	}
	prompt := len(ids)
	tp := autograd.NewTape(r.pool)
	tp.NoGrad(true)
	window := cfg.Run.Seq
	if r.m.LearnedPos {
		window = min(window, r.m.CtxTrain)
	}
	for range cfg.Run.SampleTokens {
		ctxIDs := ids[max(0, len(ids)-window):]
		tp.Reset()
		logits := r.m.Logits(tp, ctxIDs, len(ctxIDs))
		if err := tp.Err(); err != nil {
			return fmt.Errorf("sample: %w", err)
		}
		last := logits.Data[(len(ctxIDs)-1)*r.m.Vocab:]
		best := 0
		for i, x := range last {
			if x > last[best] {
				best = i
			}
		}
		ids = append(ids, int32(best))
		if r.tok.IsEOG(int32(best)) {
			break
		}
	}
	fmt.Fprintf(r.e.stderr, "\nsample at step %d: %q\n", step, cfg.Run.SamplePrompt+r.tok.Decode(ids[prompt:]))
	return nil
}

// writeSVG draws OUT/loss.svg: the training loss per step and the
// validation loss at each evaluation, over step on x. Hand-written SVG: two
// polylines, axes with a few ticks, labels; no dependency.
func (r *pretrainRun) writeSVG() error {
	const W, H, left, right, top, bottom = 720, 420, 60, 20, 30, 50
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", W, H)
	maxStep, lo, hi := 1, math.Inf(1), math.Inf(-1)
	for _, le := range r.log {
		maxStep = max(maxStep, le.Step)
		for _, v := range []*float64{&le.Loss, le.ValLoss} {
			if v != nil && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
				lo, hi = min(lo, *v), max(hi, *v)
			}
		}
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	lo = math.Max(0, math.Floor(lo*2)/2)
	hi = math.Ceil(hi*2) / 2
	if hi <= lo {
		hi = lo + 1
	}
	pw, ph := float64(W-left-right), float64(H-top-bottom)
	x := func(step int) float64 { return left + pw*float64(step)/float64(maxStep) }
	y := func(v float64) float64 { return top + ph*(1-(v-lo)/(hi-lo)) }
	fmt.Fprintf(&b, `<text x="%d" y="18" font-size="14">%s: loss by step</text>`+"\n", left, xmlEscape(r.m.Arch+" "+filepath.Base(r.dir)))
	fmt.Fprintf(&b, `<path d="M%d %d V%d H%d" fill="none" stroke="black"/>`+"\n", left, top, H-bottom, W-right)
	for i := 0; i <= 5; i++ {
		v := lo + (hi-lo)*float64(i)/5
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%.2f</text>`+"\n",
			left, W-right, y(v), y(v), left-6, y(v)+4, v)
		s := int(math.Round(float64(maxStep) * float64(i) / 5))
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%d</text>`+"\n", x(s), H-bottom+18, s)
	}
	fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">step</text>`+"\n", left+pw/2, H-12)
	var train, val strings.Builder
	for _, le := range r.log {
		if !math.IsNaN(le.Loss) && !math.IsInf(le.Loss, 0) {
			fmt.Fprintf(&train, "%.1f,%.1f ", x(le.Step), y(le.Loss))
		}
		if le.ValLoss != nil {
			fmt.Fprintf(&val, "%.1f,%.1f ", x(le.Step), y(*le.ValLoss))
		}
	}
	fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`+"\n", strings.TrimSpace(train.String()))
	if val.Len() > 0 {
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="#d62728" stroke-width="2"/>`+"\n", strings.TrimSpace(val.String()))
	}
	fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#1f77b4">— train</text><text x="%d" y="%d" fill="#d62728">— validation</text>`+"\n", W-right-170, top+14, W-right-90, top+14)
	b.WriteString("</svg>\n")
	return atomicfile.WriteBytes(filepath.Join(r.dir, svgName), []byte(b.String()))
}

func xmlEscape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;").Replace(s)
}

// summary is the run as gptgo bake reports it, from the whole log
// (earlier sessions' steps included): parameters, steps, losses, and the
// time the steps took (evaluations, samples and checkpoints excluded).
func (r *pretrainRun) summary() map[string]any {
	var params int
	for _, p := range r.m.Params() {
		params += len(p.Data)
	}
	var secs float64
	var tokens int
	best, bestStep := math.Inf(1), 0
	tokPerStep := r.cfg.Run.Batch * r.cfg.Run.Seq * r.cfg.Optim.Accum
	for _, le := range r.log {
		if le.TokPerSec > 0 {
			secs += float64(tokPerStep) / le.TokPerSec
		}
		tokens += tokPerStep
		if le.ValLoss != nil && *le.ValLoss < best {
			best, bestStep = *le.ValLoss, le.Step
		}
	}
	s := map[string]any{
		"parameters": params, "steps": r.lastStep(), "tokens": tokens,
		"step_seconds": math.Round(secs), "tokens_per_second": math.Round(float64(tokens) / max(secs, 1e-9)),
		"final_train_loss": r.lastLoss,
	}
	if n := len(r.log); n > 0 && r.log[n-1].ValLoss != nil {
		s["final_val_loss"] = *r.log[n-1].ValLoss
	}
	if bestStep > 0 {
		s["best_val_loss"], s["best_val_step"] = best, bestStep
	}
	return s
}
