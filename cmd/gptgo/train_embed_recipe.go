// Reference: recipes/embed.json and models/embed.md (the default embedder); the stages are
// train.ICTPairs / ReadInstructionPairs / ReadQASet, `gptgo tokenizer train`, `gptgo init --arch
// bert` and `gptgo train embed`, run in order the way `gptgo bake` runs a pretraining recipe.

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
)

// embedRecipe is the file `gptgo train embed --recipe` runs: where the
// pairs come from, the tokenizer and the model's shape, the training
// settings and where the result goes. Paths are relative to the recipe.
type embedRecipe struct {
	Name    string            `json:"name"`
	Seed    uint64            `json:"seed"`    // batch order and the initial weights
	Threads int               `json:"threads"` // workers of every stage (0: all cores)
	Work    string            `json:"work"`    // working directory; default bake/NAME beside the recipe
	Pairs   []embedPairSource `json:"pairs"`
	// Tokenizer is a byte-level BPE trained on the texts of the training
	// pairs (never on held-out paragraphs).
	Tokenizer struct {
		VocabSize int    `json:"vocab_size"`
		Pre       string `json:"pre"`
	} `json:"tokenizer"`
	Model struct {
		Dim, Layers, Heads, FF, Ctx int
	} `json:"model"`
	Train struct {
		Steps           int     `json:"steps"`
		Batch           int     `json:"batch"`
		LR              float64 `json:"lr"`
		Temperature     float64 `json:"temperature"`
		MaxTokens       int     `json:"max_tokens"`
		HeldOut         int     `json:"held_out"` // QA sets: every Nth paragraph is held out
		CheckpointEvery int     `json:"checkpoint_every"`
		// Validation keeps QA paragraphs 3, 3+N, … and their questions
		// out of this training and its tokenizer (WORK/eval/NAME-val.json),
		// for choices made after it; ICTQueries is the inverse cloze pairs
		// per passage (default 1); MineNegatives gives every pair a hard
		// negative from that depth of BM25's ranking (train embed
		// --mine-negatives; 0: none).
		Validation    int `json:"validation"`
		ICTQueries    int `json:"ict_queries"`
		MineNegatives int `json:"mine_negatives"`
		// StopAt, when set, ends the training after that step (the
		// schedule still spans Steps) and exports that checkpoint: a run
		// cut short, reproduced exactly.
		StopAt int `json:"stop_at"`
	} `json:"train"`
	// Finetune, when set, is a second training run that starts from the
	// first's model (WORK/embed.gguf) and trains on pairs made again with
	// more inverse cloze queries per passage, every pair given a
	// BM25-mined hard negative, and a validation split of each QA set
	// kept out (WORK/eval/NAME-val.json, for choices such as the hybrid
	// fusion weights); its model (WORK/embed-ft.gguf) is the one exported.
	Finetune *embedFinetune `json:"finetune"`
	Export   struct {
		Path string `json:"path"`
		Type string `json:"type"` // f16 or f32
	} `json:"export"`
}

// embedFinetune is a recipe's second training run.
type embedFinetune struct {
	Steps           int     `json:"steps"`
	Batch           int     `json:"batch"`
	LR              float64 `json:"lr"`
	Temperature     float64 `json:"temperature"`
	MaxTokens       int     `json:"max_tokens"`
	CheckpointEvery int     `json:"checkpoint_every"`
	MineNegatives   int     `json:"mine_negatives"` // depth of the BM25 ranking a negative is drawn from (train embed --mine-negatives)
	Validation      int     `json:"validation"`     // QA sets: validation paragraphs 3, 3+N, … (train embed --validation)
	ICTQueries      int     `json:"ict_queries"`    // inverse cloze pairs per passage (train.ICTPairsN)
	StopAt          int     `json:"stop_at"`
}

// embedPairSource is one source of pairs: exactly one of QA (a SQuAD or
// CMRC file: its training questions, and with ICT its training
// paragraphs' sentences too), Texts (inverse cloze pairs) or
// Instructions (Alpaca-format request → answer).
type embedPairSource struct {
	Name         string   `json:"name"`
	QA           string   `json:"qa"`
	ICT          bool     `json:"ict"`
	Texts        []string `json:"texts"`
	Instructions []string `json:"instructions"`
	MaxRunes     int      `json:"max_runes"` // ICT passage length (default 600)
	MinRunes     int      `json:"min_runes"` // instructions: shortest answer kept (default 20)
}

