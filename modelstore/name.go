// Reference: Ollama's model names (types/model/name.go: "model:tag", tag
// "latest" by default, parts limited to [A-Za-z0-9_.-]).

package modelstore

import (
	"errors"
	"fmt"
	"strings"
)

// DefaultTag is the tag of a name given without one.
const DefaultTag = "latest"

// DefaultModel is the canonical name of the embedded default model.
const DefaultModel = "default:" + DefaultTag

// maxPart bounds the name and the tag, as Ollama does (80 bytes each), which
// also keeps file names far below the usual 255-byte limit.
const maxPart = 80

// ErrInvalidName is returned (wrapped) for a name that is not a valid model
// name; servers answer it with 400.
var ErrInvalidName = errors.New("invalid model name")

// ParseName returns the canonical "name:tag" of s ("x" → "x:latest") and
// its two parts.
func ParseName(s string) (canonical, name, tag string, err error) {
	name, tag = s, DefaultTag
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		name, tag = s[:i], s[i+1:]
	}
	if err := checkPart(name); err != nil {
		return "", "", "", fmt.Errorf("modelstore: model name %q: %w: %v", s, ErrInvalidName, err)
	}
	if err := checkPart(tag); err != nil {
		return "", "", "", fmt.Errorf("modelstore: model name %q: %w: tag: %v", s, ErrInvalidName, err)
	}
	return name + ":" + tag, name, tag, nil
}

// checkPart validates a name or a tag.
func checkPart(p string) error {
	switch {
	case p == "":
		return errors.New("empty")
	case len(p) > maxPart:
		return fmt.Errorf("%d bytes, more than %d", len(p), maxPart)
	case strings.Contains(p, ".."):
		return errors.New(`contains ".."`)
	}
	for i := 0; i < len(p); i++ {
		c := p[i]
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' ||
			i > 0 && (c == '.' || c == '-')
		if !ok {
			if i == 0 {
				return fmt.Errorf("starts with %q (a letter, digit or _ must come first)", c)
			}
			return fmt.Errorf("contains %q (only letters, digits, _ . - are allowed)", c)
		}
	}
	return nil
}

// fileName is the file (within the directory) of a valid name and tag.
func fileName(name, tag string) string {
	if tag == DefaultTag {
		return name + ".gguf"
	}
	return name + "@" + tag + ".gguf"
}

// nameOfFile is the inverse of fileName: the canonical model name of a
// directory entry, or false when the file is not a model under the scheme.
func nameOfFile(file string) (string, bool) {
	stem, ok := strings.CutSuffix(file, ".gguf")
	if !ok {
		return "", false
	}
	name, tag := stem, DefaultTag
	if i := strings.IndexByte(stem, '@'); i >= 0 {
		name, tag = stem[:i], stem[i+1:]
		if tag == DefaultTag { // name.gguf is the only file of name:latest
			return "", false
		}
	}
	if checkPart(name) != nil || checkPart(tag) != nil {
		return "", false
	}
	return name + ":" + tag, true
}
