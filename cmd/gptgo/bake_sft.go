// Reference: LLaMA-Factory's dataset_info.json (several instruction sets in their own formats mixed into one
// SFT run, identity.json's {{name}}/{{author}} placeholders) and Chen et al. 2023 "Extending Context Window
// of Large Language Models via Positional Interpolation" §1 (a RoPE model fine-tuned at a longer length);
// the stage itself is `gptgo train sft`.

package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/train"
)

// recipeSFT is a recipe's supervised fine-tuning stage: after the
// pretraining (or from the recipe's base model) the model learns to answer
// through a chat template, on held-out-split instruction sets.
type recipeSFT struct {
	// Context, when larger than the model's context length, is written
	// into the model before the fine-tuning (<arch>.context_length). A
	// RoPE model has no weights per position, so only the metadata
	// changes; the positions beyond the old length are learnt by the
	// fine-tuning itself, whose run.seq must reach them (packed rows run
	// their positions on through the row, so every position up to seq is
	// trained).
	Context int               `json:"context"`
	Sources []recipeSFTSource `json:"sources"`
	// Train is a `gptgo train sft` config over its defaults; the bake
	// fills data.train, data.val (and data.val_fraction 0 when a source
	// holds records out), model.base, run.out, run.seed and run.threads.
	Train json.RawMessage `json:"train"`
}

// recipeSFTSource is one instruction set.
type recipeSFTSource struct {
	Name string `json:"name"`
	Path string `json:"path"` // Alpaca, ShareGPT or OpenAI-messages records: a JSON array or JSONL
	// Val records, the file's last ones, are held out: the validation loss
	// is computed on them, and they are prompts the model never trained
	// on for measuring its behaviour.
	Val int `json:"val"`
	// Replace maps a placeholder to its text everywhere in the file
	// (identity.json's {{name}} and {{author}}), before the split.
	Replace map[string]string `json:"replace"`
	// Repeat lists the training records this many times (0 or 1: once),
	// to weight a small set (the assistant's identity) in the mix.
	Repeat int `json:"repeat"`
}

// checkFromBase lists what is wrong with a recipe that starts from a model.
func (r *recipe) checkFromBase() []string {
	if len(r.Train) > 0 {
		return r.checkContinued() // continued pretraining (bake_extend.go)
	}
	var errs []string
	if len(r.Sources) > 0 || len(r.Train) > 0 || r.Tokenizer.VocabSize != 0 {
		errs = append(errs, "base starts the recipe from a model: sources, tokenizer and train must be left out")
	}
	if r.SFT == nil {
		errs = append(errs, "base needs an sft section (there is nothing else to do with a model)")
	}
	return errs
}

func (s *recipeSFT) check() []string {
	var errs []string
	if len(s.Sources) == 0 {
		errs = append(errs, "sft: no sources")
	}
	if s.Context < 0 || s.Context > 1<<20 {
		errs = append(errs, fmt.Sprintf("sft: context %d is not in [0, 1048576]", s.Context))
	}
	seen := map[string]bool{}
	for _, src := range s.Sources {
		if !plainWord(src.Name) || seen[src.Name] {
			errs = append(errs, fmt.Sprintf("sft source name %q must be a plain word, used once", src.Name))
		}
		seen[src.Name] = true
		if src.Path == "" {
			errs = append(errs, fmt.Sprintf("sft source %s: no path", src.Name))
		}
		if src.Val < 0 || src.Repeat < 0 {
			errs = append(errs, fmt.Sprintf("sft source %s: val %d and repeat %d must not be negative", src.Name, src.Val, src.Repeat))
		}
		for k := range src.Replace {
			if k == "" {
				errs = append(errs, fmt.Sprintf("sft source %s: replace has an empty placeholder", src.Name))
			}
		}
	}
	return errs
}

func (b *bake) sftDir() string     { return filepath.Join(b.work, "sft") }
func (b *bake) sftDataDir() string { return filepath.Join(b.work, "sft-data") }

// sftBase is the model the fine-tuning starts from, with the recipe's
// context written into it.
func (b *bake) sftBase() string { return filepath.Join(b.work, "base.gguf") }