func loadEmbedRecipe(path string) (*embedRecipe, string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, "", err
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	var r embedRecipe
	if err := dec.Decode(&r); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(dir, p)
	}
	if r.Name == "" || len(r.Pairs) == 0 || r.Export.Path == "" {
		return nil, "", fmt.Errorf("%s: a recipe needs a name, pairs and export.path", path)
	}
	if r.Threads < 0 || r.Tokenizer.VocabSize < 300 || r.Train.HeldOut < 0 {
		return nil, "", fmt.Errorf("%s: threads must not be negative, tokenizer.vocab_size at least 300, train.held_out not negative", path)
	}
	for i := range r.Pairs {
		s := &r.Pairs[i]
		n := 0
		for _, set := range []bool{s.QA != "", len(s.Texts) > 0, len(s.Instructions) > 0} {
			if set {
				n++
			}
		}
		if n != 1 || s.Name == "" {
			return nil, "", fmt.Errorf("%s: pairs[%d]: give a name and one of qa, texts, instructions", path, i)
		}
		s.QA = rel(s.QA)
		for j := range s.Texts {
			s.Texts[j] = rel(s.Texts[j])
		}
		for j := range s.Instructions {
			s.Instructions[j] = rel(s.Instructions[j])
		}
		if s.MaxRunes == 0 {
			s.MaxRunes = 600
		}
		if s.MinRunes == 0 {
			s.MinRunes = 20
		}
	}
	r.Export.Path = rel(r.Export.Path)
	work := rel(r.Work)
	if r.Work == "" {
		work = filepath.Join(dir, "..", "bake", r.Name)
	}
	return &r, work, nil
}

// runEmbedRecipe runs the recipe's stages, each skipped when its output
// is there (the training resumes from its checkpoint):
//
//	pairs      WORK/pairs.jsonl (non-QA pairs), WORK/eval/NAME.json (held-out questions over all paragraphs)
//	tokenizer  WORK/tokenizer.gguf
//	init       WORK/init.gguf
//	train      WORK/embed.gguf (checkpoint WORK/embed.gguf.ckpt)
//	finetune   when the recipe has one: WORK/pairs-ft.jsonl, WORK/eval/NAME-val.json,
//	           WORK/embed-ft.gguf trained from WORK/embed.gguf (checkpoint WORK/embed-ft.gguf.ckpt)
//	export     the recipe's export.path (the last training's model)
func runEmbedRecipe(ctx context.Context, e *env, path string, stopAt int) error {
	r, work, err := loadEmbedRecipe(path)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Join(work, "eval"), 0o755); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "train embed --recipe %s: working in %s\n", r.Name, work)

	// pairs: rebuilt on every run (deterministic and quick), so that a
	// resumed run trains on exactly the pairs its checkpoint was made with.
	pairsPath := filepath.Join(work, "pairs.jsonl")
	qaFiles, tokTexts, err := writeRecipePairs(e, r, work, pairsPath, r.Train.Validation, max(1, r.Train.ICTQueries))
	if err != nil {
		return err
	}

	tokPath := filepath.Join(work, "tokenizer.gguf")
	if !exists(tokPath) {
		o := tokenizer.TrainOptions{VocabSize: r.Tokenizer.VocabSize, Specials: []string{"<|endoftext|>"}, Pre: cmpOrString(r.Tokenizer.Pre, "gpt-2"), Workers: r.Threads}
		tr, err := tokenizer.NewTrainer(o)
		if err != nil {
			return err
		}
		for _, t := range tokTexts {
			if err := tr.Add(ctx, t); err != nil {
				tr.Close()
				return err
			}
		}
		v, err := tr.Train(ctx)
		tr.Close()
		if err != nil {
			return err
		}
		if err := v.WriteFile(tokPath); err != nil {
			return err
		}
		fmt.Fprintf(e.stderr, "tokenizer: %d tokens from %.2f MB of text\n", len(v.Tokens), float64(tr.BytesFed())/1e6)
	}

	initPath := filepath.Join(work, "init.gguf")
	if !exists(initPath) {
		m := r.Model
		args := []string{initPath, "--arch", "bert", "--dim", strconv.Itoa(m.Dim), "--layers", strconv.Itoa(m.Layers),
			"--heads", strconv.Itoa(m.Heads), "--ff", strconv.Itoa(m.FF), "--ctx", strconv.Itoa(m.Ctx),
			"--vocab-from", tokPath, "--type", "f32", "--seed", strconv.FormatUint(r.Seed, 10), "--name", r.Name, "--quiet"}
		if err := runInit(ctx, e, args); err != nil {
			return fmt.Errorf("init: %w", err)
		}
	}

	outPath := filepath.Join(work, "embed.gguf")
	if !exists(outPath) {
		t := r.Train
		args := append(append([]string(nil), qaFiles...), pairsPath,
			"--model", initPath, "--out", outPath, "--steps", strconv.Itoa(t.Steps), "--batch", strconv.Itoa(t.Batch),
			"--lr", fmt.Sprint(t.LR), "--temperature", fmt.Sprint(t.Temperature), "--max-tokens", strconv.Itoa(t.MaxTokens),
			"--held-out", strconv.Itoa(t.HeldOut), "--validation", strconv.Itoa(t.Validation),
			"--mine-negatives", strconv.Itoa(t.MineNegatives), "--seed", strconv.FormatUint(r.Seed, 10),
			"--threads", strconv.Itoa(r.Threads), "--checkpoint-every", strconv.Itoa(t.CheckpointEvery), "--type", cmpOrString(r.Export.Type, "f16"))
		resume := exists(outPath + ".ckpt")
		if stopAt == 0 && t.StopAt > 0 {
			// train to stop_at (from the checkpoint, if any), then export
			// the checkpoint
			cut := append(slices.Clone(args), "--stop-at", strconv.Itoa(t.StopAt))
			if resume {
				cut = append(cut, "--resume")
			}
			if err := runTrainEmbed(ctx, e, cut); err != nil {
				return fmt.Errorf("train: %w", err)
			}
			args, resume = append(args, "--export-checkpoint"), true
		}
		if resume {
			args = append(args, "--resume")
		}
		if stopAt > 0 {
			args = append(args, "--stop-at", strconv.Itoa(stopAt))
		}
		if err := runTrainEmbed(ctx, e, args); err != nil {
			return fmt.Errorf("train: %w", err)
		}
		if stopAt > 0 {
			return nil
		}
	}

	if ft := r.Finetune; ft != nil {
		ftPath := filepath.Join(work, "embed-ft.gguf")
		if outPath, err = runEmbedFinetune(ctx, e, r, ft, work, outPath, ftPath, stopAt); err != nil || outPath == "" {
			return err
		}
	}

	b, err := os.ReadFile(outPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(r.Export.Path), 0o755); err != nil {
		return err
	}
	if err := atomicfile.Write(r.Export.Path, func(w io.Writer) error { _, err := w.Write(b); return err }); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "wrote %s (%s)\n", r.Export.Path, humanBytes(int64(len(b))))
	return nil
}

