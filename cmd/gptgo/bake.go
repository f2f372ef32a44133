// Reference: nanoGPT data/*/prepare.py + train.py (text → tokens → a trained model, one recipe per dataset);
// llama.cpp convert + llama-quantize (the release file). The stages themselves are `gptgo data`,
// `gptgo tokenizer train`, `gptgo train pretrain` and `gptgo quantize`.

package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tokenizer"
	"github.com/gptgo/gptgo/train"
)

func init() {
	register(&command{
		name:    "bake",
		summary: "run a whole recipe: clean the corpus, train a tokenizer, pretrain, export and quantize",
		usage: `RECIPE.json [--work DIR] [--stop-at STEP] [--threads N]

Runs the recipe's stages in order, each skipped when its output is already
complete, so an interrupted bake continues where it stopped (the pretraining
resumes from its checkpoint):

  clean      gptgo data on each source         WORK/data/SOURCE/docs.jsonl
  tokenizer  byte-level BPE on the kept text   WORK/tokenizer.gguf
  resize     with base and extend: the base    WORK/init.gguf
             grown to the extended vocabulary
  tokenize   each source's tail is validation  WORK/data/{train,val}.tok
  pretrain   gptgo train pretrain              WORK/train/ (checkpoint, log, loss.svg, model.gguf)
  export     gptgo quantize                    the recipe's export.path

The same recipe, seed and thread count give the same files, byte for byte:
WORK/checkpoints.jsonl logs the SHA-256 of every checkpoint, and
WORK/bake.json the hashes of every output. --stop-at ends the pretraining
after that step (with a checkpoint; the schedule still runs to the full
length), to compare a re-run's checkpoint hashes with a first run's.`,
		run: runBake,
	})
}

// recipe is a `gptgo bake` file. Paths in it are relative to the recipe's
// directory.
type recipe struct {
	Name    string `json:"name"`
	Seed    uint64 `json:"seed"`    // the pretraining's seed (weights and batches)
	Threads int    `json:"threads"` // workers for every stage; the files depend on it (0: all cores)
	Work    string `json:"work"`    // working directory; default bake/NAME beside the recipe

	Sources   []recipeSource  `json:"sources"`
	Tokenizer recipeTokenizer `json:"tokenizer"`
	// Train is a `gptgo train pretrain` config over its defaults; the bake
	// fills data.train, data.val, data.vocab, run.out, run.seed and
	// run.threads.
	Train json.RawMessage `json:"train"`
	// Base, instead of sources, tokenizer and train, starts the recipe
	// from a model already made (a GGUF file): the bake then runs only
	// the SFT stage and the export. Base with sources and train continues
	// the base's pretraining on them (model.init is the base), its
	// vocabulary first grown by Extend when given (bake_extend.go).
	Base   string       `json:"base"`
	SFT    *recipeSFT   `json:"sft"` // supervised fine-tuning after the pretraining (bake_sft.go); nil: none
	Export recipeExport `json:"export"`

	Extend *recipeExtend `json:"extend"` // the base's vocabulary grown before its continued pretraining (bake_extend.go)
}

// recipeSource is one part of the corpus, cleaned with its own options.
type recipeSource struct {
	Name string `json:"name"`
	// Clean is a `gptgo data` config over its defaults; the bake sets its
	// output and workers.
	Clean json.RawMessage `json:"clean"`
	// ValFraction of the source's tokens, taken from its end, is held out
	// for validation, so every source is in the validation set.
	ValFraction float64 `json:"val_fraction"`
}

type recipeTokenizer struct {
	VocabSize    int      `json:"vocab_size"`
	Specials     []string `json:"specials"`
	Pre          string   `json:"pre"` // byte-level pre-tokenizer; default gpt-2
	MinFrequency int64    `json:"min_frequency"`
}

type recipeExport struct {
	Type string `json:"type"` // a `gptgo quantize` type: q8_0, q4_k_m, f16, …
	Path string `json:"path"`
}

// bake is one run of a recipe.
type bake struct {
	r         recipe
	raw       []byte // the recipe file, kept in the checkpoints
	dir       string // the recipe's directory
	work      string
	e         *env
	stopAt    int
	manifest  bakeManifest
	trainConf train.Config
	sftConf   train.SFTRunConfig // when the recipe has an sft section
}

