// Reference: docs/distributed.md; torchrun's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) for the
// child processes; the training issue's kill -9 resume test, here with a rank of the group killed.

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// distConfig is killConfig's run (16 steps, checkpoints every 5, half the
// text held out for validation) with accum micro-batches per step.
func distConfig(t *testing.T, accum int) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "run.json")
	cfg := fmt.Sprintf(`{"data": {"val_fraction": 0.5}, "model": {"dim": 32, "layers": 2, "heads": 4, "kv_heads": 2},
		"optim": {"lr": 1e-2, "min_lr": 1e-3, "warmup": 3, "accum": %d},
		"run": {"steps": 16, "batch": 2, "seq": 32, "threads": 2, "eval_every": 4, "eval_batches": 2,
			"sample_every": 0, "sample_tokens": 0, "checkpoint_every": 5}}`, accum)
	if err := os.WriteFile(p, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestTrainDataParallelFlags: the flags' errors name the flag.
func TestTrainDataParallelFlags(t *testing.T) {
	text, vocab, config := trainFixture(t)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--data-parallel", "2", "--dist", "tcp"}, "give one"},
		{[]string{"--data-parallel", "0"}, "--data-parallel 0"},
		{[]string{"--data-parallel", "2", "--zero", "3"}, "--zero 3"},
		{[]string{"--zero", "2"}, "add --data-parallel N or --dist"},
		{[]string{"--data-parallel", "2", "--bucket-mb", "-1"}, "--bucket-mb -1"},
		{[]string{"--dist", "mpi"}, "without MPI"},
		{[]string{"--dist", "carrier-pigeon"}, "unknown transport"},
	} {
		args := append([]string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--out", t.TempDir()}, c.args...)
		_, stderr, code := runCLI(t, "", args...)
		if code == 0 || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d, want an error with %q:\n%s", c.args, code, c.want, stderr)
		}
	}
}