// sftFrom is the model the SFT stage fine-tunes: the recipe's base, or the
// pretraining's output.
func (b *bake) sftFrom() string {
	if b.r.Base != "" && len(b.r.Train) == 0 {
		return b.rel(b.r.Base)
	}
	return filepath.Join(b.work, "train", modelName)
}

func (b *bake) sftFile(s recipeSFTSource, part string) string {
	return filepath.Join(b.sftDataDir(), s.Name+"."+part+".json")
}

// sftConfig is the recipe's sft.train over the defaults, with the bake's
// data files, base, output, seed and threads.
func (b *bake) sftConfig() (train.SFTRunConfig, error) {
	c := train.DefaultSFTConfig()
	dec := json.NewDecoder(bytes.NewReader(orEmpty(b.r.SFT.Train)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	c.Data.Train, c.Data.Val = nil, nil
	for _, s := range b.r.SFT.Sources {
		for range max(1, s.Repeat) {
			c.Data.Train = append(c.Data.Train, b.sftFile(s, "train"))
		}
		if s.Val > 0 {
			c.Data.Val = append(c.Data.Val, b.sftFile(s, "val"))
		}
	}
	if len(c.Data.Val) > 0 {
		c.Data.ValFraction = 0 // the held-out records are the validation set
	}
	c.Model.Base = b.sftBase()
	c.Run.Out, c.Run.Seed, c.Run.Threads = b.sftDir(), b.r.Seed, b.r.Threads
	return c, c.Validate()
}

// missingSFTInputs names the base model and the instruction sets that are
// not there (none once the fine-tuning has finished).
func (b *bake) missingSFTInputs() []string {
	if b.r.SFT == nil || exists(filepath.Join(b.sftDir(), modelName)) {
		return nil
	}
	var missing []string
	if base := b.rel(b.r.Base); base != "" && !exists(base) {
		missing = append(missing, fmt.Sprintf("%s (base)", base))
	}
	for _, s := range b.r.SFT.Sources {
		if p := b.rel(s.Path); !exists(p) {
			missing = append(missing, fmt.Sprintf("%s (sft source %s)", p, s.Name))
		}
	}
	return missing
}

// sft prepares the instruction sets, writes the base with the recipe's
// context and fine-tunes it (resuming from its checkpoint after an
// interruption); a finished run is left as it is.
func (b *bake) sft(ctx context.Context) error {
	if b.r.SFT == nil {
		return nil
	}
	final := filepath.Join(b.sftDir(), modelName)
	if exists(final) {
		fmt.Fprintf(b.e.stderr, "sft: done before (%s)\n", final)
		var old bakeManifest // keep the summary of the bake that trained it
		if raw, err := os.ReadFile(filepath.Join(b.work, "bake.json")); err == nil && json.Unmarshal(raw, &old) == nil {
			b.manifest.SFT = old.SFT
		}
		return b.hash(final)
	}
	counts, err := b.sftData()
	if err != nil {
		return err
	}
	if err := extendContext(b.sftFrom(), b.sftBase(), b.r.SFT.Context); err != nil {
		return err
	}
	c := b.sftConf
	r, err := newSFTRun(c, exists(filepath.Join(c.Run.Out, ckptName)), b.e)
	if err != nil {
		return err
	}
	defer r.close()
	if err := r.run(ctx); err != nil {
		return err
	}
	if err := b.mergeSFT(r); err != nil { // a LoRA run's adapter (bake_extend.go)
		return err
	}
	b.manifest.SFT = map[string]any{"records": counts, "steps": r.steps, "train_examples": len(r.trainEx), "val_examples": len(r.valEx),
		"seq": c.Run.Seq, "batch": c.Run.Batch, "final_loss": finiteOrNil(r.holder.lastLoss), "val_loss": finiteOrNil(r.holder.lastEval),
		"sample_answers_ended": r.finishedEOT}
	return b.hash(final)
}

// sftData writes each source's training and held-out records into
// WORK/sft-data (NAME.train.json, NAME.val.json: JSON arrays, the records
// as the file has them after the replacements), and returns the counts.
func (b *bake) sftData() (map[string][2]int, error) {
	if err := os.MkdirAll(b.sftDataDir(), 0o755); err != nil {
		return nil, err
	}
	counts := map[string][2]int{}
	for _, s := range b.r.SFT.Sources {
		recs, err := readSFTRecords(b.rel(s.Path), s.Replace)
		if err != nil {
			return nil, fmt.Errorf("sft source %s: %w", s.Name, err)
		}
		if s.Val >= len(recs) {
			return nil, fmt.Errorf("sft source %s: val %d holds out all %d records of %s", s.Name, s.Val, len(recs), s.Path)
		}
		cut := len(recs) - s.Val
		if err := atomicfile.WriteBytes(b.sftFile(s, "train"), jsonArray(recs[:cut])); err != nil {
			return nil, err
		}
		if s.Val > 0 {
			if err := atomicfile.WriteBytes(b.sftFile(s, "val"), jsonArray(recs[cut:])); err != nil {
				return nil, err
			}
		}
		counts[s.Name] = [2]int{cut, s.Val}
		fmt.Fprintf(b.e.stderr, "sft data %s: %d training records (seen %d× an epoch), %d held out\n", s.Name, cut, max(1, s.Repeat), s.Val)
	}
	return counts, nil
}

// readSFTRecords reads path's records (a JSON array, else JSONL) after
// replacing each placeholder by its text, escaped as a JSON string's
// content, so a replacement can hold quotes or newlines. Placeholders are
// replaced longest first, so that one inside another cannot break it.
func readSFTRecords(path string, replace map[string]string) ([]json.RawMessage, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(replace))
	for k := range replace {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		return len(keys[i]) > len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
	})
	text := string(raw)
	for _, k := range keys {
		q, _ := json.Marshal(replace[k]) // a string always marshals
		text = strings.ReplaceAll(text, k, string(q[1:len(q)-1]))
	}
	var recs []json.RawMessage
	if t := strings.TrimSpace(text); strings.HasPrefix(t, "[") {
		if err := json.Unmarshal([]byte(t), &recs); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	} else {
		for i, line := range strings.Split(text, "\n") {
			line = strings.TrimSpace(line)
			if line == "" {
				continue
			}
			if !json.Valid([]byte(line)) {
				return nil, fmt.Errorf("%s: line %d is not JSON", path, i+1)
			}
			recs = append(recs, json.RawMessage(line))
		}
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: no records", path)
	}
	return recs, nil
}

