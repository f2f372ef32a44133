// Reference: the record layout of ../shared/reference/outputs/*.jsonl (made with llama.cpp's
// llama_get_logits_ith after a batch with logits at every position).

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/gptgo/gptgo/tokenizer"
)

func init() {
	register(&command{
		name:    "logits",
		summary: "print the top-K logits at every prompt position as JSON",
		usage:   "MODEL [PROMPT] [--top K] [--head N]   (PROMPT defaults to stdin)",
		run:     runLogits,
	})
}

// logitsRecord is one output line; its fields follow the reference files.
type logitsRecord struct {
	Prompt   string         `json:"prompt"`
	Tokens   []int32        `json:"tokens"`
	TopK     [][][2]float64 `json:"topk"` // [position][rank] = [token id, logit], highest first
	LastHead []float32      `json:"last_logits_head,omitempty"`
}

func runLogits(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "logits", "MODEL [PROMPT] [flags]\n\nRuns the prompt through the model in one batch and prints, as one JSON line, its tokens and the K highest logits at every position.")
	f := addLoadFlags(fs)
	top := fs.Int("top", 8, "how many logits per position")
	headN := fs.Int("head", 0, "also print the first N logits of the last position")
	noBOS := fs.Bool("no-bos", false, "do not add BOS even where the model asks for it")
	path, pos, err := f.parseModelArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return errUsage
	}
	if *top < 1 {
		return fmt.Errorf("--top %d: want at least 1", *top)
	}
	prompt, err := promptText(ctx, e, pos)
	if err != nil {
		return err
	}
	in, err := loadInference(e, path, f)
	if err != nil {
		return err
	}
	defer in.Close()
	ids := in.tok.Encode(prompt, tokenizer.EncodeOptions{AddSpecial: !*noBOS, ParseSpecial: true})
	if len(ids) == 0 {
		return errors.New("the prompt has no tokens")
	}
	if len(ids) > in.st.Ctx() {
		return fmt.Errorf("the prompt has %s, more than the context of %d", plural(len(ids), "1 token", "%d tokens"), in.st.Ctx())
	}
	rec := logitsRecord{Prompt: prompt, Tokens: ids, TopK: make([][][2]float64, len(ids))}
	err = in.st.ForwardAll(ids, func(i int, logits []float32) error {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		rec.TopK[i] = topLogits(logits, *top)
		if i == len(ids)-1 && *headN > 0 {
			rec.LastHead = append([]float32(nil), logits[:min(*headN, len(logits))]...)
		}
		return nil
	})
	if err != nil {
		return err
	}
	enc := json.NewEncoder(e.stdout)
	enc.SetEscapeHTML(false)
	return enc.Encode(rec)
}

// topLogits returns the k largest logits as [id, logit] pairs, highest
// first (lower id first on a tie), keeping a sorted list of k by insertion:
// O(V·k), cheap for the small k this command is for.
func topLogits(logits []float32, k int) [][2]float64 {
	k = min(k, len(logits))
	top := make([]int, 0, k+1)
	for i, v := range logits {
		if len(top) == k && v <= logits[top[k-1]] {
			continue
		}
		j := len(top)
		for j > 0 && logits[top[j-1]] < v {
			j--
		}
		top = append(top, 0)
		copy(top[j+1:], top[j:])
		top[j] = i
		if len(top) > k {
			top = top[:k]
		}
	}
	out := make([][2]float64, len(top))
	for j, id := range top {
		// Shortest float32 form, so the JSON shows what the model computed.
		v, _ := strconv.ParseFloat(strconv.FormatFloat(float64(logits[id]), 'g', -1, 32), 64)
		if math.IsInf(v, 0) || math.IsNaN(v) {
			v = 0 // JSON has no infinities; a masked logit never ranks here anyway
		}
		out[j] = [2]float64{float64(id), v}
	}
	return out
}