// bakeManifest is WORK/bake.json: what the bake made, with hashes.
type bakeManifest struct {
	Recipe    string             `json:"recipe"`
	Sources   []bakeSource       `json:"sources"`
	Tokenizer bakeFile           `json:"tokenizer"`
	Shards    map[string]any     `json:"shards"`
	Train     map[string]any     `json:"train,omitempty"`
	SFT       map[string]any     `json:"sft,omitempty"`
	Files     map[string]string  `json:"sha256"`
	Seconds   map[string]float64 `json:"seconds"`
}

type bakeSource struct {
	Name      string `json:"name"`
	Docs      int    `json:"docs"`
	Bytes     int64  `json:"bytes"`
	Tokens    int    `json:"tokens"`
	ValTokens int    `json:"val_tokens"`
}

type bakeFile struct {
	Path  string `json:"path"`
	Vocab int    `json:"vocab"`
}

func runBake(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "bake", "RECIPE.json [--work DIR] [--stop-at STEP] [--threads N]")
	work := fs.String("work", "", "working directory (default: the recipe's work, else bake/NAME beside the recipe)")
	stopAt := fs.Int("stop-at", 0, "end the pretraining after this step, with a checkpoint (to compare checkpoint hashes)")
	threads := fs.Int("threads", -1, "override the recipe's thread count (the files depend on it)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	b, err := loadRecipe(pos[0])
	if err != nil {
		return err
	}
	b.e, b.stopAt = e, *stopAt
	if *threads >= 0 {
		b.r.Threads = *threads
	}
	if *work != "" {
		b.work = *work
	}
	// The training configs and the inputs are checked now, before the cleaning.
	if b.r.Base == "" || b.continued() {
		if b.trainConf, err = b.trainConfig(); err != nil {
			return fmt.Errorf("%s: train: %w", pos[0], err)
		}
	}
	if b.r.SFT != nil {
		if b.sftConf, err = b.sftConfig(); err != nil {
			return fmt.Errorf("%s: sft: %w", pos[0], err)
		}
	}
	if err := b.checkInputs(); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	if err := os.MkdirAll(b.work, 0o755); err != nil {
		return err
	}
	fmt.Fprintf(e.stderr, "bake %s: working in %s\n", b.r.Name, b.work)
	b.manifest = bakeManifest{Recipe: b.r.Name, Shards: map[string]any{}, Files: map[string]string{}, Seconds: map[string]float64{}}
	for _, st := range []struct {
		name string
		run  func(context.Context) error
	}{
		{"clean", b.clean}, {"tokenizer", b.tokenizer}, {"resize", b.resize}, {"tokenize", b.tokenize}, {"pretrain", b.pretrain}, {"sft", b.sft}, {"export", b.export},
	} {
		if !b.stageRuns(st.name) {
			continue // the recipe starts from a model (bake_extend.go)
		}
		start := time.Now()
		err := st.run(ctx)
		b.manifest.Seconds[st.name] = math.Round(time.Since(start).Seconds()*10) / 10
		if errors.Is(err, errStopped) {
			return b.writeManifest()
		}
		if err != nil && ctx.Err() != nil {
			return fmt.Errorf("bake %s: interrupted during %s; run the same command again to continue (the training from its last checkpoint)", b.r.Name, st.name)
		}
		if err != nil {
			return fmt.Errorf("bake %s: %s: %w", b.r.Name, st.name, err)
		}
	}
	return b.writeManifest()
}

// errStopped ends a bake after --stop-at without an export.
var errStopped = errors.New("stopped")

