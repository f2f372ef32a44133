// Reference: Cui, Yang & Yao 2023, "Efficient and Effective Text Encoding for Chinese LLaMA and Alpaca"
// (arXiv:2304.08177) §2 and ymcui/Chinese-LLaMA-Alpaca's scripts (merge_tokenizers.py: a tokenizer trained
// on Chinese text appended to LLaMA's, every old id kept; resize_token_embeddings; continued pretraining
// with LoRA and fully trained embeddings and head; then instruction tuning). The stages are `gptgo
// tokenizer train|extend`, `gptgo model resize-vocab`, `gptgo train pretrain --lora --train-embeddings`
// and `gptgo lora merge`.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/tokenizer"
)

// recipeExtend is a recipe's vocabulary extension: a byte-level BPE
// vocabulary is trained on the training part of the recipe's sources and
// its pieces that the base lacks are appended to the base's vocabulary
// (tokenizer.Extend: every base id keeps its token), then the base's
// embeddings (and head) get a row per new token before the continued
// pretraining. It needs a base and a train section.
type recipeExtend struct {
	// VocabSize is the size of the vocabulary trained on the sources
	// (bytes and specials included); the pieces it shares with the base
	// are not added again, so the base grows by less.
	VocabSize    int   `json:"vocab_size"`
	MinFrequency int64 `json:"min_frequency"` // never merge a pair seen fewer times
	// Init is how a new token's row starts: "pieces" (default), the mean
	// of the rows of the base tokens that spell it, so that the new token
	// first means what its spelling meant; or "mean", the mean of all the
	// base's rows (Hewitt 2021).
	Init string `json:"init"`
	// Type of the grown tensors: f32 (default), f16 or keep (the base's
	// own type when gptgo can write it).
	Type string `json:"type"`
}

// checkContinued lists what is wrong with a recipe that continues the
// pretraining of its base (base with sources and train).
func (r *recipe) checkContinued() []string {
	var errs []string
	if len(r.Sources) == 0 {
		errs = append(errs, "base with train continues the base's pretraining: sources are needed")
	}
	if r.Tokenizer.VocabSize != 0 || len(r.Tokenizer.Specials) > 0 {
		errs = append(errs, "base with train keeps the base's vocabulary: leave tokenizer out (extend adds pieces to it)")
	}
	if e := r.Extend; e != nil {
		if e.VocabSize < 257 {
			errs = append(errs, fmt.Sprintf("extend.vocab_size %d is below 257 (256 bytes and a special token)", e.VocabSize))
		}
		if e.MinFrequency < 0 {
			errs = append(errs, fmt.Sprintf("extend.min_frequency %d is negative", e.MinFrequency))
		}
		if !slices.Contains([]string{"", "pieces", "mean"}, e.Init) {
			errs = append(errs, fmt.Sprintf("extend.init %q is not pieces or mean", e.Init))
		}
		if !slices.Contains([]string{"", "f32", "f16", "keep"}, e.Type) {
			errs = append(errs, fmt.Sprintf("extend.type %q is not f32, f16 or keep", e.Type))
		}
	}
	return errs
}

// checkExtend names an extend section in a recipe that has no base to
// extend; loadRecipe calls it for every recipe.
func (r *recipe) checkExtend() []string {
	if r.Extend != nil && (r.Base == "" || len(r.Train) == 0) {
		return []string{"extend grows a base model's vocabulary before its continued pretraining: it needs base and train"}
	}
	return nil
}

// continued reports whether the recipe continues the pretraining of its
// base model (rather than pretraining from scratch or only fine-tuning).
func (b *bake) continued() bool { return b.r.Base != "" && len(b.r.Train) > 0 }

// stageRuns reports whether the stage of that name is part of this
// recipe: a recipe from scratch has no resize; one from a base without a
// train section only fine-tunes and exports.
func (b *bake) stageRuns(name string) bool {
	switch {
	case b.r.Base == "":
		return name != "resize"
	case !b.continued():
		return name == "sft" || name == "export"
	}
	return true
}

// initPath is the model the continued pretraining starts from: the base
// with its vocabulary grown (WORK/init.gguf), or the base itself.
func (b *bake) initPath() string {
	if b.r.Extend == nil {
		return b.rel(b.r.Base)
	}
	return filepath.Join(b.work, "init.gguf")
}

