// Reference: Ollama's `ollama rm` and `ollama cp` (copy overwrites the
// destination; removing a missing model is an error).

package modelstore

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gptgo/gptgo/internal/atomicfile"
	"github.com/gptgo/gptgo/models"
)

// ErrReadOnly is returned (wrapped) for a change to the embedded default.
var ErrReadOnly = errors.New("the embedded default model cannot be changed")

// target validates a model name that is about to be written and returns its
// canonical name and file path.
func (s *Store) target(name string) (canon, path string, err error) {
	canon, n, tag, err := ParseName(name)
	if err != nil {
		return "", "", err
	}
	if canon == DefaultModel || canon == BaseModel {
		return "", "", fmt.Errorf("modelstore: %s: %w (choose another name)", canon, ErrReadOnly)
	}
	return canon, filepath.Join(s.dir, fileName(n, tag)), nil
}

// Remove deletes the model called name. A file that has a model's name but
// does not parse can still be removed.
func (s *Store) Remove(name string) error {
	canon, path, err := s.target(name)
	if err != nil {
		return err
	}
	if err := os.Remove(path); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("modelstore: model %q not found in %s: %w", canon, s.dir, ErrNotFound)
		}
		return fmt.Errorf("modelstore: remove %q: %w", canon, err)
	}
	return nil
}

// Copy makes dst a copy of the model src (the embedded default included),
// replacing any model called dst, as `ollama cp` does. The copy is a new
// file written atomically, not a link, so removing either leaves the other.
func (s *Store) Copy(src, dst string) (Entry, error) {
	from, err := s.Resolve(src)
	if err != nil {
		return Entry{}, err
	}
	canon, path, err := s.target(dst)
	if err != nil {
		return Entry{}, err
	}
	if canon == from.Name {
		return Entry{}, fmt.Errorf("modelstore: copy %q to itself", canon)
	}
	write := func(w io.Writer) error {
		if from.Embedded {
			return writeEmbedded(w, from.Name)
		}
		in, err := os.Open(from.Path)
		if err != nil {
			return err
		}
		defer in.Close()
		_, err = io.Copy(w, in)
		return err
	}
	if err := atomicfile.Write(path, write); err != nil {
		return Entry{}, fmt.Errorf("modelstore: copy %q to %q: %w", from.Name, canon, err)
	}
	return s.Resolve(canon)
}

// writeEmbedded writes the bytes of the embedded model called name.
func writeEmbedded(w io.Writer, name string) error {
	open, ok := models.Lookup(name)
	if !ok {
		return fmt.Errorf("modelstore: %q is not an embedded model", name)
	}
	f, err := open()
	if err != nil {
		return err
	}
	_, err = w.Write(f.Bytes())
	return err
}
