// Reference: the training issue's resume test ("a run killed with kill -9 and resumed gives the same losses,
// bit for bit"); llm.c train_gpt2.cu's resume from checkpoint; POSIX rename(2) for the atomic checkpoint.

package main

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/train"
)

// killConfig writes a run of 16 steps with checkpoints every `every` steps
// and evaluations every 4.
func killConfig(t *testing.T, every int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "run.json")
	cfg := fmt.Sprintf(`{"data": {"val_fraction": 0.5}, "model": {"dim": 32, "layers": 2, "heads": 4, "kv_heads": 2},
		"optim": {"lr": 1e-2, "min_lr": 1e-3, "warmup": 3},
		"run": {"steps": 16, "batch": 4, "seq": 32, "threads": 2, "eval_every": 4, "eval_batches": 2,
			"sample_every": 0, "sample_tokens": 0, "checkpoint_every": %d}}`, every)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// startChild runs the test binary as `gptgo args...` (TestMain's helper
// mode); stall, when set, stops the child at that stderr text.
func startChild(t *testing.T, stall string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", stallEnv+"="+stall)
	errb := &syncBuffer{}
	cmd.Stderr = errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, errb
}

// syncBuffer is a child's stderr that the test may read while the child
// still writes to it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// kill sends SIGKILL (no handler runs, nothing is saved) and reaps the child.
func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// waitFor polls cond every millisecond for at most limit.
func waitFor(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(limit); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(end) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
	}
}

// checkpointIntact reports whether path is a whole GPTGOCKP file: magic,
// version and the CRC-32C trailer over everything before it (what
// train.LoadCheckpoint checks before it reads the tensors).
func checkpointIntact(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if len(b) < 20 || string(b[:8]) != train.CheckpointMagic {
		return fmt.Errorf("%s: no magic (%d bytes)", path, len(b))
	}
	body := b[:len(b)-4]
	if crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli)) != binary.LittleEndian.Uint32(b[len(b)-4:]) {
		return fmt.Errorf("%s: checksum mismatch (%d bytes)", path, len(b))
	}
	return nil
}

func logSteps(dir string) int {
	b, _ := os.ReadFile(filepath.Join(dir, logName))
	return bytes.Count(b, []byte("\n"))
}

// compareLogs requires the same loss, lr, grad norm and validation loss at
// every step from `from` on, bit for bit.
func compareLogs(t *testing.T, want, got []logEntry, from int) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("resumed log has %d steps, the straight run's %d", len(got), len(want))
	}
	for i := from - 1; i < len(want); i++ {
		w, g := want[i], got[i]
		if g.Step != w.Step || g.Loss != w.Loss || g.LR != w.LR || g.GradNorm != w.GradNorm {
			t.Errorf("step %d: loss %v lr %v norm %v, straight run step %d: %v %v %v", g.Step, g.Loss, g.LR, g.GradNorm, w.Step, w.Loss, w.LR, w.GradNorm)
		}
		if (w.ValLoss == nil) != (g.ValLoss == nil) || (w.ValLoss != nil && *w.ValLoss != *g.ValLoss) {
			t.Errorf("step %d: val loss %v, straight run %v", g.Step, deref(g.ValLoss), deref(w.ValLoss))
		}
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}

func sameFile(t *testing.T, a, b string) {
	t.Helper()
	x, err := os.ReadFile(a)
	if err != nil {
		t.Fatal(err)
	}
	y, err := os.ReadFile(b)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(x, y) {
		t.Errorf("%s and %s differ", a, b)
	}
}