// trainParagraphs are the distinct positives of a QA set's training
// pairs, in order.
func trainParagraphs(qa *train.QASet) []string {
	var out []string
	seen := map[string]bool{}
	for _, p := range qa.Train {
		if !seen[p.Positive] {
			seen[p.Positive] = true
			out = append(out, p.Positive)
		}
	}
	return out
}

// writeHeldOutSet writes a SQuAD-layout file for `gptgo kb eval`: every
// paragraph of the set (the training ones too, as distractors), with
// questions on the held-out paragraphs only.
func writeHeldOutSet(path string, questions []string, answer []int, passages, trainParas []string) error {
	type qaJSON struct {
		Question string `json:"question"`
	}
	type para struct {
		Context string   `json:"context"`
		QAs     []qaJSON `json:"qas"`
	}
	ps := make([]para, 0, len(passages)+len(trainParas))
	for i, p := range passages {
		var qs []qaJSON
		for j, q := range questions {
			if answer[j] == i {
				qs = append(qs, qaJSON{q})
			}
		}
		ps = append(ps, para{p, qs})
	}
	for _, p := range trainParas {
		ps = append(ps, para{p, []qaJSON{}})
	}
	doc := map[string]any{"data": []any{map[string]any{"title": "held-out", "paragraphs": ps}}}
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		return enc.Encode(doc)
	})
}

