// Reference: Ollama's `ollama create NAME -f Modelfile [-q TYPE]`.

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/gptgo/gptgo/modelstore"
	"github.com/gptgo/gptgo/quant"
)

func init() {
	register(&command{
		name:    "create",
		summary: "create a model in the models directory from a Modelfile (FROM, TEMPLATE, SYSTEM, PARAMETER)",
		usage:   "NAME [-f Modelfile] [-q TYPE] [--models DIR]",
		run:     runCreate,
	})
}

func runCreate(ctx context.Context, e *env, args []string) error {
	usage := "NAME [-f Modelfile] [-q TYPE] [--models DIR]"
	fs := newFlags(e, "create", usage)
	dir := modelsFlag(fs)
	file := fs.String("f", "Modelfile", "the Modelfile; a relative FROM path is relative to its directory")
	q := fs.String("q", "", "quantize the weights on the way in to this llama.cpp type (Q4_K_M, Q8_0, …; see 'gptgo quantize -h')")
	threads := fs.Int("threads", 0, "threads for -q (0: all cores)")
	pos, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errUsage
	}
	if *q != "" {
		if _, err := quant.ParseFileType(*q); err != nil {
			return fmt.Errorf("-q: %w", err)
		}
	}
	text, err := os.ReadFile(*file)
	if err != nil {
		return fmt.Errorf("-f: %w", err)
	}
	mf, err := modelstore.ParseModelfile(string(text))
	if err != nil {
		return fmt.Errorf("%s: %w", *file, err)
	}
	s, err := openModels(*dir)
	if err != nil {
		return err
	}
	opt := modelstore.CreateOptions{Dir: filepath.Dir(*file), Quantize: *q, Quant: quant.Options{Threads: *threads}}
	if *q != "" {
		fmt.Fprintf(e.stderr, "quantizing to %s\n", *q)
	}
	m, err := s.Create(ctx, pos[0], mf, opt)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "created '%s' (%s, %s)\n", m.Name, decimalSize(m.Size), m.Path)
	return nil
}
