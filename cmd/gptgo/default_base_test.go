// Reference: models.Lookup: the embedded default and base models by name (issue 18 item 6).

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gptgo/gptgo/models"
)

// TestModelDefaultBase: --model default-base runs the embedded base model,
// token for token as its bytes written to a file run, and --model default
// is the model used when none is named.
func TestModelDefaultBase(t *testing.T) {
	f, err := models.OpenBase()
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "base.gguf")
	if err := os.WriteFile(file, f.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	f.Close()
	ids := func(args ...string) []int32 {
		t.Helper()
		out, errOut, code := runCLI(t, "", append([]string{"run"}, append(args, "The king", "-n", "6", "--temp", "0", "--ignore-eos", "--json")...)...)
		if code != 0 {
			t.Fatalf("run %v: exit %d: %s", args, code, errOut)
		}
		var r struct {
			IDs []int32 `json:"ids"`
		}
		if err := json.Unmarshal([]byte(out), &r); err != nil || len(r.IDs) != 6 {
			t.Fatalf("run %v: %v: %q", args, err, out)
		}
		return r.IDs
	}
	if a, b := ids("--model", "default-base"), ids("--model", file); !slices.Equal(a, b) {
		t.Errorf("--model default-base gave %v, the base model's file %v", a, b)
	}
	if a, b := ids("--model", "default"), ids(); !slices.Equal(a, b) {
		t.Errorf("--model default gave %v, no model %v", a, b)
	}
}
