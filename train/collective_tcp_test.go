// Reference: the Collective contract (train/collective.go) and the TCP transport's wire format
// (train/collective_tcp.go); every implementation passes collectivetest.Check.

package train_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gptgo/gptgo/train"
	"github.com/gptgo/gptgo/train/collectivetest"
)

// tcpGroup forms a TCP group of n ranks in goroutines over loopback.
func tcpGroup(t *testing.T, n int, tweak func(*train.TCPConfig)) []*train.TCPCollective {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cs := make([]*train.TCPCollective, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for r := range n {
		cfg := train.TCPConfig{Rank: r, Size: n, Addr: ln.Addr().String(), ConnectTimeout: 20 * time.Second}
		if r == 0 {
			cfg.Listener = ln
		}
		if tweak != nil {
			tweak(&cfg)
		}
		wg.Go(func() { cs[r], errs[r] = train.NewTCPCollective(context.Background(), cfg) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		for _, c := range cs {
			c.Close()
		}
	})
	return cs
}

// onEach runs f on every rank at once and returns the errors by rank.
func onEach[C train.Collective](cs []C, f func(c C) error) []error {
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for r, c := range cs {
		wg.Go(func() { errs[r] = f(c) })
	}
	wg.Wait()
	return errs
}

// TestCollectiveConformance: the in-process group and the TCP transport
// (goroutines over loopback) at 1 to 4 ranks give the reference's bits for
// every operation and length, and fail together on mismatched lengths.
func TestCollectiveConformance(t *testing.T) {
	for n := 1; n <= 4; n++ {
		t.Run(fmt.Sprintf("local/%d", n), func(t *testing.T) {
			cs, err := train.NewLocalGroup(n)
			if err != nil {
				t.Fatal(err)
			}
			for r, err := range onEach(cs, collectivetest.Check) {
				if err != nil {
					t.Errorf("rank %d: %v", r, err)
				}
			}
		})
		t.Run(fmt.Sprintf("tcp/%d", n), func(t *testing.T) {
			cs := tcpGroup(t, n, nil)
			for r, err := range onEach(cs, func(c *train.TCPCollective) error { return collectivetest.Check(c) }) {
				if err != nil {
					t.Errorf("rank %d: %v", r, err)
				}
			}
		})
	}
}

// TestTCPMismatch: ranks disagreeing on the operation or the broadcast
// root fail together with an error that says how, and the group goes on.
func TestTCPMismatch(t *testing.T) {
	cs := tcpGroup(t, 3, nil)
	errs := onEach(cs, func(c *train.TCPCollective) error {
		return c.Broadcast(make([]float32, 4), min(c.Rank(), 1))
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "broadcasts from rank") {
			t.Errorf("rank %d: broadcasts from different roots gave %v", r, err)
		}
	}
	errs = onEach(cs, func(c *train.TCPCollective) error {
		if c.Rank() == 1 {
			return c.AllGather(make([]float32, 4))
		}
		return c.ReduceScatter(make([]float32, 4))
	})
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "called") {
			t.Errorf("rank %d: all-gather beside reduce-scatter gave %v", r, err)
		}
	}
	if err := errors.Join(onEach(cs, func(c *train.TCPCollective) error { return c.Barrier() })...); err != nil {
		t.Fatalf("the group broke after the mismatches: %v", err)
	}
}

// TestTCPStats: the payload counters match ZeRO's volumes: an all-reduce
// of n floats sends and receives 2·(N−1)/N·4n bytes per rank when N
// divides n, a reduce-scatter and an all-gather half that.
func TestTCPStats(t *testing.T) {
	const N, n = 4, 1000
	cs := tcpGroup(t, N, nil)
	errs := onEach(cs, func(c *train.TCPCollective) error {
		b := make([]float32, n)
		return errors.Join(c.AllReduce(b), c.ReduceScatter(b), c.AllGather(b), c.Broadcast(b, 0), c.Barrier())
	})
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	for r, c := range cs {
		s := c.Stats()
		half := int64((N - 1) * n / N * 4)
		want := train.CommStats{
			AllReduce:     train.OpStats{Calls: 1, Sent: 2 * half, Received: 2 * half},
			ReduceScatter: train.OpStats{Calls: 1, Sent: half, Received: half},
			AllGather:     train.OpStats{Calls: 1, Sent: half, Received: half},
			Broadcast:     train.OpStats{Calls: 1, Received: 4 * n},
			Barrier:       train.OpStats{Calls: 1},
		}
		if r == 0 {
			want.Broadcast = train.OpStats{Calls: 1, Sent: (N - 1) * 4 * n}
		}
		if s != want {
			t.Errorf("rank %d: stats %+v, want %+v", r, s, want)
		}
	}
}

