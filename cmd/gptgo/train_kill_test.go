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
func startChild(t *testing.T, stall string, args ...string) (*exec.Cmd, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"=1", stallEnv+"="+stall)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, &errb
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

// TestTrainKillDuringCheckpoint: a child checkpointing every step is
// killed the moment a temporary checkpoint file appears beside an
// existing checkpoint, again and again, each time resumed. After every kill the checkpoint under its
// final name is whole (the old one or the new one: the rename is atomic)
// and the run resumes from it; the run finally ends with the model of an
// uninterrupted run.
func TestTrainKillDuringCheckpoint(t *testing.T) {
	text, vocab, _ := trainFixture(t)
	straight := t.TempDir()
	args := []string{"train", "pretrain", text, "--vocab", vocab, "--seed", "3"}
	if _, stderr, code := runCLI(t, "", append(args, "--config", killConfig(t, 5), "--out", straight)...); code != 0 {
		t.Fatalf("straight run: exit %d\n%s", code, stderr)
	}
	want := readLog(t, straight)

	dir := t.TempDir()
	ckpt := filepath.Join(dir, ckptName)
	tmpPrefix := "." + ckptName + ".tmp-"
	tmpFiles := func() map[string]bool {
		ents, _ := os.ReadDir(dir)
		names := map[string]bool{}
		for _, e := range ents {
			if strings.HasPrefix(e.Name(), tmpPrefix) {
				names[e.Name()] = true
			}
		}
		return names
	}
	// newTmp: a temporary checkpoint that is not in old (a partial file an
	// earlier kill left).
	newTmp := func(old map[string]bool) bool {
		for name := range tmpFiles() {
			if !old[name] {
				return true
			}
		}
		return false
	}
	childArgs := append(args, "--config", killConfig(t, 1), "--out", dir)
	kills, midWrite := 0, 0
	deadline := time.Now().Add(10 * time.Second)
	for kills < 4 && time.Now().Before(deadline) {
		before := tmpFiles()
		if kills > 0 {
			childArgs = []string{"train", "pretrain", "--out", dir, "--resume"}
		}
		cmd, errb := startChild(t, "", childArgs...)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		killedIt := false
	poll:
		for {
			select {
			case <-done:
				break poll // finished before a write was caught
			default:
			}
			if exists(ckpt) && newTmp(before) {
				cmd.Process.Kill()
				killedIt = true
				<-done
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				<-done
				t.Fatalf("no second checkpoint write seen in 10 s\n%s", errb)
			}
		}
		if !killedIt {
			break
		}
		kills++
		if newTmp(before) {
			midWrite++ // the kill landed before the rename: the partial file stays beside the checkpoint
		}
		if err := checkpointIntact(ckpt); err != nil {
			t.Fatalf("after kill %d: %v", kills, err)
		}
	}
	t.Logf("%d kills while a checkpoint was being written, %d of them before its rename", kills, midWrite)
	if kills == 0 {
		t.Fatal("no kill landed during a run")
	}
	_, stderr, code := runCLI(t, "", "train", "pretrain", "--out", dir, "--resume")
	if code != 0 {
		t.Fatalf("final resume: exit %d\n%s", code, stderr)
	}
	if left := tmpFiles(); len(left) > 0 {
		t.Errorf("partial checkpoints left after the resumed run finished: %v", left)
	}
	sameFile(t, filepath.Join(straight, modelName), filepath.Join(dir, modelName))
	got := readLog(t, dir)
	compareLogs(t, want, got, 1)
}
