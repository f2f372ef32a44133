// Reference: Go fuzzing (go.dev/doc/security/fuzz); the `gptgo bake` recipe
// format of bake.go and recipes/*.json.

package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/testkit"
)

// inside reports whether path lies strictly inside dir.
func inside(dir, path string) bool {
	rel, err := filepath.Rel(dir, path)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// FuzzRecipe loads arbitrary recipes. An accepted recipe keeps each
// source's directory apart and inside WORK/data (a source named ".." would
// clean into WORK itself), puts its default work directory under bake/,
// and its train and clean sections parse without a panic.
func FuzzRecipe(f *testing.F) {
	for _, name := range []string{"default.json", "default-bytes.json"} {
		if b, err := os.ReadFile(filepath.Join(testkit.ModuleRoot(), "recipes", name)); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte(`{"name":"x","sources":[{"name":"a","clean":{"inputs":["a.txt"]},"val_fraction":0.1}],"tokenizer":{"vocab_size":300},"export":{"type":"q8_0","path":"x.gguf"},"train":{"model":{"n_layer":1}}}`))
	f.Fuzz(func(t *testing.T, in []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "r.json")
		if err := os.WriteFile(path, in, 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := loadRecipe(path)
		if err != nil {
			return
		}
		if b.r.Work == "" && !inside(filepath.Join(dir, "bake"), b.work) {
			t.Fatalf("name %q puts the work directory at %s, outside %s", b.r.Name, b.work, filepath.Join(dir, "bake"))
		}
		seen := map[string]bool{}
		for _, s := range b.r.Sources {
			sd := b.sourceDir(s)
			if !inside(filepath.Join(b.work, "data"), sd) || seen[sd] {
				t.Fatalf("source %q cleans into %s (work %s)", s.Name, sd, b.work)
			}
			seen[sd] = true
			data.ParseConfig(bytes.NewReader(orEmpty(s.Clean)), "source "+s.Name)
		}
		b.trainConfig()
	})
}