// TestTrainKill9Resume: a `gptgo train pretrain` child process is killed
// with SIGKILL at step 7, two steps past its checkpoint at step 5, and
// resumed with --resume. Every step's training loss, lr, gradient norm and
// validation loss from step 6 on, and the final model.gguf, equal an
// uninterrupted run's, bit for bit.
func TestTrainKill9Resume(t *testing.T) {
	text, vocab, _ := trainFixture(t)
	config := killConfig(t, 5)
	args := []string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--seed", "3"}
	straight := t.TempDir()
	if _, stderr, code := runCLI(t, "", append(args, "--out", straight)...); code != 0 {
		t.Fatalf("straight run: exit %d\n%s", code, stderr)
	}
	want := readLog(t, straight)

	killed := t.TempDir()
	cmd, errb := startChild(t, "step 7/", append(args, "--out", killed)...)
	waitFor(t, 15*time.Second, "step 7 in the child's log", func() bool { return logSteps(killed) >= 7 })
	kill(t, cmd)
	if n := logSteps(killed); n != 7 {
		t.Fatalf("the child logged %d steps before the kill, want 7 (stalled at step 7)\n%s", n, errb)
	}
	if err := checkpointIntact(filepath.Join(killed, ckptName)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(killed, modelName)); err == nil {
		t.Fatal("the killed run wrote model.gguf")
	}
	_, stderr, code := runCLI(t, "", "train", "pretrain", "--out", killed, "--resume")
	if code != 0 || !strings.Contains(stderr, "resumed at step 5") {
		t.Fatalf("resume: exit %d\n%s", code, stderr)
	}
	compareLogs(t, want, readLog(t, killed), 1)
	sameFile(t, filepath.Join(straight, modelName), filepath.Join(killed, modelName))
	t.Logf("killed at step 7 (checkpoint at 5), resumed: steps 6–16 and model.gguf as the straight run; final loss %.6f", want[len(want)-1].Loss)
}

// TestTrainKillAroundCheckpoint: a child checkpointing every step is
// killed with SIGKILL at pinned points around its checkpoint writes, and
// resumed each time:
//   - after step 3's log line, before the checkpoint of step 3 is published
//     (the log is one step ahead of the checkpoint: the step is redone);
//   - right after the checkpoint of step 6 is published, before step 7
//     runs (log and checkpoint agree);
//   - at step 9 with a torn temporary checkpoint beside the real one (what
//     a kill in the middle of a write leaves);
//   - right after the checkpoint of step 12.
//
// After every kill the checkpoint under its final name is whole and the log
// holds every step up to the kill; the run finally ends with the log of an
// uninterrupted run (every step once, bit for bit) and its model, and no
// temporary file is left.
func TestTrainKillAroundCheckpoint(t *testing.T) {
	text, vocab, _ := trainFixture(t)
	straight := t.TempDir()
	args := []string{"train", "pretrain", text, "--vocab", vocab, "--seed", "3"}
	if _, stderr, code := runCLI(t, "", append(args, "--config", killConfig(t, 5), "--out", straight)...); code != 0 {
		t.Fatalf("straight run: exit %d\n%s", code, stderr)
	}
	want := readLog(t, straight)

	dir := t.TempDir()
	ckpt := filepath.Join(dir, ckptName)
	tmpFiles := func() []string {
		ents, _ := os.ReadDir(dir)
		var names []string
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), "."+ckptName+".tmp-") {
				names = append(names, e.Name())
			}
		}
		return names
	}
	kills := []struct {
		stall  string // where the child stops before the kill
		logged int    // steps in the log at the kill
		torn   bool   // plant a partial temporary checkpoint before resuming
	}{
		{stall: "step 3/", logged: 3},
		{stall: "checkpoint saved at step 6", logged: 6},
		{stall: "step 9/", logged: 9, torn: true},
		{stall: "checkpoint saved at step 12", logged: 12},
	}
	childArgs := append(args, "--config", killConfig(t, 1), "--out", dir)
	for i, k := range kills {
		if i > 0 {
			childArgs = []string{"train", "pretrain", "--out", dir, "--resume"}
		}
		if k.torn {
			torn := filepath.Join(dir, "."+ckptName+".tmp-123456")
			if err := os.WriteFile(torn, []byte(train.CheckpointMagic+"partial"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		cmd, errb := startChild(t, k.stall, childArgs...)
		waitFor(t, time.Minute, k.stall, func() bool { return strings.Contains(errb.String(), k.stall) })
		kill(t, cmd)
		if n := logSteps(dir); n != k.logged {
			t.Fatalf("kill %d (%s): the log has %d steps, want %d\n%s", i+1, k.stall, n, k.logged, errb)
		}
		if err := checkpointIntact(ckpt); err != nil {
			t.Fatalf("after kill %d (%s): %v", i+1, k.stall, err)
		}
	}
	_, stderr, code := runCLI(t, "", "train", "pretrain", "--out", dir, "--resume")
	if code != 0 || !strings.Contains(stderr, "resumed at step 12") {
		t.Fatalf("final resume: exit %d\n%s", code, stderr)
	}
	if left := tmpFiles(); len(left) > 0 {
		t.Errorf("temporary checkpoints left after the resumed run finished: %v", left)
	}
	sameFile(t, filepath.Join(straight, modelName), filepath.Join(dir, modelName))
	compareLogs(t, want, readLog(t, dir), 1)
}
