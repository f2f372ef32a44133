// Reference: Ollama's model listing (api/types.go ListModelResponse,
// ShowResponse); the on-disk naming is this package's own (doc.go).

package modelstore

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/models"
	"github.com/gptgo/gptgo/quant"
)

// ErrNotFound is returned (wrapped) when no model has the name asked for.
var ErrNotFound = errors.New("model not found")

// Metadata keys gptgo adds to a model file (see doc.go).
const (
	KeySystem     = "gptgo.system"
	KeyParameters = "gptgo.parameters"
	KeyTemplate   = "tokenizer.chat_template"
)

// Store is a models directory. Every call reads the directory afresh, so
// files copied in by hand appear at once; what a file says about itself is
// remembered while the file stays the same one (same inode, size and
// modification time), because clients poll the list (Open WebUI asks for
// /api/tags on every page) and parsing a large vocabulary takes time.
// It is safe for concurrent use.
type Store struct {
	dir string

	defOnce  sync.Once
	def      Entry // the embedded default, read once (parsing it copies 6.5 MB)
	baseOnce sync.Once
	base     Entry // the embedded base model (BaseModel), read once

	mu    sync.Mutex
	known map[string]knownFile // by path
}

// knownFile is a parsed file and the identity it had when parsed.
type knownFile struct {
	st  os.FileInfo
	e   Entry
	err error
}

// Open returns the store of dir, creating the directory if missing.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("modelstore: no models directory given")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("modelstore: models directory: %w", err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return nil, fmt.Errorf("modelstore: models directory: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("modelstore: models directory %s is not a directory", dir)
	}
	return &Store{dir: dir}, nil
}

// Dir is the directory the store reads.
func (s *Store) Dir() string { return s.dir }

// Entry is one model of the store.
type Entry struct {
	Name       string              // canonical "name:tag"
	Path       string              // the GGUF file; "" for the embedded default
	Embedded   bool                // the embedded default model
	Size       int64               // bytes of the file
	Modified   time.Time           // the file's modification time (the build's commit time for the default)
	Template   string              // chat template override ("" = the GGUF's own, which Create sets from TEMPLATE)
	System     string              // default system prompt (gptgo.system)
	Parameters map[string][]string // Ollama PARAMETER names → values (gptgo.parameters), in file order

	Details Details // what the GGUF says about itself
	// Err is set, in List only, for a file that has a model's name but could
	// not be read; the other fields but Name, Path, Size and Modified are
	// then empty. One broken file never hides the others.
	Err error
}

// Details is the summary `gptgo list` and Ollama's "details" show.
type Details struct {
	Format            string // "gguf"
	Family            string // general.architecture ("llama")
	ParameterCount    int64  // elements of all tensors
	QuantizationLevel string // general.file_type by llama.cpp's name ("Q8_0"), or the most common tensor type
	ContextLength     int64  // <arch>.context_length, 0 if absent
}

// ParameterSize formats the parameter count as Ollama does ("110M", "1.1B").
func (d Details) ParameterSize() string {
	n := float64(d.ParameterCount)
	switch {
	case n >= 1e9:
		return trimZero(fmt.Sprintf("%.1f", n/1e9)) + "B"
	case n >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", n/1e6)) + "M"
	case n >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", n/1e3)) + "K"
	}
	return fmt.Sprint(d.ParameterCount)
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// Open returns the entry's GGUF file: the file mapped, or a private copy of
// the embedded default. The caller closes it.
func (e Entry) Open() (*gguf.File, error) {
	if open, ok := models.Lookup(e.Name); ok && e.Embedded {
		return open()
	}
	if e.Path == "" {
		return nil, fmt.Errorf("modelstore: model %q has no file", e.Name)
	}
	f, err := gguf.Open(e.Path)
	if err != nil {
		return nil, fmt.Errorf("modelstore: model %q: %w", e.Name, err)
	}
	return f, nil
}

// List returns every model, the embedded default first, then by name.
func (s *Store) List() ([]Entry, error) {
	des, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("modelstore: %w", err)
	}
	out := []Entry{s.defaultEntry()}
	for _, de := range des {
		name, ok := nameOfFile(de.Name())
		if !ok || name == DefaultModel {
			continue
		}
		e, err := s.read(name, filepath.Join(s.dir, de.Name()))
		if errors.Is(err, ErrNotFound) || errors.Is(err, errNotRegular) {
			continue // removed meanwhile, or a directory called x.gguf
		}
		if err != nil {
			e.Err = err
		}
		out = append(out, e)
	}
	sort.SliceStable(out[1:], func(i, j int) bool { return out[1+i].Name < out[1+j].Name })
	s.forget(out)
	return out, nil
}

