// Reference: os.Stat and the GGUF specification's magic (ggml/docs/gguf.md): how a model argument is told from a prompt.

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/gptgo/gptgo/gguf"
	"github.com/gptgo/gptgo/models"
)

// checkModelFile says in words why path cannot be a model file: it does not
// exist, or it is a directory (which mmap would report as "no such device").
func checkModelFile(path string) error {
	st, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		if _, ok := models.Lookup(path); ok { // default, default-base: embedded
			return nil
		}
		return fmt.Errorf("model file not found: %s", path)
	case err != nil:
		return fmt.Errorf("model file %s: %w", path, err)
	case st.IsDir():
		return fmt.Errorf("%s is a directory, not a model file", path)
	}
	return nil
}

// looksLikeModelPath reports whether a positional argument was surely meant
// as a model file rather than as text: a .gguf name.
func looksLikeModelPath(s string) bool {
	return strings.HasSuffix(strings.ToLower(s), ".gguf")
}

// isDir reports whether path names an existing directory.
func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// openGGUF opens the GGUF file at path after checkModelFile, or the
// embedded default model for "".
func openGGUF(path string) (*gguf.File, error) {
	if path == "" {
		return models.OpenDefault()
	}
	if open, ok := embeddedModel(path); ok {
		return open()
	}
	if err := checkModelFile(path); err != nil {
		return nil, err
	}
	return gguf.Open(path)
}

// embeddedModel returns the opener of the embedded model that name means
// ("default", "default-base"; models.Lookup) when no file of that name
// exists: a file always wins.
func embeddedModel(name string) (func() (*gguf.File, error), bool) {
	if _, err := os.Stat(name); err == nil {
		return nil, false
	}
	return models.Lookup(name)
}
