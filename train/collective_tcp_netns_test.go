// Reference: ip-netns(8) and veth(4): two network namespaces joined by a veth pair stand for two hosts on
// one link, each with its own address, routes and loopback.

//go:build linux

package train_test

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// netnsSeq tells apart the namespaces of several tests in one process.
var netnsSeq int

// netnsHosts makes two namespaces ("hosts") joined by a veth pair, at
// 10.231.0.1 and 10.231.0.2, removed when the test ends; it skips, saying
// why, where that is not allowed (not root, no iproute2, a sandbox without
// CAP_SYS_ADMIN).
func netnsHosts(t *testing.T) (ns, addr [2]string, link [2]string) {
	t.Helper()
	if testing.Short() {
		t.Skip("-short: starts child processes in network namespaces")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip command (iproute2) for network namespaces")
	}
	netnsSeq++
	tag := fmt.Sprintf("%x%x", os.Getpid()&0xffffff, netnsSeq)
	ns = [2]string{"gptgo-" + tag + "-a", "gptgo-" + tag + "-b"}
	link = [2]string{"gg" + tag + "a", "gg" + tag + "b"}
	addr = [2]string{"10.231.0.1", "10.231.0.2"}
	run := func(args ...string) error {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := run("netns", "add", ns[0]); err != nil {
		t.Skipf("cannot make a network namespace here: %v", err)
	}
	t.Cleanup(func() { run("netns", "del", ns[0]) })
	if err := run("netns", "add", ns[1]); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { run("netns", "del", ns[1]) }) // deleting a namespace deletes its end of the veth, and so both
	steps := [][]string{
		{"link", "add", link[0], "type", "veth", "peer", "name", link[1]},
		{"link", "set", link[0], "netns", ns[0]},
		{"link", "set", link[1], "netns", ns[1]},
	}
	for h := range 2 {
		steps = append(steps,
			[]string{"-n", ns[h], "addr", "add", addr[h] + "/24", "dev", link[h]},
			[]string{"-n", ns[h], "link", "set", link[h], "up"},
			[]string{"-n", ns[h], "link", "set", "lo", "up"})
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			t.Fatal(err)
		}
	}
	return ns, addr, link
}

// TestTCPAcrossNamespaces: four ranks on two "hosts" (ranks 0 and 1 in one
// namespace, 2 and 3 in the other, rank 0 at 10.231.0.1) pass the
// conformance check. Then, with the four all-reducing in a loop, host b's
// link goes down: no FIN, no RST, the packets are just lost, and every
// rank fails within a few dead-peer timeouts (2 s here). On each host the
// first rank to fail names a rank on the other host; its neighbour may
// instead see that first rank exit (a same-host connection closed), which
// is the right error for it to report, so either is accepted for a rank,
// but each host must have one rank that names the other side.
func TestTCPAcrossNamespaces(t *testing.T) {
	ns, addr, link := netnsHosts(t)
	wrap := func(r int) []string { return []string{"ip", "netns", "exec", ns[r/2]} }
	ks := startRanks(t, 4, "check", addr[0], 29517, wrap)
	for r, err := range waitAll(t, ks, 60*time.Second) {
		if err != nil {
			t.Errorf("rank %d: %v: %s", r, err, ks[r].out.String())
		}
	}

	ks = startRanks(t, 4, "loop", addr[0], 29518, wrap, "GPTGO_TEST_DEAD_PEER=2s")
	ready(t, ks)
	time.Sleep(200 * time.Millisecond)
	if out, err := exec.Command("ip", "-n", ns[1], "link", "set", link[1], "down").CombinedOutput(); err != nil {
		t.Fatalf("link down: %v: %s", err, out)
	}
	start := time.Now()
	errs := waitAll(t, ks, 20*time.Second)
	var across [2]bool
	for r, err := range errs {
		h := r / 2
		msg := ks[r].out.String()
		far := []string{"rank 2", "rank 3"}
		near := fmt.Sprintf("rank %d closed the connection", r^1)
		if h == 1 {
			far = []string{"rank 0", "rank 1"}
		}
		switch {
		case err != nil && (strings.Contains(msg, far[0]) || strings.Contains(msg, far[1])):
			across[h] = true
		case err != nil && strings.Contains(msg, near):
			// its neighbour failed first and exited
		default:
			t.Errorf("rank %d after the partition: %v: %s", r, err, msg)
		}
	}
	for h, ok := range across {
		if !ok {
			t.Errorf("no rank on host %c named a rank on the other host: %s | %s", 'a'+h, ks[2*h].out.String(), ks[2*h+1].out.String())
		}
	}
	t.Logf("all four stopped %v after the link went down; rank 0: %s", time.Since(start).Round(time.Millisecond), strings.TrimSpace(ks[0].out.String()))
}