// Resolve returns the model called name ("x" means "x:latest"). A missing
// model is ErrNotFound, a malformed name ErrInvalidName.
func (s *Store) Resolve(name string) (Entry, error) {
	canon, n, tag, err := ParseName(name)
	if err != nil {
		return Entry{}, err
	}
	if canon == DefaultModel {
		return s.defaultEntry(), nil
	}
	if canon == BaseModel { // resolved, not listed: the default is the model to use
		return s.baseEntry(), nil
	}
	e, err := s.read(canon, filepath.Join(s.dir, fileName(n, tag)))
	if err != nil {
		return Entry{}, err
	}
	return e, nil
}

var errNotRegular = errors.New("not a regular file")

// read stats and parses the file of the model canon.
func (s *Store) read(canon, path string) (Entry, error) {
	e := Entry{Name: canon, Path: path}
	st, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return e, fmt.Errorf("modelstore: model %q not found in %s: %w", canon, s.dir, ErrNotFound)
	}
	if err != nil {
		return e, fmt.Errorf("modelstore: model %q: %w", canon, err)
	}
	if !st.Mode().IsRegular() {
		return e, fmt.Errorf("modelstore: model %q: %s: %w", canon, path, errNotRegular)
	}
	e.Size, e.Modified = st.Size(), st.ModTime()
	s.mu.Lock()
	k, ok := s.known[path]
	s.mu.Unlock()
	if ok && os.SameFile(k.st, st) && k.st.Size() == st.Size() && k.st.ModTime().Equal(st.ModTime()) && k.e.Name == canon {
		k.e.Parameters = cloneParams(k.e.Parameters)
		return k.e, k.err
	}
	e, err = parse(e)
	s.mu.Lock()
	if s.known == nil {
		s.known = map[string]knownFile{}
	}
	s.known[path] = knownFile{st: st, e: e, err: err}
	s.mu.Unlock()
	e.Parameters = cloneParams(e.Parameters)
	return e, err
}

// forget drops what is remembered of files that are no longer listed.
func (s *Store) forget(listed []Entry) {
	keep := make(map[string]bool, len(listed))
	for _, e := range listed {
		keep[e.Path] = true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for p := range s.known {
		if !keep[p] {
			delete(s.known, p)
		}
	}
}

// parse fills e from its file.
func parse(e Entry) (Entry, error) {
	f, err := gguf.Open(e.Path)
	if err != nil {
		return e, fmt.Errorf("modelstore: model %q: %w", e.Name, err)
	}
	defer f.Close()
	if err := fill(&e, f); err != nil {
		return e, fmt.Errorf("modelstore: model %q (%s): %w", e.Name, e.Path, err)
	}
	return e, nil
}

// defaultEntry describes the embedded model. It cannot fail in a built
// binary (the file is checked by the models package's tests); should it,
// the entry carries the error and Open reports it again.
func (s *Store) defaultEntry() Entry {
	s.defOnce.Do(func() {
		e := Entry{Name: DefaultModel, Embedded: true, Size: int64(models.DefaultSize()), Modified: buildTime()}
		f, err := models.OpenDefault()
		if err == nil {
			err = fill(&e, f)
			f.Close()
		}
		e.Err = err
		s.def = e
	})
	e := s.def
	e.Parameters = cloneParams(e.Parameters)
	return e
}

// BaseModel is the canonical name of the embedded base model, the
// pretrained text continuer the default model was chat-tuned from.
const BaseModel = models.BaseModelName + ":" + DefaultTag

// baseEntry describes the embedded base model, as defaultEntry does the
// default.
func (s *Store) baseEntry() Entry {
	s.baseOnce.Do(func() {
		e := Entry{Name: BaseModel, Embedded: true, Size: int64(models.BaseSize()), Modified: buildTime()}
		f, err := models.OpenBase()
		if err == nil {
			err = fill(&e, f)
			f.Close()
		}
		e.Err = err
		s.base = e
	})
	e := s.base
	e.Parameters = cloneParams(e.Parameters)
	return e
}

// buildTime dates the embedded model: the commit time the binary was built
// from when the go command recorded one, else the binary's own modification
// time (when it was built or installed), else the zero time. Clients show
// "modified N ago", and the year 1 makes no sense there.
func buildTime() time.Time {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			if s.Key == "vcs.time" {
				if t, err := time.Parse(time.RFC3339, s.Value); err == nil {
					return t
				}
			}
		}
	}
	if exe, err := os.Executable(); err == nil {
		if st, err := os.Stat(exe); err == nil {
			return st.ModTime()
		}
	}
	return time.Time{}
}