func loadRecipe(path string) (*bake, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var r recipe
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var errs []string
	if !plainWord(r.Name) {
		errs = append(errs, fmt.Sprintf("name %q must be a plain word", r.Name))
	}
	if r.Base != "" {
		errs = append(errs, r.checkFromBase()...) // bake_sft.go
	} else if len(r.Sources) == 0 {
		errs = append(errs, "no sources")
	}
	errs = append(errs, r.checkExtend()...) // bake_extend.go
	seen := map[string]bool{}
	for _, s := range r.Sources {
		if !plainWord(s.Name) || seen[s.Name] {
			errs = append(errs, fmt.Sprintf("source name %q must be a plain word, used once", s.Name))
		}
		seen[s.Name] = true
		if s.ValFraction < 0 || s.ValFraction >= 1 {
			errs = append(errs, fmt.Sprintf("source %s: val_fraction %g is not in [0, 1)", s.Name, s.ValFraction))
		}
	}
	if r.SFT != nil {
		errs = append(errs, r.SFT.check()...)
	}
	if r.Base == "" && r.Tokenizer.VocabSize < 257 {
		errs = append(errs, fmt.Sprintf("tokenizer.vocab_size %d is below 257 (256 bytes and a special token)", r.Tokenizer.VocabSize))
	}
	if r.Export.Path == "" || r.Export.Type == "" {
		errs = append(errs, "export.path and export.type are required")
	} else if _, err := quant.ParseFileType(r.Export.Type); err != nil {
		errs = append(errs, err.Error())
	}
	if r.Threads < 0 {
		errs = append(errs, fmt.Sprintf("threads %d is negative", r.Threads))
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s: %s", path, strings.Join(errs, "; "))
	}
	b := &bake{r: r, raw: raw, dir: filepath.Dir(path)}
	b.work = b.rel(r.Work)
	if r.Work == "" {
		b.work = filepath.Join(b.dir, "bake", r.Name)
	}
	return b, nil
}