// TestTCPDeadPeer: a rank that closes its transport in the middle of an
// all-reduce (as a killed process's kernel would) makes every other rank
// fail at once with an error naming it, even while another rank is still
// busy elsewhere; a rank that stops calling makes the others fail after
// OpTimeout, naming it too.
func TestTCPDeadPeer(t *testing.T) {
	cs := tcpGroup(t, 3, nil)
	start := time.Now()
	errs := onEach(cs, func(c *train.TCPCollective) error {
		if c.Rank() == 2 {
			time.Sleep(50 * time.Millisecond)
			return c.Close()
		}
		return c.AllReduce(make([]float32, 1<<16))
	})
	for r, err := range errs[:2] {
		if err == nil || !strings.Contains(err.Error(), "rank 2 closed the connection") {
			t.Errorf("rank %d: a closed peer gave %v", r, err)
		}
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the others took %v to notice", d)
	}
	if err := cs[0].Barrier(); err == nil || !strings.Contains(err.Error(), "broken") {
		t.Errorf("an operation on a broken group gave %v", err)
	}

	// Rank 2 dies while rank 1 is still busy elsewhere (no op timeout):
	// rank 0 gives rank 1 one more second, then fails naming rank 2
	// rather than waiting for rank 1 to arrive.
	cs = tcpGroup(t, 3, nil)
	errs = onEach(cs, func(c *train.TCPCollective) error {
		switch c.Rank() {
		case 1:
			time.Sleep(2500 * time.Millisecond)
		case 2:
			time.Sleep(50 * time.Millisecond)
			return c.Close()
		}
		start := time.Now()
		err := c.AllReduce(make([]float32, 1<<10))
		if d := time.Since(start); c.Rank() == 0 && d > 2*time.Second {
			return fmt.Errorf("rank 0 waited %v for the busy rank: %w", d, err)
		}
		return err
	})
	if err := errs[0]; err == nil || !strings.Contains(err.Error(), "rank 2 closed the connection") || strings.Contains(err.Error(), "waited") {
		t.Errorf("rank 0 with rank 2 dead and rank 1 busy: %v", err)
	}
	if errs[1] == nil {
		t.Error("rank 1, arriving after the group broke, got no error")
	}

	cs = tcpGroup(t, 3, func(c *train.TCPConfig) { c.OpTimeout = 300 * time.Millisecond })
	errs = onEach(cs, func(c *train.TCPCollective) error {
		if c.Rank() == 1 {
			time.Sleep(time.Second) // stuck, its connections open
			return nil
		}
		return c.Barrier()
	})
	for _, r := range []int{0, 2} {
		if err := errs[r]; err == nil || !strings.Contains(err.Error(), "rank 1: nothing for 300ms") {
			t.Errorf("rank %d: a stuck peer gave %v", r, err)
		}
	}
}

