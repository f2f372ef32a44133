// Reference: llama.cpp common/arg.cpp (--lora FNAME, --lora-scaled FNAME SCALE: adapters applied at run
// time) and tools/export-lora (-m BASE --lora FILE -o OUT: the merge); PEFT merge_and_unload.

package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/model"
	"github.com/gptgo/gptgo/quant"
	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train"
)

func init() {
	register(&command{
		name:    "lora",
		summary: "merge LoRA adapters into a model, or show an adapter file",
		usage: `SUBCOMMAND [flags] ...

Subcommands:
  merge BASE.gguf ADAPTER.gguf[:SCALE]... OUT.gguf [--type TYPE]
        writes BASE with the adapters (scale 1 unless given) merged into its weights;
        the merged tensors keep BASE's types, or with --type the whole model is then
        quantized to TYPE (` + strings.Join(fileTypeNames(), ", ") + `)
  show ADAPTER.gguf [--base MODEL.gguf]
        lists the adapter's matrices, rank and alpha, and checks it against a base

Adapters are llama.cpp's GGUF LoRA files (what gptgo train --lora writes, and
convert_lora_to_gguf.py makes from PEFT). To run one without merging:
  gptgo run|chat MODEL.gguf --lora ADAPTER.gguf[:SCALE] (repeatable)`,
		run: runLoraCmd,
	})
}

func runLoraCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return errUsage
	}
	switch args[0] {
	case "merge":
		return runLoraMerge(ctx, e, args[1:])
	case "show":
		return runLoraShow(e, args[1:])
	case "-h", "--help", "help":
		printUsage(e.stdout, commands["lora"])
		return nil
	}
	return fmt.Errorf("unknown subcommand %q (merge, show)", args[0])
}

// parseAdapterSpec splits FILE[:SCALE]. A suffix after the last colon that
// is not a number belongs to the file name.
func parseAdapterSpec(spec string) (string, float32, error) {
	path, scale := spec, 1.0
	if i := strings.LastIndexByte(spec, ':'); i > 0 {
		if s, err := strconv.ParseFloat(spec[i+1:], 32); err == nil {
			path, scale = spec[:i], s
		}
	}
	if path == "" {
		return "", 0, fmt.Errorf("--lora %q: no file", spec)
	}
	return path, float32(scale), nil
}