// finiteOrNil is x for JSON, which has no NaN (a run without validation
// data has no validation loss).
func finiteOrNil(x float64) any {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return nil
	}
	return x
}

// jsonArray writes records as a JSON array, one record a line.
func jsonArray(recs []json.RawMessage) []byte {
	var buf bytes.Buffer
	buf.WriteString("[\n")
	for i, r := range recs {
		var c bytes.Buffer
		_ = json.Compact(&c, r) // valid JSON: checked when read
		buf.Write(c.Bytes())
		if i < len(recs)-1 {
			buf.WriteByte(',')
		}
		buf.WriteByte('\n')
	}
	buf.WriteString("]\n")
	return buf.Bytes()
}

// extendContext writes the model at from to path with its context length
// raised to n (copied unchanged when n is 0 or not larger). The tensors
// are copied byte for byte: a RoPE model has no weights per position.
func extendContext(from, path string, n int) error {
	f, err := gguf.Open(from)
	if err != nil {
		return err
	}
	defer f.Close()
	h := f.Header()
	key := f.Arch() + ".context_length"
	if old, ok := f.Uint(key); !ok {
		return fmt.Errorf("%s: no %s", from, key)
	} else if n > 0 && uint64(n) > old {
		if f.Arch() == "gpt2" {
			return fmt.Errorf("%s: sft.context %d: a GPT-2 model has learned positions for %d tokens only", from, n, old)
		}
		h.Set(key, gguf.NewValue(uint32(n)))
	}
	return gguf.WriteFile(path, h, f.Source())
}