// TestTCPRendezvousErrors: a rank with another world size is refused with
// rank 0's reason; a missing rank is named by rank 0; a rank whose rank 0
// never comes gives up in time, naming the address.
func TestTCPRendezvousErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	errs := make([]error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		_, errs[0] = train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 0, Size: 2, Listener: ln, ConnectTimeout: 10 * time.Second})
	})
	wg.Go(func() {
		_, errs[1] = train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 1, Size: 3, Addr: addr, ConnectTimeout: 10 * time.Second})
	})
	wg.Wait()
	for r, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "says the world size is 3, rank 0 says 2") {
			t.Errorf("rank %d: mismatched world sizes gave %v", r, err)
		}
	}

	// Rank 2 of 3 never comes: rank 0 names it, and tells rank 1.
	ln, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = ln.Addr().String()
	wg.Go(func() {
		_, errs[0] = train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 0, Size: 3, Listener: ln, ConnectTimeout: 500 * time.Millisecond})
	})
	wg.Go(func() {
		_, errs[1] = train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 1, Size: 3, Addr: addr, ConnectTimeout: 10 * time.Second})
	})
	wg.Wait()
	if err := errs[0]; err == nil || !strings.Contains(err.Error(), "for ranks [2] to register") {
		t.Errorf("rank 0 without rank 2 gave %v", err)
	}
	if err := errs[1]; err == nil || !strings.Contains(err.Error(), "rank 0 stopped the rendezvous") || !strings.Contains(err.Error(), "ranks [2]") {
		t.Errorf("rank 1 without rank 2 gave %v", err)
	}

	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr = free.Addr().String()
	free.Close()
	start := time.Now()
	_, err = train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 1, Size: 2, Addr: addr, ConnectTimeout: 300 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "could not reach rank 0 at "+addr) {
		t.Errorf("no rank 0 gave %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("giving up took %v", d)
	}
	if _, err := train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 2, Size: 2}); err == nil {
		t.Error("rank 2 of 2 was accepted")
	}
	if _, err := train.NewTCPCollective(context.Background(), train.TCPConfig{Rank: 0, Size: 1e9, Addr: addr}); err == nil || !strings.Contains(err.Error(), "at most 4096") {
		t.Errorf("a world of 1e9 ranks gave %v", err)
	}
}

// The child-process tests run this test binary again as each rank, with
// the rank in childEnv; childMain is what such a child does.
const childEnv = "GPTGO_TCP_COLLECTIVE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

