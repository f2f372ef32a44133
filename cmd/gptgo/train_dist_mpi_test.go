// Reference: Open MPI 4.1 mpirun(1) (a rank that dies aborts the job); the training issue's kill -9 resume
// test, here with a rank of an MPI job killed.

//go:build mpi

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// mpiRankPID finds the process of rank `rank` among the ranks of this
// test's job: the ones whose environment holds mark.
func mpiRankPID(mark string, rank int) int {
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "environ"))
		if err != nil {
			continue
		}
		env := "\x00" + string(b)
		if strings.Contains(env, "\x00"+mark+"\x00") && strings.Contains(env, "\x00OMPI_COMM_WORLD_RANK="+strconv.Itoa(rank)+"\x00") {
			return pid
		}
	}
	return 0
}

// TestTrainDistMPIKillResume: rank 1 of `mpirun -np 2 gptgo train pretrain
// --dist mpi` is killed with SIGKILL after step 7; mpirun ends the job, the
// checkpoint of step 5 (or a later one) is intact and no model.gguf is
// written; `mpirun -np 2 … --resume` ends with the log from step 6 on and
// the model.gguf of an uninterrupted `--data-parallel 2` run, bit for bit.
func TestTrainDistMPIKillResume(t *testing.T) {
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)")
	}
	if os.Getenv("OMPI_COMM_WORLD_SIZE") != "" {
		t.Skip("already a rank under mpirun")
	}
	text, vocab, _ := trainFixture(t)
	config := distConfig(t, 1)
	args := []string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--seed", "3"}
	local := t.TempDir()
	if _, stderr, code := runCLI(t, "", append(args, "--out", local, "--data-parallel", "2")...); code != 0 {
		t.Fatalf("in-process: exit %d\n%s", code, stderr)
	}
	want := readLog(t, local)

	killed := t.TempDir()
	mark := fmt.Sprintf("GPTGO_TEST_MPI_JOB=%d-%d", os.Getpid(), time.Now().UnixNano())
	start := func(more ...string) *exec.Cmd {
		cmd := exec.Command(mpirun, append([]string{"--allow-run-as-root", "--oversubscribe", "-np", "2", "-x", strings.SplitN(mark, "=", 2)[0], os.Args[0]}, more...)...)
		cmd.Env = append(os.Environ(), helperEnv+"=1", mark)
		return cmd
	}
	job := start(append(args, "--out", killed, "--dist", "mpi")...)
	var out syncBuffer
	job.Stdout, job.Stderr = &out, &out
	if err := job.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { job.Process.Kill(); job.Wait() })
	waitFor(t, time.Minute, "step 7 in rank 0's log", func() bool { return logSteps(killed) >= 7 })
	pid := mpiRankPID(mark, 1)
	if pid == 0 {
		t.Fatalf("rank 1's process not found\n%s", out.String())
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- job.Wait() }()
	select {
	case err := <-done:
		if err == nil {
			t.Fatalf("mpirun exited 0 after rank 1 was killed\n%s", out.String())
		}
	case <-time.After(time.Minute):
		t.Fatalf("mpirun still running a minute after rank 1 was killed\n%s", out.String())
	}
	if err := checkpointIntact(filepath.Join(killed, ckptName)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(killed, modelName)); err == nil {
		t.Fatal("the killed job wrote model.gguf")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	resume := start("train", "pretrain", "--out", killed, "--resume", "--dist", "mpi")
	resume = exec.CommandContext(ctx, resume.Path, resume.Args[1:]...)
	resume.Env = append(os.Environ(), helperEnv+"=1", mark)
	if b, err := resume.CombinedOutput(); err != nil {
		t.Fatalf("resumed job: %v\n%s", err, b)
	}
	compareLogs(t, want, readLog(t, killed), 6)
	sameFile(t, filepath.Join(local, modelName), filepath.Join(killed, modelName))
}
