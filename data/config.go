// The pipeline configuration: one JSON document with every default visible
// (`gptgo data config --default` prints it), in the role of Dolma's and
// datatrove's YAML pipeline configs.

package data

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Stage names, in the default order.
const (
	StageExactDedup = "exact_dedup"
	StageLanguage   = "language"
	StageLineDedup  = "line_dedup"
	StageQuality    = "quality"
	StageMinHash    = "minhash"
	StagePII        = "pii"
	StageTokenize   = "tokenize"
)

// StageNames lists every stage a config may name.
var StageNames = []string{StageExactDedup, StageLanguage, StageLineDedup, StageQuality, StageMinHash, StagePII, StageTokenize}

// Config is a whole pipeline.
type Config struct {
	Inputs  []string `json:"inputs"`  // files, globs or directories (walked, sorted)
	Output  string   `json:"output"`  // directory for docs.jsonl, report.json, summary.txt
	Workers int      `json:"workers"` // parallel workers, 0 = all cores
	// Stages run in this order; "tokenize" needs tokenize.vocab.
	Stages    []string `json:"stages"`
	WriteDocs bool     `json:"write_docs"` // write the surviving documents to OUTPUT/docs.jsonl
	// WriteRejected writes OUTPUT/rejected.jsonl: one line per dropped
	// document with its stage, reason, measurement and first characters.
	WriteRejected bool `json:"write_rejected"`

	Read       ReadOptions      `json:"read"`
	Language   LangOptions      `json:"language"`
	Quality    QualityOptions   `json:"quality"`
	ExactDedup DedupOptions     `json:"exact_dedup"`
	LineDedup  LineDedupOptions `json:"line_dedup"`
	MinHash    MinHashOptions   `json:"minhash"`
	PII        PIIOptions       `json:"pii"`
	Tokenize   TokenizeOptions  `json:"tokenize"`
}

// DefaultConfig has every option at its documented default.
func DefaultConfig() Config {
	return Config{
		Inputs: []string{}, Output: "out",
		Stages:    []string{StageExactDedup, StageLanguage, StageLineDedup, StageQuality, StageMinHash, StagePII},
		WriteDocs: true, WriteRejected: true,
		Read: DefaultReadOptions(), Language: DefaultLangOptions(), Quality: DefaultQualityOptions(),
		ExactDedup: DefaultDedupOptions(), LineDedup: DefaultLineDedupOptions(), MinHash: DefaultMinHashOptions(),
		PII: DefaultPIIOptions(), Tokenize: DefaultTokenizeOptions(),
	}
}

// ParseConfig reads a JSON config over the defaults: keys left out keep
// their default; unknown keys are errors, so that a typo is not ignored.
func ParseConfig(r io.Reader, name string) (Config, error) {
	c := DefaultConfig()
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		return c, fmt.Errorf("%s: %w", name, err)
	}
	return c, c.Validate()
}

// LoadConfig reads path; relative inputs and output are taken from the config's directory.
func LoadConfig(path string) (Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Config{}, err
	}
	c, err := ParseConfig(bytes.NewReader(b), path)
	if err != nil {
		return c, err
	}
	dir := filepath.Dir(path)
	for i, in := range c.Inputs {
		if !filepath.IsAbs(in) {
			c.Inputs[i] = filepath.Join(dir, in)
		}
	}
	if c.Output != "" && !filepath.IsAbs(c.Output) {
		c.Output = filepath.Join(dir, c.Output)
	}
	if c.Tokenize.Vocab != "" && !filepath.IsAbs(c.Tokenize.Vocab) {
		c.Tokenize.Vocab = filepath.Join(dir, c.Tokenize.Vocab)
	}
	return c, nil
}

// Validate checks stage names and option ranges.
func (c Config) Validate() error {
	known := map[string]bool{}
	for _, s := range StageNames {
		known[s] = true
	}
	seen := map[string]bool{}
	for _, s := range c.Stages {
		if !known[s] {
			return fmt.Errorf("data: config: unknown stage %q (stages: %s)", s, strings.Join(StageNames, ", "))
		}
		if seen[s] {
			return fmt.Errorf("data: config: stage %q listed twice", s)
		}
		seen[s] = true
	}
	if seen[StageTokenize] && c.Stages[len(c.Stages)-1] != StageTokenize {
		// Tokens are final: a later stage could still drop the document, and a
		// counting pass would run the shard writer twice.
		return fmt.Errorf("data: config: tokenize must be the last stage")
	}
	if err := c.MinHash.validate(); err != nil {
		return err
	}
	if _, err := NewLineDeduper(LineDedupOptions{Unit: c.LineDedup.Unit, Mode: c.LineDedup.Mode, Capacity: 1, FP: 0.5}); err != nil {
		return err
	}
	return nil
}

// JSON renders c with indentation.
func (c Config) JSON() string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep "<%s>" readable
	enc.SetIndent("", "  ")
	enc.Encode(c)
	return b.String()
}

// Build returns a stage factory for Pipeline.Build. enc may be nil unless
// the config names the tokenize stage.
func (c Config) Build(enc Encoder) func() ([]Stage, error) {
	return func() ([]Stage, error) {
		var out []Stage
		for _, name := range c.Stages {
			var s Stage
			var err error
			switch name {
			case StageExactDedup:
				s, err = ExactDedupStage(c.ExactDedup)
			case StageLanguage:
				s = LangStage(c.Language)
			case StageLineDedup:
				var ld *LineDeduper
				if ld, err = NewLineDeduper(c.LineDedup); err == nil {
					s = ld.Stage()
				}
			case StageQuality:
				s = QualityStage(c.Quality)
			case StageMinHash:
				s, err = MinHashStage(c.MinHash)
			case StagePII:
				s = PIIStage(c.PII)
			case StageTokenize:
				s, err = TokenizeStage(enc, c.Tokenize)
			default:
				err = fmt.Errorf("unknown stage %q", name)
			}
			if err != nil {
				return nil, fmt.Errorf("data: stage %s: %w", name, err)
			}
			out = append(out, s)
		}
		return out, nil
	}
}

// ExpandInputs turns globs and directories into a sorted file list.
func ExpandInputs(inputs []string) ([]string, error) {
	var files []string
	for _, in := range inputs {
		matches, err := filepath.Glob(in)
		if err != nil {
			return nil, fmt.Errorf("data: input %q: %w", in, err)
		}
		if len(matches) == 0 {
			return nil, fmt.Errorf("data: input %q: no such file", in)
		}
		for _, m := range matches {
			st, err := os.Stat(m)
			if err != nil {
				return nil, err
			}
			if !st.IsDir() {
				files = append(files, m)
				continue
			}
			var inDir []string
			err = filepath.WalkDir(m, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && !strings.HasPrefix(d.Name(), ".") {
					inDir = append(inDir, p)
				}
				return nil
			})
			if err != nil {
				return nil, err
			}
			sort.Strings(inDir)
			files = append(files, inDir...)
		}
	}
	return files, nil
}

// FileSource reads files one after another.
func FileSource(files []string, o ReadOptions) Source {
	return func(ctx context.Context, emit Emit) error {
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := ReadFile(f, o, emit); err != nil {
				return err
			}
		}
		return nil
	}
}