// plainWord reports whether a recipe or source name can name a directory
// of its own: "." and ".." would put the work into the recipe's or the
// sources' parent directory (found by FuzzRecipe).
func plainWord(name string) bool {
	return name != "" && name != "." && name != ".." && !strings.ContainsAny(name, `/\`)
}

// rel resolves a recipe path against the recipe's directory.
func (b *bake) rel(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(b.dir, p)
}

func (b *bake) sourceDir(s recipeSource) string { return filepath.Join(b.work, "data", s.Name) }

// checkInputs names every input file (or glob with no match) of a source
// still to be cleaned that is not there. The repository's recipes read
// corpora kept outside it (../shared/data beside the clone), so a fresh
// clone fails here first; the message says where the data comes from.
func (b *bake) checkInputs() error {
	var missing []string
	for _, s := range b.r.Sources {
		if exists(filepath.Join(b.sourceDir(s), doneMark)) {
			continue
		}
		c, err := data.ParseConfig(bytes.NewReader(orEmpty(s.Clean)), "source "+s.Name)
		if err != nil {
			return err
		}
		for _, in := range c.Inputs {
			p := b.rel(in)
			if m, err := filepath.Glob(p); err == nil && len(m) > 0 {
				continue
			}
			missing = append(missing, fmt.Sprintf("%s (source %s)", p, s.Name))
		}
	}
	missing = append(missing, b.missingSFTInputs()...) // bake_sft.go
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s missing: %s. The recipe reads text corpora kept outside the repository; "+
		"the repository's own recipes expect the ../shared/data directory beside the clone, whose README.md names each file's source and licence. "+
		"Put the files there, or point the recipe's inputs at your own text",
		plural(len(missing), "an input is", "%d inputs are"), strings.Join(missing, ", "))
}

// doneMark is written into a stage's directory after the stage finished;
// without it the stage runs again from the start.
const doneMark = "bake.done"

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// clean runs each source's data pipeline into WORK/data/SOURCE.
func (b *bake) clean(ctx context.Context) error {
	for _, s := range b.r.Sources {
		dir := b.sourceDir(s)
		if exists(filepath.Join(dir, doneMark)) {
			fmt.Fprintf(b.e.stderr, "clean %s: done before\n", s.Name)
			continue
		}
		c, err := data.ParseConfig(bytes.NewReader(orEmpty(s.Clean)), "source "+s.Name)
		if err != nil {
			return err
		}
		for i, in := range c.Inputs {
			c.Inputs[i] = b.rel(in)
		}
		c.Output, c.Workers, c.WriteDocs, c.WriteRejected = dir, b.r.Threads, true, true
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		fmt.Fprintf(b.e.stderr, "clean %s: %s\n", s.Name, strings.Join(c.Stages, ", "))
		var summary bytes.Buffer
		if err := runConfig(ctx, &env{stdin: b.e.stdin, stdout: &summary, stderr: b.e.stderr}, c, false); err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		if err := atomicfile.WriteBytes(filepath.Join(dir, doneMark), nil); err != nil {
			return err
		}
	}
	return nil
}

func orEmpty(b json.RawMessage) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	return b
}

func (b *bake) docs(s recipeSource) string { return filepath.Join(b.sourceDir(s), "docs.jsonl") }

func (b *bake) tokenizerPath() string { return filepath.Join(b.work, "tokenizer.gguf") }

// tokenizer trains the byte-level BPE vocabulary on every kept document.
func (b *bake) tokenizer(ctx context.Context) error {
	if b.continued() {
		return b.extendTokenizer(ctx) // the base's vocabulary, extended (bake_extend.go)
	}
	path := b.tokenizerPath()
	if !exists(path) {
		t := b.r.Tokenizer
		specials := t.Specials
		if len(specials) == 0 {
			specials = []string{"<|endoftext|>"}
		}
		o := tokenizer.TrainOptions{VocabSize: t.VocabSize, Specials: specials, MinFrequency: t.MinFrequency, Pre: cmpOrString(t.Pre, "gpt-2"), Workers: b.r.Threads}
		tr, err := tokenizer.NewTrainer(o)
		if err != nil {
			return err
		}
		for _, s := range b.r.Sources {
			if err := tr.AddFile(ctx, b.docs(s), "text"); err != nil {
				tr.Close()
				return err
			}
		}
		v, err := tr.Train(ctx)
		if err != nil {
			return err
		}
		if err := v.WriteFile(path); err != nil {
			return err
		}
		fmt.Fprintf(b.e.stderr, "tokenizer: %d tokens from %.2f MB of text\n", len(v.Tokens), float64(tr.BytesFed())/1e6)
	}
	b.manifest.Tokenizer = bakeFile{Path: filepath.ToSlash(b.relWork(path))}
	return b.hash(path)
}

func cmpOrString(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (b *bake) shardPaths() (trainPath, valPath string) {
	return filepath.Join(b.work, "data", "train.tok"), filepath.Join(b.work, "data", "val.tok")
}

// tokenize encodes each source's documents, each ended by EOS, and holds
// out the last val_fraction of every source's tokens for validation.
func (b *bake) tokenize(ctx context.Context) error {
	tok, err := tokenizer.Load(b.tokenizerPath())
	if err != nil {
		return err
	}
	b.manifest.Tokenizer.Vocab = tok.VocabSize()
	trainPath, valPath := b.shardPaths()
	eos := tok.EOS()
	var trainToks, valToks []int32
	var valText strings.Builder
	for _, s := range b.r.Sources {
		var toks []int32
		src := bakeSource{Name: s.Name}
		ro := data.DefaultReadOptions()
		ro.Format, ro.TextField = "jsonl", "text"
		err := data.ReadFile(b.docs(s), ro, func(d *data.Doc) error {
			if err := ctx.Err(); err != nil {
				return err
			}
			src.Docs++
			src.Bytes += int64(len(d.Text))
			toks = append(toks, tok.Encode(d.Text, tokenizer.EncodeOptions{})...)
			if eos >= 0 {
				toks = append(toks, eos)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		cut := len(toks) - int(float64(len(toks))*s.ValFraction)
		src.Tokens, src.ValTokens = len(toks), len(toks)-cut
		trainToks, valToks = append(trainToks, toks[:cut]...), append(valToks, toks[cut:]...)
		valText.WriteString(tok.Decode(toks[cut:]))
		b.manifest.Sources = append(b.manifest.Sources, src)
	}
	b.manifest.Shards["train_tokens"] = len(trainToks)
	b.manifest.Shards["val_tokens"] = len(valToks)
	b.manifest.Shards["val_chars"] = utf8.RuneCountInString(valText.String())
	b.manifest.Shards["val_bytes"] = valText.Len()
	if !exists(trainPath) || !exists(valPath) {
		for _, w := range []struct {
			path string
			toks []int32
		}{{trainPath, trainToks}, {valPath, valToks}} {
			if len(w.toks) == 0 {
				return fmt.Errorf("%s would be empty: give the sources more text or a val_fraction", w.path)
			}
			sw, err := data.CreateShard(w.path, tok.VocabSize(), -1)
			if err != nil {
				return err
			}
			if err := sw.WriteDoc(w.toks); err != nil {
				sw.Abort()
				return err
			}
			if err := sw.Close(); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(b.e.stderr, "tokenize: %d training and %d validation tokens\n", len(trainToks), len(valToks))
	if err := b.hash(trainPath); err != nil {
		return err
	}
	return b.hash(valPath)
}

// trainConfig is the recipe's train section over the defaults, with the
// bake's data, output, seed and threads.
func (b *bake) trainConfig() (train.Config, error) {
	c := train.DefaultConfig()
	dec := json.NewDecoder(bytes.NewReader(orEmpty(b.r.Train)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, err
	}
	trainPath, valPath := b.shardPaths()
	c.Data.Train, c.Data.Val, c.Data.Vocab = []string{trainPath}, []string{valPath}, b.tokenizerPath()
	c.Run.Out, c.Run.Seed, c.Run.Threads = filepath.Join(b.work, "train"), b.r.Seed, b.r.Threads
	if b.continued() {
		c.Model.Init = b.initPath() // bake_extend.go
	}
	return c, c.Validate()
}

func (b *bake) checkpointLog() string { return filepath.Join(b.work, "checkpoints.jsonl") }

// pretrain trains (or resumes training) the model; a finished run is left
// as it is.
func (b *bake) pretrain(ctx context.Context) error {
	c := b.trainConf
	final := filepath.Join(c.Run.Out, modelName)
	if exists(final) {
		fmt.Fprintf(b.e.stderr, "pretrain: done before (%s)\n", final)
		var old bakeManifest // keep the training summary of the bake that trained it
		if raw, err := os.ReadFile(filepath.Join(b.work, "bake.json")); err == nil && json.Unmarshal(raw, &old) == nil {
			b.manifest.Train = old.Train
		}
		return b.hash(final)
	}
	resume := exists(filepath.Join(c.Run.Out, ckptName))
	r, err := newPretrainRun(c, resume, b.e)
	if err != nil {
		return err
	}
	defer r.close()
	// The checkpoints keep the recipe itself, not the resolved config:
	// its paths name this working directory, and the hashes must not.
	r.meta = map[string]string{"recipe": string(b.raw)}
	r.stopAt = b.stopAt
	r.onSave = func(step int) error { return b.logCheckpoint(step, filepath.Join(c.Run.Out, ckptName)) }
	if err := r.run(ctx); err != nil {
		return err
	}
	if b.stopAt > 0 && r.lastStep() < c.Run.Steps {
		fmt.Fprintf(b.e.stderr, "pretrain: stopped at step %d as asked; continue with the same command without --stop-at\n", r.lastStep())
		return errStopped
	}
	b.manifest.Train = r.summary()
	if err := b.mergePretrained(); err != nil { // a LoRA run's adapter (bake_extend.go)
		return err
	}
	return b.hash(final)
}

// logCheckpoint appends the checkpoint's step and SHA-256 to
// WORK/checkpoints.jsonl.
func (b *bake) logCheckpoint(step int, path string) error {
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(b.checkpointLog(), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	// Append-only: a kill can tear only the last line; synced so that the
	// line is on disk before the next stage runs.
	_, err = fmt.Fprintf(f, "{\"step\":%d,\"sha256\":%q}\n", step, sum)
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}

// export quantizes the trained model into the recipe's export path.
func (b *bake) export(ctx context.Context) error {
	ft, err := quant.ParseFileType(b.r.Export.Type)
	if err != nil {
		return err
	}
	in, out := filepath.Join(b.work, "train", modelName), b.rel(b.r.Export.Path)
	if b.r.SFT != nil {
		in = filepath.Join(b.sftDir(), modelName)
	}
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	res, err := quant.QuantizeFile(ctx, in, out, ft, quant.Options{Threads: b.r.Threads})
	if err != nil {
		return err
	}
	fmt.Fprintf(b.e.stdout, "%s (%v): %s of tensor data\n", out, ft, humanBytes(res.OutBytes))
	return b.hash(out)
}

// hash records path's SHA-256 in the manifest and prints it.
func (b *bake) hash(path string) error {
	sum, err := fileSHA256(path)
	if err != nil {
		return err
	}
	b.manifest.Files[filepath.ToSlash(b.relWork(path))] = sum
	fmt.Fprintf(b.e.stdout, "%s  %s\n", sum, path)
	return nil
}

// relWork is path relative to the working directory when it lies inside
// it, else path itself.
func (b *bake) relWork(path string) string {
	rel, err := filepath.Rel(b.work, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		return path
	}
	return rel
}

func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (b *bake) writeManifest() error {
	out, err := json.MarshalIndent(b.manifest, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.WriteBytes(filepath.Join(b.work, "bake.json"), append(out, '\n'))
}
