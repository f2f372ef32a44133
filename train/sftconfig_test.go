// Reference: config_test.go (the pretraining configuration's checks), which the SFT configuration shares.

package train

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSFTConfig(t *testing.T) {
	c := DefaultSFTConfig()
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "data.train is empty") {
		t.Fatalf("defaults without data: %v", err)
	}
	c.Data.Train = []string{"x.json"}
	if err := c.Validate(); err != nil {
		t.Fatalf("defaults with data: %v", err)
	}
	c.Run.Epochs, c.Optim.LR, c.Run.Seq, c.Data.ValFraction = 0, -1, 0, 1
	err := c.Validate()
	for _, want := range []string{"run.epochs (--epochs) 0 must be positive", "optim.lr (--lr) -1", "run.seq (--seq) 0", "data.val_fraction 1"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	c = DefaultSFTConfig()
	c.Run.EvalEvery = 0
	if l := c.Loop(40, "ck"); l.EvalEvery != 40 || l.Steps != 40 || l.CheckpointPath != "ck" || l.Schedule.Decay != 40 {
		t.Fatalf("Loop: %+v", l)
	}
	p := filepath.Join(t.TempDir(), "sft.json")
	os.WriteFile(p, []byte(`{"run": {"seq": 64}, "data": {"packing": false}}`), 0o644)
	if c, err = LoadSFTConfig(p); err != nil || c.Run.Seq != 64 || c.Data.Packing || c.Run.Batch != 8 {
		t.Fatalf("LoadSFTConfig: %+v, %v", c.Run, err)
	}
	os.WriteFile(p, []byte(`{"run": {"sequence": 64}}`), 0o644)
	if _, err = LoadSFTConfig(p); err == nil || !strings.Contains(err.Error(), `unknown field "sequence"`) {
		t.Fatalf("unknown key: %v", err)
	}
}
