// Reference: models.Lookup (the embedded default and base models) and Ollama's read-only names.

package modelstore

import (
	"bytes"
	"errors"
	"path/filepath"
	"testing"

	"github.com/gptgo/gptgo/models"
)

// TestBaseModel: default-base resolves to the embedded base model (its
// own bytes, not the default's), is read-only, copies out whole, and is
// not listed (the default is the model to use).
func TestBaseModel(t *testing.T) {
	s, err := Open(filepath.Join(t.TempDir(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	e, err := s.Resolve("default-base")
	if err != nil || e.Name != BaseModel || !e.Embedded || e.Err != nil || e.Size != int64(models.BaseSize()) {
		t.Fatalf("Resolve(default-base) = %+v, %v", e, err)
	}
	f, err := e.Open()
	if err != nil {
		t.Fatal(err)
	}
	want, _ := models.OpenBase()
	if !bytes.Equal(f.Bytes(), want.Bytes()) {
		t.Error("default-base opened other bytes than the embedded base model")
	}
	if mf := ModelfileOf(e, f); mf.From != "default-base" {
		t.Errorf("Modelfile FROM %q, want default-base", mf.From)
	}
	f.Close()
	want.Close()
	if err := s.Remove("default-base"); !errors.Is(err, ErrReadOnly) {
		t.Errorf("Remove(default-base) = %v, want ErrReadOnly", err)
	}
	c, err := s.Copy("default-base", "mine")
	if err != nil || c.Size != int64(models.BaseSize()) {
		t.Fatalf("Copy(default-base) = %+v, %v", c, err)
	}
	es, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range es {
		if e.Name == BaseModel {
			t.Errorf("List shows %s", BaseModel)
		}
	}
}