// TestTrainDataParallelInProcess: `--data-parallel 2` (one micro-batch of
// 2 sequences per rank), `--data-parallel 2 --zero 2` and `--data-parallel
// 2 --checkpoint-activations` (whose layers rerun inside the backward, so
// their gradients are written by the rerun's ops) log the same losses,
// gradient norms and validation losses, bit for bit, and write the same
// model.gguf as `--data-parallel 1` accumulating 2 micro-batches.
func TestTrainDataParallelInProcess(t *testing.T) {
	text, vocab, _ := trainFixture(t)
	args := func(accum int, out string, more ...string) []string {
		return append([]string{"train", "pretrain", text, "--vocab", vocab, "--config", distConfig(t, accum), "--seed", "3", "--out", out}, more...)
	}
	ref := t.TempDir()
	if _, stderr, code := runCLI(t, "", args(2, ref, "--data-parallel", "1")...); code != 0 {
		t.Fatalf("one rank: exit %d\n%s", code, stderr)
	}
	want := readLog(t, ref)
	for _, c := range []struct {
		zero string
		more []string
	}{{"1", nil}, {"2", nil}, {"1", []string{"--checkpoint-activations"}}} {
		out := t.TempDir()
		_, stderr, code := runCLI(t, "", args(1, out, append([]string{"--data-parallel", "2", "--zero", c.zero, "--bucket-mb", "0.01"}, c.more...)...)...)
		if code != 0 || !strings.Contains(stderr, "data-parallel: 2 ranks (in-process), ZeRO-"+c.zero) {
			t.Fatalf("2 ranks, ZeRO-%s %v: exit %d\n%s", c.zero, c.more, code, stderr)
		}
		compareLogs(t, want, readLog(t, out), 1)
		sameFile(t, filepath.Join(ref, modelName), filepath.Join(out, modelName))
	}
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

// startRanks starts n child processes of `gptgo args... --dist tcp`, one
// per rank, as torchrun would on one machine.
func startRanks(t *testing.T, n int, args ...string) ([]*exec.Cmd, []*syncBuffer) {
	t.Helper()
	port := freePort(t)
	var cmds []*exec.Cmd
	var errs []*syncBuffer
	for r := range n {
		cmd := exec.Command(os.Args[0], append(args, "--dist", "tcp")...)
		cmd.Env = append(os.Environ(), helperEnv+"=1", "RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(n),
			"MASTER_ADDR=127.0.0.1", "MASTER_PORT="+port, "GPTGO_DIST_TIMEOUT=60s")
		eb := &syncBuffer{}
		cmd.Stderr = eb
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		cmds, errs = append(cmds, cmd), append(errs, eb)
	}
	return cmds, errs
}

// TestTrainDistTCPKillRank: two `gptgo train pretrain --dist tcp` processes
// on loopback write the model of `--data-parallel 2`, byte for byte. Then
// rank 1 of a second pair is killed with SIGKILL after step 7: rank 0
// stops with an error naming rank 1, its checkpoint is intact, and both a
// new pair resumed with --resume and one process resumed from a copy of
// the run with `--data-parallel 1 --accum 2` (the checkpoint re-sharded for
// one rank accumulating the two ranks' micro-batches) end with the
// uninterrupted run's log from step 6 on and its model.gguf, bit for bit.
func TestTrainDistTCPKillRank(t *testing.T) {
	if testing.Short() {
		t.Skip("starts six child processes")
	}
	text, vocab, _ := trainFixture(t)
	config := distConfig(t, 1)
	args := func(out string) []string {
		return []string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--seed", "3", "--out", out}
	}
	local := t.TempDir()
	if _, stderr, code := runCLI(t, "", append(args(local), "--data-parallel", "2")...); code != 0 {
		t.Fatalf("in-process: exit %d\n%s", code, stderr)
	}
	want := readLog(t, local)

	straight := t.TempDir()
	cmds, errs := startRanks(t, 2, args(straight)...)
	for r, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("rank %d: %v\n%s", r, err, errs[r])
		}
	}
	compareLogs(t, want, readLog(t, straight), 1)
	sameFile(t, filepath.Join(local, modelName), filepath.Join(straight, modelName))

	killed := t.TempDir()
	cmds, errs = startRanks(t, 2, args(killed)...)
	waitFor(t, 30*time.Second, "step 7 in rank 0's log", func() bool { return logSteps(killed) >= 7 })
	kill(t, cmds[1])
	err := cmds[0].Wait()
	if err == nil || !strings.Contains(errs[0].String(), "rank 1") {
		t.Fatalf("rank 0 after rank 1 was killed: %v, want an error naming rank 1:\n%s", err, errs[0])
	}
	t.Logf("rank 0's error: %s", lastLine(errs[0].String()))
	if err := checkpointIntact(filepath.Join(killed, ckptName)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(killed, modelName)); err == nil {
		t.Fatal("the killed run wrote model.gguf")
	}
	copied := t.TempDir()
	if err := os.CopyFS(copied, os.DirFS(killed)); err != nil {
		t.Fatal(err)
	}
	if _, stderr, code := runCLI(t, "", "train", "pretrain", "--out", copied, "--resume", "--data-parallel", "1", "--accum", "2"); code != 0 {
		t.Fatalf("resumed on one rank: exit %d\n%s", code, stderr)
	}
	compareLogs(t, want, readLog(t, copied), 6)
	sameFile(t, filepath.Join(local, modelName), filepath.Join(copied, modelName))
	cmds, errs = startRanks(t, 2, "train", "pretrain", "--out", killed, "--resume")
	for r, cmd := range cmds {
		if err := cmd.Wait(); err != nil {
			t.Fatalf("resumed rank %d: %v\n%s", r, err, errs[r])
		}
	}
	compareLogs(t, want, readLog(t, killed), 6)
	sameFile(t, filepath.Join(local, modelName), filepath.Join(killed, modelName))
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