// childMain joins the group named by RANK, WORLD_SIZE, MASTER_ADDR and
// MASTER_PORT and runs the conformance check ("check"), all-reduces until
// it fails ("loop"), or times all-reduces ("bench", GPTGO_BENCH_N floats,
// GPTGO_BENCH_REPS times); it prints "ready" once the group has formed.
// GPTGO_TEST_DEAD_PEER sets the dead-peer timeout.
func childMain() int {
	rank, _ := strconv.Atoi(os.Getenv("RANK"))
	size, _ := strconv.Atoi(os.Getenv("WORLD_SIZE"))
	cfg := train.TCPConfig{Rank: rank, Size: size, Addr: net.JoinHostPort(os.Getenv("MASTER_ADDR"), os.Getenv("MASTER_PORT")), ConnectTimeout: 30 * time.Second}
	cfg.DeadPeerTimeout, _ = time.ParseDuration(os.Getenv("GPTGO_TEST_DEAD_PEER"))
	c, err := train.NewTCPCollective(context.Background(), cfg)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	defer c.Close()
	fmt.Println("ready")
	switch os.Getenv(childEnv) {
	case "check":
		err = collectivetest.Check(c)
	case "loop":
		buf := make([]float32, 1<<16)
		for err == nil {
			err = c.AllReduce(buf)
		}
	case "bench":
		n, _ := strconv.Atoi(os.Getenv("GPTGO_BENCH_N"))
		reps, _ := strconv.Atoi(os.Getenv("GPTGO_BENCH_REPS"))
		var ds []time.Duration
		if ds, err = collectivetest.Time(c, n, reps); err == nil {
			for _, d := range ds {
				fmt.Println("time", d.Seconds())
			}
		}
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// child is one rank's process.
type child struct {
	cmd     *exec.Cmd
	out     strings.Builder // stderr
	rdy     chan struct{}
	done    chan struct{} // closed when the process has exited and its output is in
	err     error         // Wait's, once done is closed
	mu      sync.Mutex
	partial []byte
	lines   []string // stdout after "ready"
}

// Write takes the child's stdout (exec copies it and Wait waits for the
// copy): "ready" closes rdy, the other lines are kept.
func (k *child) Write(p []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.partial = append(k.partial, p...)
	for {
		i := bytes.IndexByte(k.partial, '\n')
		if i < 0 {
			return len(p), nil
		}
		line := string(k.partial[:i])
		k.partial = k.partial[i+1:]
		if line == "ready" {
			close(k.rdy)
		} else {
			k.lines = append(k.lines, line)
		}
	}
}

// startRanks starts size child processes of mode, rank 0 at host:port (an
// address every child can reach), each started through wrap(rank) (nil,
// or a command prefix such as ip netns exec NS), with extra environment.
func startRanks(t *testing.T, size int, mode, host string, port int, wrap func(rank int) []string, env ...string) []*child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ks := make([]*child, size)
	for r := range size {
		argv := []string{exe, "-test.run=^$"}
		if wrap != nil {
			if w := wrap(r); len(w) > 0 && w[len(w)-1] == "-test.run=^$" {
				argv = w // a whole command line: another binary
			} else {
				argv = append(w, argv...)
			}
		}
		k := &child{cmd: exec.Command(argv[0], argv[1:]...), rdy: make(chan struct{}), done: make(chan struct{})}
		k.cmd.Env = append(append(os.Environ(), childEnv+"="+mode, "RANK="+strconv.Itoa(r), "WORLD_SIZE="+strconv.Itoa(size),
			"MASTER_ADDR="+host, "MASTER_PORT="+strconv.Itoa(port)), env...)
		k.cmd.Stderr, k.cmd.Stdout = &k.out, k
		if err := k.cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { k.err = k.cmd.Wait(); close(k.done) }()
		ks[r] = k
		t.Cleanup(func() { k.cmd.Process.Kill(); <-k.done })
	}
	return ks
}

// ready waits until every child has joined the group.
func ready(t *testing.T, ks []*child) {
	t.Helper()
	for r, k := range ks {
		select {
		case <-k.rdy:
		case <-k.done:
			t.Fatalf("rank %d exited before the group formed: %s", r, k.out.String())
		case <-time.After(30 * time.Second):
			t.Fatal("the group did not form within 30 s")
		}
	}
}

// freePort returns a TCP port nobody listens on at the moment.
func freePort(t *testing.T) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitAll waits for every child, at most d, and returns each one's exit
// error.
func waitAll(t *testing.T, ks []*child, d time.Duration) []error {
	t.Helper()
	timeout := time.After(d)
	errs := make([]error, len(ks))
	for r, k := range ks {
		select {
		case <-k.done:
			errs[r] = k.err
		case <-timeout:
			for _, k := range ks {
				k.cmd.Process.Kill()
			}
			t.Fatalf("the ranks did not finish within %v", d)
		}
	}
	return errs
}

// TestTCPProcesses: three processes (each rank its own test binary) pass
// the conformance check; then, with three processes all-reducing in a
// loop, rank 2 is killed (SIGKILL) and the other two exit with an error
// naming rank 2 within seconds.
func TestTCPProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: starts child processes")
	}
	ks := startRanks(t, 3, "check", "127.0.0.1", freePort(t), nil)
	for r, err := range waitAll(t, ks, 60*time.Second) {
		if err != nil {
			t.Errorf("rank %d: %v: %s", r, err, ks[r].out.String())
		}
	}

	ks = startRanks(t, 3, "loop", "127.0.0.1", freePort(t), nil)
	ready(t, ks)
	time.Sleep(100 * time.Millisecond)
	ks[2].cmd.Process.Kill()
	start := time.Now()
	errs := waitAll(t, ks[:2], 10*time.Second)
	for r, err := range errs {
		if err == nil || !strings.Contains(ks[r].out.String(), "rank 2 closed the connection") {
			t.Errorf("rank %d after rank 2 was killed: %v: %s", r, err, ks[r].out.String())
		}
	}
	t.Logf("the others stopped %v after the kill: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(ks[0].out.String()))
}

// TestTCPMixedEndian: rank 1 is a test binary of another byte order (a
// big-endian s390x build under qemu-user), rank 0 this one; both pass the
// conformance check, so the wire format is little-endian on both sides.
// It runs when GPTGO_TCP_FOREIGN_TEST names that binary's command line:
//
//	GOARCH=s390x go test -c -o /tmp/train-s390x.test ./train/
//	GPTGO_TCP_FOREIGN_TEST="qemu-s390x-static /tmp/train-s390x.test" go test ./train/ -run TestTCPMixedEndian
func TestTCPMixedEndian(t *testing.T) {
	foreign := strings.Fields(os.Getenv("GPTGO_TCP_FOREIGN_TEST"))
	if len(foreign) == 0 {
		t.Skip("set GPTGO_TCP_FOREIGN_TEST to a test binary of another byte order (see the comment)")
	}
	ks := startRanks(t, 2, "check", "127.0.0.1", freePort(t), func(r int) []string {
		if r == 1 {
			return append(foreign, "-test.run=^$")
		}
		return nil
	})
	for r, err := range waitAll(t, ks, 5*time.Minute) {
		if err != nil {
			t.Errorf("rank %d: %v: %s", r, err, ks[r].out.String())
		}
	}
}