// writeRecipePairs makes the recipe's pairs and writes them to pairsPath
// (JSONL): the QA sets (returned as files, which train embed reads
// itself) with every valEvery-th validation paragraph left out, inverse
// cloze pairs (ictQueries per passage) and instruction pairs. It writes
// WORK/eval/NAME.json for each QA set (held-out questions over every
// paragraph, the same file whatever valEvery is) and, with valEvery > 0,
// WORK/eval/NAME-val.json (validation questions over the validation and
// training paragraphs). tokTexts are every training text, for the
// tokenizer.
func writeRecipePairs(e *env, r *embedRecipe, work, pairsPath string, valEvery, ictQueries int) (qaFiles, tokTexts []string, err error) {
	var pairs []train.EmbedPair
	for _, s := range r.Pairs {
		var ps []train.EmbedPair
		switch {
		case s.QA != "":
			qa, err := train.ReadQASetSplit(s.QA, r.Train.HeldOut, valEvery)
			if err != nil {
				return nil, nil, err
			}
			qaFiles = append(qaFiles, s.QA)
			for _, p := range qa.Train {
				tokTexts = append(tokTexts, p.Query)
			}
			paras := trainParagraphs(qa)
			tokTexts = append(tokTexts, paras...)
			if s.ICT {
				ps = train.ICTPairsN(paras, s.MaxRunes, r.Seed, ictQueries)
			}
			all := qa
			if valEvery > 0 {
				if all, err = train.ReadQASetSplit(s.QA, r.Train.HeldOut, 0); err != nil {
					return nil, nil, err
				}
				if err := writeHeldOutSet(filepath.Join(work, "eval", s.Name+"-val.json"), qa.Val, qa.ValAnswer, qa.ValPassages, paras); err != nil {
					return nil, nil, err
				}
			}
			if err := writeHeldOutSet(filepath.Join(work, "eval", s.Name+".json"), all.Held, all.Answer, all.Passages, trainParagraphs(all)); err != nil {
				return nil, nil, err
			}
			fmt.Fprintf(e.stderr, "pairs %s: %d questions, %d inverse cloze pairs; held out %d questions over %d paragraphs; validation %d questions over %d paragraphs\n",
				s.Name, len(qa.Train), len(ps), len(qa.Held), len(qa.Passages), len(qa.Val), len(qa.ValPassages))
		case len(s.Texts) > 0:
			for _, f := range s.Texts {
				texts, err := train.ReadTexts(f)
				if err != nil {
					return nil, nil, err
				}
				ps = append(ps, train.ICTPairsN(texts, s.MaxRunes, r.Seed, ictQueries)...)
			}
			fmt.Fprintf(e.stderr, "pairs %s: %d inverse cloze pairs\n", s.Name, len(ps))
		default:
			for _, f := range s.Instructions {
				p, err := train.ReadInstructionPairs(f, s.MinRunes)
				if err != nil {
					return nil, nil, err
				}
				ps = append(ps, p...)
			}
			fmt.Fprintf(e.stderr, "pairs %s: %d instruction pairs\n", s.Name, len(ps))
		}
		for _, p := range ps {
			tokTexts = append(tokTexts, p.Query, p.Positive)
		}
		pairs = append(pairs, ps...)
	}
	err = atomicfile.Write(pairsPath, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		for _, p := range pairs {
			if err := enc.Encode(p); err != nil {
				return err
			}
		}
		return nil
	})
	return qaFiles, tokTexts, err
}

// runEmbedFinetune runs the recipe's second training from the first's
// model (from) to to, and returns to; "" (and no error) when stopAt ended
// the run before its end.
func runEmbedFinetune(ctx context.Context, e *env, r *embedRecipe, ft *embedFinetune, work, from, to string, stopAt int) (string, error) {
	if exists(to) {
		return to, nil
	}
	pairsPath := filepath.Join(work, "pairs-ft.jsonl")
	qaFiles, _, err := writeRecipePairs(e, r, work, pairsPath, ft.Validation, max(1, ft.ICTQueries))
	if err != nil {
		return "", err
	}
	args := append(append([]string(nil), qaFiles...), pairsPath,
		"--model", from, "--out", to, "--steps", strconv.Itoa(ft.Steps), "--batch", strconv.Itoa(ft.Batch),
		"--lr", fmt.Sprint(ft.LR), "--temperature", fmt.Sprint(ft.Temperature), "--max-tokens", strconv.Itoa(ft.MaxTokens),
		"--held-out", strconv.Itoa(r.Train.HeldOut), "--validation", strconv.Itoa(ft.Validation),
		"--mine-negatives", strconv.Itoa(ft.MineNegatives), "--seed", strconv.FormatUint(r.Seed, 10), "--threads", strconv.Itoa(r.Threads),
		"--checkpoint-every", strconv.Itoa(ft.CheckpointEvery), "--type", cmpOrString(r.Export.Type, "f16"))
	resume := exists(to + ".ckpt")
	if stopAt == 0 && ft.StopAt > 0 {
		cut := append(slices.Clone(args), "--stop-at", strconv.Itoa(ft.StopAt))
		if resume {
			cut = append(cut, "--resume")
		}
		if err := runTrainEmbed(ctx, e, cut); err != nil {
			return "", fmt.Errorf("finetune: %w", err)
		}
		args, resume = append(args, "--export-checkpoint"), true
	}
	if resume {
		args = append(args, "--resume")
	}
	if stopAt > 0 {
		args = append(args, "--stop-at", strconv.Itoa(stopAt))
	}
	if err := runTrainEmbed(ctx, e, args); err != nil {
		return "", fmt.Errorf("finetune: %w", err)
	}
	if stopAt > 0 {
		return "", nil
	}
	return to, nil
}
