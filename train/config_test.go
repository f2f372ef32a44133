// Reference: train/config.go (defaults, JSON over defaults, validation).

package train

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/tensor"
	"github.com/gptgo/gptgo/train/autograd"
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

// TestConfigMemory: activation checkpointing and 16-bit activations are off
// by default and shown in the JSON; 16 bits need checkpointing; the run's
// tape gets them through PretrainConfig.Memory.
func TestConfigMemory(t *testing.T) {
	d := DefaultConfig()
	d.Data.Train = []string{"x"}
	if p := d.Pretrain("ck"); p.Memory != (autograd.Memory{}) {
		t.Errorf("default memory %+v, want the zero value", p.Memory)
	}
	for _, key := range []string{`"checkpoint_activations": false`, `"activation_dtype": "f32"`} {
		if !strings.Contains(string(d.JSON()), key) {
			t.Errorf("JSON lacks %s", key)
		}
	}
	for _, tc := range []struct {
		ckpt bool
		dt   string
		want autograd.Memory
		err  string
	}{
		{true, "f32", autograd.Memory{Checkpoint: true}, ""},
		{true, "BF16", autograd.Memory{Checkpoint: true, Store: tensor.BF16}, ""},
		{true, "f16", autograd.Memory{Checkpoint: true, Store: tensor.F16}, ""},
		{false, "bf16", autograd.Memory{}, "needs run.checkpoint_activations"},
		{true, "q8_0", autograd.Memory{}, `"q8_0" is not f32, bf16 or f16`},
	} {
		c := d
		c.Run.CheckpointActivations, c.Run.ActivationDType = tc.ckpt, tc.dt
		err := c.Validate()
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%v %s: error %v, want %q", tc.ckpt, tc.dt, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v %s: %v", tc.ckpt, tc.dt, err)
		}
		if p := c.Pretrain("ck"); p.Memory != tc.want {
			t.Errorf("%v %s: memory %+v, want %+v", tc.ckpt, tc.dt, p.Memory, tc.want)
		}
	}
}

// TestConfigFinite: a NaN or infinite setting is named (with its flag when
// it has one) before any range check, and JSON never sees it.
func TestConfigFinite(t *testing.T) {
	c := DefaultConfig()
	c.Data.Train = []string{"x"}
	c.Optim.LR = math.Inf(1)
	c.Optim.Beta2 = math.NaN()
	err := c.Validate()
	if err == nil || !strings.Contains(err.Error(), "optim.lr (--lr) is +Inf, not a finite number") ||
		!strings.Contains(err.Error(), "optim.beta2 is NaN") {
		t.Errorf("Validate: %v", err)
	}
	if c.Finite() == nil {
		t.Error("Finite passed +Inf")
	}
	c = DefaultConfig()
	c.Data.Train = []string{"x"}
	c.Optim.LR = -1
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "optim.lr (--lr) -1 must be positive") {
		t.Errorf("negative lr: %v", err)
	}
	if DefaultConfig().Finite() != nil {
		t.Error("the defaults are not finite")
	}
}
