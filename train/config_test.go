// Reference: train/config.go (defaults, JSON over defaults, validation).

package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestConfigFile: a file sets only what it names, the rest keeps the
// defaults; unknown keys and bad values are errors that say which.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	c, err := LoadConfig(write("ok.json", `{"data": {"train": ["a.txt"]}, "run": {"steps": 30}, "optim": {"lr": 3e-3, "warmup": 5}}`))
	if err != nil {
		t.Fatal(err)
	}
	d := DefaultConfig()
	if c.Run.Steps != 30 || c.Optim.LR != 3e-3 || c.Run.Batch != d.Run.Batch || c.Model.Dim != d.Model.Dim || c.Data.Train[0] != "a.txt" {
		t.Errorf("loaded %+v", c)
	}
	if s := c.Schedule(); s.Decay != 30 || s.MaxLR != 3e-3 || s.Warmup != 5 {
		t.Errorf("schedule %+v", s)
	}
	if p := c.Pretrain("ck"); p.Steps != 30 || p.AdamW != DefaultAdamW || p.CheckpointPath != "ck" || p.ClipNorm != 1 {
		t.Errorf("pretrain config %+v", p)
	}
	if _, err := LoadConfig(write("unknown.json", `{"run": {"stepz": 3}}`)); err == nil || !strings.Contains(err.Error(), "stepz") {
		t.Errorf("unknown key: %v", err)
	}
	bad, err := LoadConfig(write("bad.json", `{"data": {"train": ["a"]}, "run": {"batch": 0, "export_type": "q4_0"}}`))
	if err != nil {
		t.Fatal(err)
	}
	if err = bad.Validate(); err == nil || !strings.Contains(err.Error(), "batch") || !strings.Contains(err.Error(), "q4_0") {
		t.Errorf("bad values: %v", err)
	}
	// The defaults are valid once there is data.
	d.Data.Train = []string{"x"}
	if err := d.Validate(); err != nil {
		t.Error(err)
	}
	if !strings.Contains(string(d.JSON()), `"val_fraction": 0.1`) {
		t.Errorf("JSON lacks the defaults:\n%s", d.JSON())
	}
}