// readAdapter reads the adapter at path into memory (its tensors copied to
// float32), so the file need not stay open.
func readAdapter(path string) (*model.Adapter, error) {
	f, err := gguf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	a, err := model.AdapterFromGGUF(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	clone := func(t *tensor.Tensor) (*tensor.Tensor, error) {
		x, err := t.Float32s()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		return tensor.FromFloat32(t.Name, x, t.Shape...)
	}
	for i := range a.Pairs {
		p := &a.Pairs[i]
		if p.A, err = clone(p.A); err != nil {
			return nil, err
		}
		if p.B, err = clone(p.B); err != nil {
			return nil, err
		}
	}
	for i, t := range a.Full {
		if a.Full[i], err = clone(t); err != nil {
			return nil, err
		}
	}
	if a.Prompt != nil { // a prompt-tuning adapter (prompt_tuning.go)
		if a.Prompt, err = clone(a.Prompt); err != nil {
			return nil, err
		}
	}
	for i := range a.PrefixK { // a prefix-tuning adapter (prefix_tuning.go)
		if a.PrefixK[i], err = clone(a.PrefixK[i]); err != nil {
			return nil, err
		}
		if a.PrefixV[i], err = clone(a.PrefixV[i]); err != nil {
			return nil, err
		}
	}
	return a, nil
}

// readAdapters reads each FILE[:SCALE] of specs.
func readAdapters(specs []string) ([]model.ScaledAdapter, error) {
	var out []model.ScaledAdapter
	for _, s := range specs {
		path, scale, err := parseAdapterSpec(s)
		if err != nil {
			return nil, err
		}
		a, err := readAdapter(path)
		if err != nil {
			return nil, err
		}
		out = append(out, model.ScaledAdapter{Adapter: a, Scale: scale})
	}
	return out, nil
}

// applyLoRA returns m running the adapters of specs (--lora) unmerged, or
// m itself when there are none. On error m is closed.
func applyLoRA(m *model.Model, specs []string) (*model.Model, error) {
	if len(specs) == 0 {
		return m, nil
	}
	ads, err := readAdapters(specs)
	if err == nil {
		var am *model.Model
		if am, err = m.WithAdapters(ads...); err == nil {
			return am, nil
		}
		err = fmt.Errorf("--lora: %w", err)
	}
	m.Close()
	return nil, err
}

func runLoraMerge(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "lora merge", "BASE.gguf ADAPTER.gguf[:SCALE]... OUT.gguf [--type TYPE]\n\nMerges the adapters into BASE's weights (W + scale·alpha/r·B·A each) and writes OUT atomically. The merged tensors keep BASE's types (requantized for a quantized base) unless --type names a file type, which quantizes the merged model as gptgo quantize does.")
	typ := fs.String("type", "", "quantize the merged model to this file type ("+strings.Join(fileTypeNames(), ", ")+")")
	threads := fs.Int("threads", 0, "goroutines for --type's quantization (0: all cores)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) < 3 {
		return errUsage
	}
	basePath, out, specs := pos[0], pos[len(pos)-1], pos[1:len(pos)-1]
	var ft quant.FileType
	if *typ != "" {
		if ft, err = quant.ParseFileType(*typ); err != nil {
			return fmt.Errorf("--type: %w", err)
		}
	}
	if *threads < 0 {
		return fmt.Errorf("--threads %d is negative", *threads)
	}
	for _, p := range append([]string{basePath}, specs...) {
		if path, _, _ := parseAdapterSpec(p); isSameFile(path, out) {
			return fmt.Errorf("output %s is one of the inputs", out)
		}
	}
	ads, err := readAdapters(specs)
	if err != nil {
		return err
	}
	base, err := gguf.Open(basePath)
	if err != nil {
		return err
	}
	defer base.Close()
	start := time.Now()
	removeStaleTemps(e.stderr, out)
	if *typ == "" {
		if err := model.MergeAdapters(base, ads, out, true); err != nil {
			return interrupted(ctx, fmt.Errorf("%s: %w", basePath, err), out)
		}
	} else {
		// Merged in F32 beside OUT, then quantized into OUT: the merged
		// tensors are rounded once, to their final type.
		// Named as internal/atomicfile names temporary files, so that the
		// next run (removeStaleTemps, atomicfile.Create) removes it when a
		// kill leaves it behind.
		tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".tmp-"+strconv.Itoa(os.Getpid())+"-merged-*.gguf")
		if err != nil {
			return err
		}
		tmp.Close()
		defer os.Remove(tmp.Name())
		if err := model.MergeAdapters(base, ads, tmp.Name(), false); err != nil {
			return fmt.Errorf("%s: %w", basePath, err)
		}
		res, err := quant.QuantizeFile(ctx, tmp.Name(), out, ft, quant.Options{Threads: *threads})
		if err != nil {
			return interrupted(ctx, err, out)
		}
		if len(res.Requantized) > 0 {
			fmt.Fprintf(e.stderr, "warning: %s of the base already quantized and requantized to %v; merging into an F32 or F16 base gives better results\n", plural(len(res.Requantized), "1 tensor was", "%d tensors were"), ft)
		}
	}
	st, err := os.Stat(out)
	if err != nil {
		return err
	}
	pairs := 0
	for _, a := range ads {
		pairs += len(a.Pairs)
	}
	fmt.Fprintf(e.stdout, "%s: %s with %s (%s) merged, %s, %.1fs\n", out, basePath,
		plural(len(ads), "1 adapter", "%d adapters"), plural(pairs, "1 matrix", "%d matrices"), humanBytes(st.Size()), time.Since(start).Seconds())
	return nil
}

// isSameFile reports whether a and b name one file (by path or identity).
func isSameFile(a, b string) bool {
	aa, err1 := filepath.Abs(a)
	ab, err2 := filepath.Abs(b)
	if err1 == nil && err2 == nil && aa == ab {
		return true
	}
	sa, err1 := os.Stat(a)
	sb, err2 := os.Stat(b)
	return err1 == nil && err2 == nil && os.SameFile(sa, sb)
}

