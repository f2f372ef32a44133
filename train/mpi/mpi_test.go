// Reference: the Collective contract (train/collective.go), checked by train/collectivetest under Open MPI's
// mpirun(1) with -np 2 and -np 4 (--allow-run-as-root --oversubscribe, as CI runs as root on few cores).

//go:build mpi

package mpi

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/collectivetest"
)

// world is this process's rank when the test binary runs under mpirun
// (Open MPI sets OMPI_COMM_WORLD_SIZE); nil otherwise, and then the
// TestMPI… tests start mpirun on this same binary to run the TestRank…
// tests as ranks.
var world *Comm

func TestMain(m *testing.M) {
	if os.Getenv("OMPI_COMM_WORLD_SIZE") == "" {
		os.Exit(m.Run())
	}
	c, err := Open()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	world = c
	code := m.Run()
	if err := c.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	os.Exit(code)
}

// mpirunArgs are the flags every launch uses: root is allowed (CI runs as
// root), more ranks than cores are allowed, and a hung job ends after two
// minutes.
var mpirunArgs = []string{"--allow-run-as-root", "--oversubscribe", "--timeout", "120"}

// mpirun runs this test binary as np ranks, with the -test.run pattern,
// extra environment and extra mpirun flags, and returns the combined
// output and exit error.
func mpirun(t *testing.T, np int, run string, env []string, flags ...string) (string, error) {
	t.Helper()
	if world != nil {
		t.Skip("already a rank under mpirun")
	}
	bin, err := exec.LookPath("mpirun")
	if err != nil {
		t.Skip("mpirun is not installed (Debian: apt-get install openmpi-bin libopenmpi-dev)")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	args := append(append(append([]string{}, mpirunArgs...), flags...), "-np", fmt.Sprint(np), exe, "-test.run", run)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestMPIRanks runs the TestRank tests (the conformance check, the byte
// counters) under mpirun with 2 and 4 ranks.
func TestMPIRanks(t *testing.T) {
	for _, np := range []int{2, 4} {
		out, err := mpirun(t, np, "^TestRank", nil)
		if err != nil || strings.Count(out, "PASS") < np {
			t.Errorf("mpirun -np %d: %v\n%s", np, err, out)
		}
	}
}

// TestMPIKilledRank: when a rank is killed (SIGKILL) in the middle of the
// all-reduces, mpirun ends the whole job promptly, exits non-zero and
// names the rank; the other ranks do not hang.
func TestMPIKilledRank(t *testing.T) {
	start := time.Now()
	out, err := mpirun(t, 3, "^TestRankKilled$", []string{"GPTGO_MPI_KILL=2"})
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("mpirun with rank 2 killed: %v\n%s", err, out)
	}
	if !strings.Contains(out, "rank 2") {
		t.Errorf("mpirun's report does not name rank 2:\n%s", out)
	}
	t.Logf("mpirun stopped %v after the start (exit %d): %s", time.Since(start).Round(time.Millisecond), ee.ExitCode(), lastLines(out, 4))
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], " | ")
}

// rank skips the test unless this process is a rank under mpirun.
func rank(t *testing.T) *Comm {
	if world == nil {
		t.Skip("runs as a rank under mpirun (TestMPIRanks starts it)")
	}
	return world
}

// TestRankConformance: every operation at every length, bit for bit the
// rank-order reference; mismatched lengths fail on every rank.
func TestRankConformance(t *testing.T) {
	if err := collectivetest.Check(rank(t)); err != nil {
		t.Fatal(err)
	}
}

// TestRankStats: the payload counters are ZeRO's volumes.
func TestRankStats(t *testing.T) {
	c := rank(t)
	N, n := c.Size(), 1000*c.Size()
	before := c.Stats()
	b := make([]float32, n)
	if err := errors.Join(c.AllReduce(b), c.ReduceScatter(b), c.AllGather(b), c.Broadcast(b, 0)); err != nil {
		t.Fatal(err)
	}
	s := c.Stats()
	half := int64((N - 1) * n / N * 4)
	d := func(a, b train.OpStats) train.OpStats {
		return train.OpStats{Calls: a.Calls - b.Calls, Sent: a.Sent - b.Sent, Received: a.Received - b.Received}
	}
	for _, k := range []struct {
		name      string
		got, want train.OpStats
	}{
		{"all-reduce", d(s.AllReduce, before.AllReduce), train.OpStats{Calls: 1, Sent: 2 * half, Received: 2 * half}},
		{"reduce-scatter", d(s.ReduceScatter, before.ReduceScatter), train.OpStats{Calls: 1, Sent: half, Received: half}},
		{"all-gather", d(s.AllGather, before.AllGather), train.OpStats{Calls: 1, Sent: half, Received: half}},
	} {
		if k.got != k.want {
			t.Errorf("rank %d: %s: %+v, want %+v", c.Rank(), k.name, k.got, k.want)
		}
	}
	bc := d(s.Broadcast, before.Broadcast)
	if want := (train.OpStats{Calls: 1, Received: 4 * int64(n)}); c.Rank() != 0 && bc != want {
		t.Errorf("rank %d: broadcast: %+v, want %+v", c.Rank(), bc, want)
	}
}

// TestRankKilled all-reduces until the job ends; rank GPTGO_MPI_KILL kills
// itself after ten rounds.
func TestRankKilled(t *testing.T) {
	c := rank(t)
	victim := os.Getenv("GPTGO_MPI_KILL")
	if victim == "" {
		t.Skip("TestMPIKilledRank sets GPTGO_MPI_KILL")
	}
	buf := make([]float32, 1<<16)
	for i := 0; ; i++ {
		if i == 10 && fmt.Sprint(c.Rank()) == victim {
			syscall.Kill(os.Getpid(), syscall.SIGKILL)
		}
		if err := c.AllReduce(buf); err != nil {
			t.Fatalf("rank %d: %v", c.Rank(), err) // what a transport with fault reporting would give
		}
	}
}

// TestRankMeasure times all-reduces of each length in
// GPTGO_COLLECTIVE_MEASURE (as train's TestMeasureCollectives does for the
// other transports); rank 0 prints one line per length:
//
//	go test -tags mpi -c -o mpi.test ./train/mpi/
//	GPTGO_COLLECTIVE_MEASURE=15191712 mpirun -np 2 --allow-run-as-root --oversubscribe ./mpi.test -test.run TestRankMeasure
func TestRankMeasure(t *testing.T) {
	c := rank(t)
	spec := os.Getenv("GPTGO_COLLECTIVE_MEASURE")
	if spec == "" {
		t.Skip("set GPTGO_COLLECTIVE_MEASURE (and _REPS) to measure")
	}
	reps, err := strconv.Atoi(os.Getenv("GPTGO_COLLECTIVE_MEASURE_REPS"))
	if err != nil {
		reps = 5
	}
	for _, f := range strings.Split(spec, ",") {
		n, err := strconv.Atoi(f)
		if err != nil {
			t.Fatalf("GPTGO_COLLECTIVE_MEASURE: %q", f)
		}
		ds, err := collectivetest.Time(c, n, reps)
		if err != nil {
			t.Fatal(err)
		}
		if c.Rank() == 0 {
			slices.Sort(ds)
			med := ds[len(ds)/2]
			fmt.Printf("measure mpi n=%d reps=%d median=%.6fs min=%.6fs (%.2f GB/s of gradient)\n", n, len(ds), med.Seconds(), ds[0].Seconds(), 4*float64(n)/med.Seconds()/1e9)
		}
	}
}