// fill reads what an Entry says about a GGUF file.
func fill(e *Entry, f *gguf.File) error {
	if v, ok := f.Lookup(KeySystem); ok {
		s, ok := v.String()
		if !ok {
			return fmt.Errorf("%s is a %v, not a string", KeySystem, v.Type)
		}
		e.System = s
	}
	if v, ok := f.Lookup(KeyParameters); ok {
		lines, ok := v.Strings()
		if !ok {
			return fmt.Errorf("%s is not an array of strings", KeyParameters)
		}
		params, err := decodeParams(lines)
		if err != nil {
			return fmt.Errorf("%s: %w", KeyParameters, err)
		}
		e.Parameters = params
	}
	e.Details = details(f)
	return nil
}

// decodeParams reads gptgo.parameters ("name value" strings).
func decodeParams(lines []string) (map[string][]string, error) {
	out := map[string][]string{}
	for _, l := range lines {
		name, value, ok := strings.Cut(l, " ")
		if !ok {
			return nil, fmt.Errorf("entry %q is not \"name value\"", l)
		}
		v, err := CheckParam(name, value)
		if err != nil {
			return nil, err
		}
		out[name] = append(out[name], v)
	}
	return out, nil
}

// encodeParams is the inverse of decodeParams, names sorted so the file does
// not depend on map order (values keep their order).
func encodeParams(p map[string][]string) []string {
	var out []string
	for _, name := range sortedKeys(p) {
		for _, v := range p[name] {
			out = append(out, name+" "+v)
		}
	}
	return out
}

func sortedKeys(p map[string][]string) []string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func cloneParams(p map[string][]string) map[string][]string {
	if p == nil {
		return nil
	}
	out := make(map[string][]string, len(p))
	for k, v := range p {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// details summarises a GGUF file's architecture, size and quantization.
func details(f *gguf.File) Details {
	d := Details{Format: "gguf", Family: f.Arch()}
	count := map[string]int64{}
	for i := range f.Tensors {
		n := f.Tensors[i].Elements()
		d.ParameterCount += n
		count[f.Tensors[i].DType.String()] += n
	}
	if ft, ok := f.Uint("general.file_type"); ok && ft <= 1<<31 {
		if _, known := quant.FileType(ft).BaseType(); known {
			d.QuantizationLevel = quant.FileType(ft).String()
		}
	}
	if d.QuantizationLevel == "" { // the dtype holding the most weights
		var best int64
		for t, n := range count {
			if n > best || n == best && t < d.QuantizationLevel {
				d.QuantizationLevel, best = t, n
			}
		}
	}
	if d.Family != "" {
		if n, ok := f.Uint(d.Family + ".context_length"); ok && n <= 1<<40 {
			d.ContextLength = int64(n)
		}
	}
	return d
}