// addVocabPath is the vocabulary trained on the sources alone, before it
// is merged into the base's.
func (b *bake) addVocabPath() string { return filepath.Join(b.work, "tokenizer-sources.gguf") }

// extendTokenizer writes WORK/tokenizer.gguf for a continued pretraining:
// the base's vocabulary, with the pieces of a vocabulary trained on the
// sources appended when the recipe extends it. The trained vocabulary sees
// only each source's leading documents up to 1 − val_fraction of its bytes,
// about where the held-out tail that the tokenize stage cuts by tokens
// starts: the two can differ by a few documents either way (the
// vocabulary is not known before it is trained; models/chinese-alpaca.md
// measures the overlap, 1,357 of 38,913 held-out bytes there).
func (b *bake) extendTokenizer(ctx context.Context) error {
	path := b.tokenizerPath()
	if exists(path) {
		b.manifest.Tokenizer = bakeFile{Path: filepath.ToSlash(b.relWork(path))}
		return b.hash(path)
	}
	base, err := tokenizer.LoadVocab(b.rel(b.r.Base))
	if err != nil {
		return fmt.Errorf("base: %w", err)
	}
	if b.r.Extend == nil {
		if err := base.WriteFile(path); err != nil {
			return err
		}
		b.manifest.Tokenizer = bakeFile{Path: filepath.ToSlash(b.relWork(path))}
		return b.hash(path)
	}
	if base.Model != "gpt2" {
		return fmt.Errorf("base %s: extend trains a byte-level BPE vocabulary; the base's is %s (extend a SentencePiece vocabulary with gptgo tokenizer extend)", b.r.Base, base.Model)
	}
	e := b.r.Extend
	specials := []string{}
	for i, ty := range base.Types {
		if ty == tokenizer.TypeControl && i == int(base.EOS) {
			specials = append(specials, base.Tokens[i]) // the trainer wants one; the base has it already
		}
	}
	if len(specials) == 0 {
		specials = []string{"<|endoftext|>"}
	}
	tr, err := tokenizer.NewTrainer(tokenizer.TrainOptions{VocabSize: e.VocabSize, Specials: specials, MinFrequency: e.MinFrequency, Pre: cmpOrString(base.Pre, "gpt-2"), Workers: b.r.Threads})
	if err != nil {
		return err
	}
	for _, s := range b.r.Sources {
		if err := addLeadingDocs(ctx, tr, b.docs(s), 1-s.ValFraction); err != nil {
			tr.Close()
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
	}
	add, err := tr.Train(ctx)
	if err != nil {
		return err
	}
	if err := add.WriteFile(b.addVocabPath()); err != nil {
		return err
	}
	v, rep, err := tokenizer.Extend(base, add, tokenizer.ExtendOptions{})
	if err != nil {
		return err
	}
	if err := v.WriteFile(path); err != nil {
		return err
	}
	fmt.Fprintf(b.e.stderr, "tokenizer: %d tokens trained on %.2f MB of the sources; the base's %d + %d new = %d (%d already there), %d merges added\n",
		len(add.Tokens), float64(tr.BytesFed())/1e6, rep.Base, rep.Added, len(v.Tokens), rep.Skipped, rep.MergesAdded)
	b.manifest.Tokenizer = bakeFile{Path: filepath.ToSlash(b.relWork(path))}
	if err := b.hash(b.addVocabPath()); err != nil {
		return err
	}
	return b.hash(path)
}

// addLeadingDocs feeds tr the leading documents of a docs.jsonl file
// (leadingDocs).
func addLeadingDocs(ctx context.Context, tr *tokenizer.Trainer, path string, share float64) error {
	var docs []string
	ro := data.DefaultReadOptions()
	ro.Format, ro.TextField = "jsonl", "text"
	if err := data.ReadFile(path, ro, func(d *data.Doc) error { docs = append(docs, d.Text); return nil }); err != nil {
		return err
	}
	for _, d := range docs[:leadingDocs(docs, share)] {
		if err := tr.Add(ctx, d); err != nil {
			return err
		}
	}
	return nil
}

// leadingDocs counts the documents from the start that end within share
// of the documents' bytes.
func leadingDocs(docs []string, share float64) int {
	var total int64
	for _, d := range docs {
		total += int64(len(d))
	}
	limit, fed := int64(share*float64(total)), int64(0)
	for i, d := range docs {
		if fed+int64(len(d)) > limit {
			return i
		}
		fed += int64(len(d))
	}
	return len(docs)
}

// resize writes WORK/init.gguf: the base with the extended vocabulary,
// token_embd (and output) grown by a row per new token.
func (b *bake) resize(ctx context.Context) error {
	if b.r.Extend == nil {
		return nil // the pretraining continues from the base itself
	}
	path := b.initPath()
	if !exists(path) {
		e := b.r.Extend
		var report strings.Builder
		if err := resizeVocab(&report, b.rel(b.r.Base), b.tokenizerPath(), path, cmpOrString(e.Type, "f32"), cmpOrString(e.Init, "pieces")); err != nil {
			return err
		}
		fmt.Fprint(b.e.stderr, "resize: "+strings.ReplaceAll(strings.TrimSpace(report.String()), "\n", "\nresize: ")+"\n")
	}
	return b.hash(path)
}

// mergeAdapter writes out as base with the adapter (a LoRA run's
// adapter.gguf) merged into its weights in F32, and the chat template
// given (when not empty) as its tokenizer.chat_template. The bake's later
// stages read a whole model, as they do after full training.
func mergeAdapter(base, adapter, out, chatTemplate string) error {
	a, err := readAdapter(adapter)
	if err != nil {
		return err
	}
	f, err := gguf.Open(base)
	if err != nil {
		return err
	}
	defer f.Close()
	merged := out
	if chatTemplate != "" {
		merged = out + ".merged"
		defer os.Remove(merged)
	}
	if err := model.MergeAdapters(f, []model.ScaledAdapter{{Adapter: a, Scale: 1}}, merged, false); err != nil {
		return fmt.Errorf("%s: %w", base, err)
	}
	if chatTemplate == "" {
		return nil
	}
	m, err := gguf.Open(merged)
	if err != nil {
		return err
	}
	defer m.Close()
	h := m.Header()
	h.Set("tokenizer.chat_template", gguf.NewValue(chatTemplate))
	return gguf.WriteFile(out, h, m.Source())
}

// mergePretrained, after a LoRA continued pretraining, merges its adapter
// into the model it trained over, as WORK/train/model.gguf.
func (b *bake) mergePretrained() error {
	dir := b.trainConf.Run.Out
	ad := filepath.Join(dir, adapterName)
	if !b.trainConf.LoRA.Enabled || !exists(ad) {
		return nil
	}
	if err := mergeAdapter(b.initPath(), ad, filepath.Join(dir, modelName), ""); err != nil {
		return err
	}
	fmt.Fprintf(b.e.stderr, "pretrain: merged %s into %s\n", b.relWork(ad), b.relWork(filepath.Join(dir, modelName)))
	return b.hash(ad)
}

// mergeSFT, after a LoRA fine-tuning, merges its adapter into the model it
// tuned, with the template it was tuned with, as WORK/sft/model.gguf.
func (b *bake) mergeSFT(r *sftRun) error {
	ad := filepath.Join(b.sftDir(), adapterName)
	if !r.m.LoRA() || !exists(ad) {
		return nil
	}
	if err := mergeAdapter(b.sftBase(), ad, filepath.Join(b.sftDir(), modelName), r.enc.Template.Source()); err != nil {
		return err
	}
	fmt.Fprintf(b.e.stderr, "sft: merged %s into %s\n", b.relWork(ad), b.relWork(filepath.Join(b.sftDir(), modelName)))
	return b.hash(ad)
}

// heldOutText is the text of a bake's validation shard, decoded: the
// sources' held-out tails, for measuring tokens per character.
func heldOutText(work string) (string, error) {
	tok, err := tokenizer.Load(filepath.Join(work, "tokenizer.gguf"))
	if err != nil {
		return "", err
	}
	_, raw, err := data.ReadShard(filepath.Join(work, "data", "val.tok"))
	if err != nil {
		return "", err
	}
	toks := make([]int32, len(raw))
	for i, t := range raw {
		toks[i] = int32(t)
	}
	return tok.Decode(toks), nil
}
