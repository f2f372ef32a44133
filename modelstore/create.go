// Reference: Ollama's `ollama create NAME -f Modelfile [-q TYPE]`
// (docs/modelfile.md); the quantization is llama.cpp's, through package quant.

package modelstore

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/quant"
)

// CreateOptions tune Create.
type CreateOptions struct {
	// Dir is where a relative FROM path is looked up: the Modelfile's
	// directory, as Ollama does. "" is the working directory.
	Dir string
	// Quantize, when set, is a llama.cpp file type ("Q4_K_M", "Q8_0") that
	// the weights are quantized to on the way in.
	Quantize string
	// Quant passes threads and progress to the quantizer.
	Quant quant.Options
	// ModelsOnly makes FROM name a model of the store, never a file: for
	// requests that come over the network, which must not make the server
	// read files of its choosing.
	ModelsOnly bool
}

// Create writes the model name from a Modelfile: the FROM model's GGUF with
// the TEMPLATE as tokenizer.chat_template, SYSTEM and PARAMETERs as gptgo
// metadata, quantized when asked. A model created FROM another inherits its
// template, system prompt and parameters; a PARAMETER given in the
// Modelfile replaces all the inherited values of that name. An existing
// model called name is replaced (as Ollama does), atomically.
func (s *Store) Create(ctx context.Context, name string, mf *Modelfile, opt CreateOptions) (Entry, error) {
	canon, path, err := s.target(name)
	if err != nil {
		return Entry{}, err
	}
	var ft quant.FileType
	if opt.Quantize != "" {
		if ft, err = quant.ParseFileType(opt.Quantize); err != nil {
			return Entry{}, fmt.Errorf("modelstore: create %q: quantize: %w", canon, err)
		}
	}
	src, err := s.from(mf.From, opt.Dir, opt.ModelsOnly)
	if err != nil {
		return Entry{}, fmt.Errorf("modelstore: create %q: %w", canon, err)
	}
	in, err := src.Open()
	if err != nil {
		return Entry{}, fmt.Errorf("modelstore: create %q: %w", canon, err)
	}
	defer in.Close()
	h, err := header(in, mf)
	if err != nil {
		return Entry{}, fmt.Errorf("modelstore: create %q: %w", canon, err)
	}
	if opt.Quantize == "" {
		if err := gguf.WriteFile(path, h, in.Source()); err != nil {
			return Entry{}, fmt.Errorf("modelstore: create %q: %w", canon, err)
		}
		return s.Resolve(canon)
	}
	// quant writes a file from a file and keeps its metadata, so the new
	// metadata goes into a hidden intermediate file first (List skips names
	// that start with a dot), which is then quantized into place. It is
	// named as internal/atomicfile names temporary files of path, so that
	// the next write of path removes it when a kill left it behind.
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-"+strconv.Itoa(os.Getpid())+"-create-*.gguf")
	if err != nil {
		return Entry{}, fmt.Errorf("modelstore: create %q: %w", canon, err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)
	if err := gguf.WriteFile(tmpPath, h, in.Source()); err != nil {
		return Entry{}, fmt.Errorf("modelstore: create %q: %w", canon, err)
	}
	if _, err := quant.QuantizeFile(ctx, tmpPath, path, ft, opt.Quant); err != nil {
		return Entry{}, fmt.Errorf("modelstore: create %q: quantize to %v: %w", canon, ft, err)
	}
	return s.Resolve(canon)
}

// from finds the model a FROM line names: a file (relative to dir) when one
// exists there or the text ends in .gguf, else a model of the store; only
// the latter when modelsOnly.
func (s *Store) from(from, dir string, modelsOnly bool) (Entry, error) {
	if modelsOnly {
		e, err := s.Resolve(from)
		if err != nil {
			return Entry{}, fmt.Errorf("FROM %q: %w", from, err)
		}
		return e, nil
	}
	p := from
	if strings.HasPrefix(p, "~/") {
		if home, err := os.UserHomeDir(); err == nil {
			p = filepath.Join(home, p[2:])
		}
	}
	if !filepath.IsAbs(p) && dir != "" {
		p = filepath.Join(dir, p)
	}
	st, err := os.Stat(p)
	switch {
	case err == nil && st.Mode().IsRegular():
		return Entry{Name: from, Path: p}, nil
	case err == nil:
		return Entry{}, fmt.Errorf("FROM %s: not a regular file", p)
	case strings.HasSuffix(from, ".gguf") || strings.ContainsAny(from, `/\`):
		return Entry{}, fmt.Errorf("FROM %s: %w", p, err)
	case !errors.Is(err, fs.ErrNotExist):
		return Entry{}, fmt.Errorf("FROM %s: %w", p, err)
	}
	e, err := s.Resolve(from)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrInvalidName) {
		return Entry{}, fmt.Errorf("FROM %q: no such file, and no model of that name in %s", from, s.dir)
	}
	return e, err
}

// header is in's header with the Modelfile's additions.
func header(in *gguf.File, mf *Modelfile) (*gguf.Header, error) {
	h := in.Header()
	if mf.Template != nil {
		if strings.TrimSpace(*mf.Template) == "" {
			h.Delete(KeyTemplate)
		} else {
			h.Set(KeyTemplate, gguf.NewValue(*mf.Template))
		}
	}
	if mf.System != nil {
		if *mf.System == "" {
			h.Delete(KeySystem)
		} else {
			h.Set(KeySystem, gguf.NewValue(*mf.System))
		}
	}
	params := map[string][]string{}
	if v, ok := h.Lookup(KeyParameters); ok {
		lines, ok := v.Strings()
		if !ok {
			return nil, fmt.Errorf("FROM model: %s is not an array of strings", KeyParameters)
		}
		inherited, err := decodeParams(lines)
		if err != nil {
			return nil, fmt.Errorf("FROM model: %s: %w", KeyParameters, err)
		}
		params = inherited
	}
	given := map[string]bool{}
	for _, p := range mf.Parameters {
		if !given[p.Name] {
			given[p.Name] = true
			params[p.Name] = nil
		}
		params[p.Name] = append(params[p.Name], p.Value)
	}
	if len(params) == 0 {
		h.Delete(KeyParameters)
	} else {
		h.Set(KeyParameters, gguf.NewValue(encodeParams(params)))
	}
	if len(mf.License) > 0 { // GGUF has one licence string
		h.Set("general.license", gguf.NewValue(strings.Join(mf.License, "\n\n")))
	}
	return h, nil
}
