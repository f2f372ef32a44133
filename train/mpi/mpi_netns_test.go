// Reference: ip-netns(8), veth(4) and a Linux bridge for two "hosts" on one kernel; Open MPI 4.1 mpirun(1)
// (--host, plm_rsh_agent: the command that starts the daemon on another host; btl tcp; oob/btl_tcp_if_include).

//go:build mpi && linux

package mpi

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestMPIAcrossNamespaces: mpirun starts one rank in each of two network
// namespaces ("hosts" 10.233.0.1 and 10.233.0.2 on a bridge, which also
// holds mpirun's side at 10.233.0.254), through an rsh agent that enters
// the namespace instead of ssh, and the ranks talk over TCP (btl tcp, no
// shared memory); both pass the conformance check. It skips, saying why,
// where namespaces cannot be made.
func TestMPIAcrossNamespaces(t *testing.T) {
	if world != nil {
		t.Skip("already a rank under mpirun")
	}
	if testing.Short() {
		t.Skip("-short: starts mpirun across network namespaces")
	}
	if _, err := exec.LookPath("mpirun"); err != nil {
		t.Skip("mpirun is not installed")
	}
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root")
	}
	ip, err := exec.LookPath("ip")
	if err != nil {
		t.Skip("no ip command (iproute2) for network namespaces")
	}
	run := func(args ...string) error {
		if out, err := exec.Command(ip, args...).CombinedOutput(); err != nil {
			return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	tag := fmt.Sprintf("%x", os.Getpid()&0xffffff)
	br := "gm" + tag + "br"
	if err := run("link", "add", br, "type", "bridge"); err != nil {
		t.Skipf("cannot make a bridge here: %v", err)
	}
	t.Cleanup(func() { run("link", "del", br) })
	ns := [2]string{"gptgo-mpi-" + tag + "-a", "gptgo-mpi-" + tag + "-b"}
	addr := [2]string{"10.233.0.1", "10.233.0.2"}
	steps := [][]string{{"addr", "add", "10.233.0.254/24", "dev", br}, {"link", "set", br, "up"}}
	for h := range 2 {
		if err := run("netns", "add", ns[h]); err != nil {
			t.Skipf("cannot make a network namespace here: %v", err)
		}
		t.Cleanup(func() { run("netns", "del", ns[h]) })
		outer, inner := fmt.Sprintf("gm%s%d", tag, 2*h), fmt.Sprintf("gm%s%d", tag, 2*h+1)
		steps = append(steps,
			[]string{"link", "add", outer, "type", "veth", "peer", "name", inner},
			[]string{"link", "set", inner, "netns", ns[h]},
			[]string{"link", "set", outer, "master", br, "up"},
			[]string{"-n", ns[h], "addr", "add", addr[h] + "/24", "dev", inner},
			[]string{"-n", ns[h], "link", "set", inner, "up"},
			[]string{"-n", ns[h], "link", "set", "lo", "up"})
	}
	for _, s := range steps {
		if err := run(s...); err != nil {
			t.Fatal(err)
		}
	}
	// The rsh agent: "ssh host command" becomes "ip netns exec NS command",
	// with a session directory per "host" (both have this machine's name).
	dir := t.TempDir()
	agent := filepath.Join(dir, "nsrsh")
	script := fmt.Sprintf(`#!/bin/sh
host=$1; shift
case $host in %s) ns=%s;; %s) ns=%s;; *) echo "nsrsh: unknown host $host" >&2; exit 1;; esac
mkdir -p %s/$ns
exec %s netns exec $ns env OMPI_MCA_orte_tmpdir_base=%s/$ns sh -c "$*"
`, addr[0], ns[0], addr[1], ns[1], dir, ip, dir)
	if err := os.WriteFile(agent, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	out, err := mpirun(t, 2, "^TestRank(Conformance|Where)$", []string{"GPTGO_MPI_WHERE=1"},
		"--host", addr[0]+":1,"+addr[1]+":1", "--mca", "plm_rsh_agent", agent, "--mca", "btl", "tcp,self",
		"--mca", "btl_tcp_if_include", "10.233.0.0/24", "--mca", "oob_tcp_if_include", "10.233.0.0/24", "-x", "GPTGO_MPI_WHERE")
	if err != nil || strings.Count(out, "PASS") < 2 {
		t.Fatalf("mpirun across namespaces: %v\n%s", err, out)
	}
	for r, a := range addr {
		if want := fmt.Sprintf("rank %d at %s", r, a); !strings.Contains(out, want) {
			t.Errorf("no %q in the ranks' output:\n%s", want, out)
		}
	}
}

// TestRankWhere prints this rank's 10.233.0.x address, so that
// TestMPIAcrossNamespaces can see each rank ran in its own namespace.
func TestRankWhere(t *testing.T) {
	c := rank(t)
	if os.Getenv("GPTGO_MPI_WHERE") == "" {
		t.Skip("TestMPIAcrossNamespaces sets GPTGO_MPI_WHERE")
	}
	out, err := exec.Command("ip", "-o", "-4", "addr", "show").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "10.233.0.") && !strings.HasPrefix(f, "10.233.0.254") {
			fmt.Printf("rank %d at %s\n", c.Rank(), strings.Split(f, "/")[0])
		}
	}
}