func runLoraShow(e *env, args []string) error {
	fs := newFlags(e, "lora show", "ADAPTER.gguf [--base MODEL.gguf]\n\nLists the adapter's matrices with their rank and alpha, and checks it against --base.")
	basePath := fs.String("base", "", "check the adapter against this model (architecture, names, shapes)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	a, err := readAdapter(pos[0])
	if err != nil {
		return err
	}
	if a.Prompt != nil {
		fmt.Fprintf(e.stdout, "%s: prompt-tuning adapter for %s, %d virtual tokens of width %d", pos[0], a.Arch, a.Prompt.Rows(), a.Prompt.Cols())
	} else if a.PrefixK != nil {
		fmt.Fprintf(e.stdout, "%s: prefix-tuning adapter for %s, %d virtual tokens, keys and values of width %d in %d layers", pos[0], a.Arch, a.PrefixK[0].Rows(), a.PrefixK[0].Cols(), len(a.PrefixK))
	} else {
		fmt.Fprintf(e.stdout, "%s: LoRA adapter for %s, alpha %g", pos[0], a.Arch, a.Alpha)
	}
	if a.Name != "" {
		fmt.Fprintf(e.stdout, ", %q", a.Name)
	}
	if a.Prompt == nil && a.PrefixK == nil {
		fmt.Fprintf(e.stdout, ", %s", plural(len(a.Pairs), "1 matrix", "%d matrices"))
	}
	if len(a.Full) > 0 {
		fmt.Fprintf(e.stdout, ", %s trained whole (gptgo only: merge before llama.cpp)", plural(len(a.Full), "1 tensor", "%d tensors"))
	}
	fmt.Fprintln(e.stdout)
	for _, p := range a.Pairs {
		fmt.Fprintf(e.stdout, "  %-32s r %-3d in %-6d out %-6d scale %g\n", p.Base, p.Rank(), p.A.Cols(), p.B.Rows(), a.Scale(&p, 1))
	}
	for _, t := range a.Full {
		fmt.Fprintf(e.stdout, "  %-32s whole %v\n", t.Name, t.Shape)
	}
	if *basePath == "" {
		return nil
	}
	m, err := openModel(*basePath)
	if err != nil {
		return err
	}
	defer m.Close()
	if _, err := m.WithAdapters(model.ScaledAdapter{Adapter: a, Scale: 1}); err != nil {
		return errors.New(strings.TrimPrefix(err.Error(), "model: "))
	}
	fmt.Fprintf(e.stdout, "fits %s\n", *basePath)
	return nil
}

// loraTrainFlags are the LoRA options of the training commands; they
// override the run configuration's "lora" section when given.
type loraTrainFlags struct {
	on, embeddings *bool
	rank           *int
	alpha, dropout *float64
	targets        *string
}

func addLoRATrainFlags(fs *flag.FlagSet) *loraTrainFlags {
	d := train.DefaultLoRA
	return &loraTrainFlags{
		on:         fs.Bool("lora", false, "train LoRA adapters over the frozen base (read in place, quantized or not) and write OUT/adapter.gguf"),
		rank:       fs.Int("lora-rank", d.Rank, "rank r of the adapters"),
		alpha:      fs.Float64("lora-alpha", d.Alpha, "the adapter path is scaled by alpha/r (0: twice the rank)"),
		dropout:    fs.Float64("lora-dropout", d.Dropout, "dropout on the adapters' input while training"),
		targets:    fs.String("lora-targets", "q,k,v,o,gate,up,down", "matrices of every block to adapt (q, k, v, qkv, o, gate, up, down)"),
		embeddings: fs.Bool("train-embeddings", false, "with --lora, also train token_embd and output whole (Chinese-LLaMA-Alpaca)"),
	}
}

// apply writes the flags that were given (set) over c.
func (f *loraTrainFlags) apply(set map[string]bool, c *train.LoRAConfig) error {
	if set["lora"] {
		c.Enabled = *f.on
	}
	if set["lora-rank"] {
		c.Rank = *f.rank
	}
	if set["lora-alpha"] {
		c.Alpha = *f.alpha
	}
	if set["lora-dropout"] {
		c.Dropout = *f.dropout
	}
	if set["train-embeddings"] {
		c.TrainEmbeddings = *f.embeddings
	}
	if set["lora-targets"] {
		t, err := train.ParseLoRATargets(*f.targets)
		if err != nil {
			return err
		}
		c.Targets = t
	}
	if c.TrainEmbeddings && !c.Enabled {
		return fmt.Errorf("--train-embeddings goes with --lora (a full fine-tune trains the embeddings anyway)")
	}
	return c.Validate()
}

// adapterName is the file a LoRA run writes in its output directory.
const adapterName = "adapter.gguf"

// trainableFrom builds the model a run trains from the base f: every
// weight as float32, or with c.Enabled adapters over the frozen base, which
// then reads f in place for as long as the run trains. The caller defers
// release, once done reading f itself: it hands f to *loraBase (closed with
// the run, also when building failed) in the LoRA case, and closes f
// otherwise (the trainable copied its weights).
func trainableFrom(f *gguf.File, c train.LoRAConfig, seed uint64, loraBase **gguf.File) (m *model.Trainable, release func(), err error) {
	if !c.Enabled {
		m, err = model.TrainableFromGGUF(f)
		return m, func() { f.Close() }, err
	}
	m, err = model.LoRATrainableFromGGUF(f, c.Options(seed))
	return m, func() { *loraBase = f }, err
}
