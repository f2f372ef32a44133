// Reference: Open MPI 4.1 mpirun(1); the trainer's equivalence (N ranks × micro-batch b = the in-process
// group of N ranks, bit for bit) carried over MPI.

//go:build mpi

package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestTrainDistMPI: `mpirun -np 2 gptgo train pretrain --dist mpi` logs
// the losses of `--data-parallel 2` and writes its model.gguf byte for
// byte; so do 4 ranks with ZeRO-2 and small buckets. The ranks are this
// test binary run as gptgo (helperEnv).
func TestTrainDistMPI(t *testing.T) {
	mpirun, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)")
	}
	if os.Getenv("OMPI_COMM_WORLD_SIZE") != "" {
		t.Skip("already a rank under mpirun")
	}
	text, vocab, _ := trainFixture(t)
	config := distConfig(t, 1)
	for _, c := range []struct {
		np   string
		more []string
	}{
		{"2", nil},
		{"4", []string{"--zero", "2", "--bucket-mb", "0.01"}},
	} {
		args := func(out string, dist ...string) []string {
			return append(append([]string{"train", "pretrain", text, "--vocab", vocab, "--config", config, "--seed", "3", "--out", out}, c.more...), dist...)
		}
		local := t.TempDir()
		if _, stderr, code := runCLI(t, "", args(local, "--data-parallel", c.np)...); code != 0 {
			t.Fatalf("in-process, %s ranks: exit %d\n%s", c.np, code, stderr)
		}
		out := t.TempDir()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, mpirun, append([]string{"--allow-run-as-root", "--oversubscribe", "-np", c.np, os.Args[0]}, args(out, "--dist", "mpi")...)...)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		b, err := cmd.CombinedOutput()
		cancel()
		if err != nil || !strings.Contains(string(b), "data-parallel: "+c.np+" ranks (mpi)") {
			t.Fatalf("mpirun -np %s: %v\n%s", c.np, err, b)
		}
		compareLogs(t, readLog(t, local), readLog(t, out), 1)
		sameFile(t, filepath.Join(local, modelName), filepath.Join(out, modelName))
	}
}
