package rag

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// killDoc is version v of document i, the same text in parent and child.
func killDoc(i, v int) (string, []byte) {
	words := []string{"river", "mountain", "forest", "desert", "ocean", "valley", "glacier", "meadow", "canyon", "island"}
	var b strings.Builder
	fmt.Fprintf(&b, "# Report %d\n\n", i)
	for p := range 3 + (i+v)%4 {
		fmt.Fprintf(&b, "Paragraph %d of report %d version %d talks about the %s and the %s near site%d.\n\n",
			p, i, v, words[(i+p)%10], words[(i*3+v+p)%10], i*7+p)
	}
	return fmt.Sprintf("doc%02d.md", i), []byte(b.String())
}

// killOps is the child's sequence in a round: puts, re-puts of changed
// versions, removals; versions alternate between rounds, so that every
// round rewrites every document.
func killOps(round int) []string {
	var ops []string
	for i := range 30 {
		ops = append(ops, fmt.Sprintf("put %d %d", i, round%2))
		if i%5 == 4 {
			ops = append(ops, fmt.Sprintf("put %d %d", i-2, (round+1)%2))
		}
		if i%7 == 6 {
			ops = append(ops, fmt.Sprintf("rm %d", i-3))
		}
	}
	return ops
}

func killOptions() Options {
	// a small snapshot threshold, so that kills also land in snapshots
	return Options{Embedder: HashEmbedder{D: 32}, HNSW: HNSWConfig{M: 4, EfConstruction: 20, Seed: 7}, SnapshotBytes: 24 << 10}
}

// TestKillChild is the ingesting process of TestKillIngest; it runs only
// when that test starts it. It prints "begin OP" before and "ack OP" after
// each operation is durable.
func TestKillChild(t *testing.T) {
	dir := os.Getenv("GPTGO_RAG_KILL_DIR")
	if dir == "" {
		t.Skip("the child process of TestKillIngest")
	}
	ctx := context.Background()
	s, err := OpenDir(dir, killOptions())
	if err != nil {
		fmt.Println("error", err)
		os.Exit(3)
	}
	in := &Ingester{Store: s, Embedder: HashEmbedder{D: 32}, Splitter: Splitter{Max: 24}, Now: fixedNow}
	round, _ := strconv.Atoi(os.Getenv("GPTGO_RAG_KILL_ROUND"))
	for _, op := range killOps(round) {
		fmt.Println("begin", op)
		f := strings.Fields(op)
		i, _ := strconv.Atoi(f[1])
		if f[0] == "put" {
			v, _ := strconv.Atoi(f[2])
			src, b := killDoc(i, v)
			if r := in.IngestBytes(ctx, src, b); r.Err != nil {
				fmt.Println("error", r.Err)
				os.Exit(3)
			}
		} else {
			src, _ := killDoc(i, 0)
			if _, err := s.Remove(ctx, DocID(src)); err != nil {
				fmt.Println("error", err)
				os.Exit(3)
			}
		}
		fmt.Println("ack", op)
	}
	fmt.Println("done")
	select {} // wait to be killed
}

// TestKillIngest kills an ingesting child with SIGKILL at twenty random
// points; after each, reopening the store must show every acknowledged
// operation (the one in flight may or may not have landed), the files must
// verify, and every search must equal a store rebuilt from scratch from
// the recovered documents' files.
func TestKillIngest(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 20 processes")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip("no test executable: ", err)
	}
	rng := rand.New(rand.NewPCG(22, 22))
	dir := t.TempDir()
	ctx := context.Background()
	// state[src] = version present (-1 absent), after the acknowledged ops
	acked := map[string]int{}
	torn := 0
	for round := range 20 {
		cmd := exec.Command(exe, "-test.run=^TestKillChild$", "-test.count=1")
		cmd.Env = append(os.Environ(), "GPTGO_RAG_KILL_DIR="+dir, fmt.Sprintf("GPTGO_RAG_KILL_ROUND=%d", round))
		ops := killOps(round)
		out, _ := cmd.StdoutPipe()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// kill after a random number of acknowledgements plus a random
		// delay, so that the kill lands anywhere in an operation
		killAt := rng.IntN(len(ops))
		delay := time.Duration(rng.IntN(3000)) * time.Microsecond
		sc := bufio.NewScanner(out)
		inflight := ""
		acks := 0
		for sc.Scan() {
			line := sc.Text()
			if op, ok := strings.CutPrefix(line, "begin "); ok {
				inflight = op
			} else if op, ok := strings.CutPrefix(line, "ack "); ok {
				applyOp(acked, op)
				inflight = ""
				if acks++; acks >= killAt {
					break
				}
			} else if strings.HasPrefix(line, "error") {
				t.Fatalf("round %d: child: %s", round, line)
			} else if line == "done" {
				break
			}
		}
		time.Sleep(delay)
		// read what else arrived before the kill (lines already written)
		cmd.Process.Signal(syscall.SIGKILL)
		for sc.Scan() {
			line := sc.Text()
			if op, ok := strings.CutPrefix(line, "begin "); ok {
				inflight = op
			} else if op, ok := strings.CutPrefix(line, "ack "); ok {
				applyOp(acked, op)
				inflight = ""
			}
		}
		cmd.Wait()
		t.Logf("round %d: killed after %d acks, in flight %q, %d acknowledged documents", round, acks, inflight, len(acked))

		if Verify(dir) != nil {
			torn++ // the kill cut a frame: OpenDir must repair it
		}
		s, err := OpenDir(dir, killOptions())
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		if err := Verify(dir); err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		got := map[string]int{}
		for _, d := range s.List() {
			got[d.Source] = versionOf(t, d)
		}
		alt := map[string]int{}
		for k, v := range acked {
			alt[k] = v
		}
		if inflight != "" {
			applyOp(alt, inflight)
		}
		if !sameState(got, acked) && !sameState(got, alt) {
			t.Fatalf("round %d (killed after %d acks, in flight %q): store %v, acknowledged %v", round, acks, inflight, got, acked)
		}
		acked = got // the in-flight operation's fate is now known
		// fresh rebuild from the recovered documents' files, in reverse order
		fresh := t.TempDir()
		f, err := OpenDir(fresh, killOptions())
		if err != nil {
			t.Fatal(err)
		}
		in := &Ingester{Store: f, Embedder: HashEmbedder{D: 32}, Splitter: Splitter{Max: 24}, Now: fixedNow}
		list := s.List()
		for i := len(list) - 1; i >= 0; i-- {
			var n int
			fmt.Sscanf(list[i].Source, "doc%02d.md", &n)
			src, b := killDoc(n, got[list[i].Source])
			in.IngestBytes(ctx, src, b)
		}
		f.Close()
		f, _ = OpenDir(fresh, killOptions())
		for _, q := range []string{"river forest", "report 12 glacier", "site99 canyon", "meadow island version 1"} {
			for _, m := range []Mode{BM25, Dense, Hybrid} {
				a, _ := s.Search(ctx, Query{Text: q, K: 8, Mode: m})
				b, _ := f.Search(ctx, Query{Text: q, K: 8, Mode: m})
				if !sameResults(a, b) {
					t.Fatalf("round %d: %s %q: recovered %v, rebuilt %v", round, m, q, ids(a), ids(b))
				}
			}
		}
		f.Close()
		s.Close()
	}
	if _, err := os.Stat(dir + "/" + snapshotFile); err != nil {
		t.Errorf("no snapshot was written during the rounds: %v", err)
	}
	t.Logf("%d of 20 kills left a torn log tail", torn)
}

func applyOp(state map[string]int, op string) {
	f := strings.Fields(op)
	i, _ := strconv.Atoi(f[1])
	src, _ := killDoc(i, 0)
	if f[0] == "put" {
		v, _ := strconv.Atoi(f[2])
		state[src] = v
	} else {
		delete(state, src)
	}
}

func versionOf(t *testing.T, d *Document) int {
	var n int
	fmt.Sscanf(d.Source, "doc%02d.md", &n)
	for v := range 2 {
		if _, b := killDoc(n, v); FileHash(b) == d.Hash {
			return v
		}
	}
	t.Fatalf("%s: hash %s matches no version", d.Source, d.Hash)
	return -1
}

func sameState(a, b map[string]int) bool { return reflect.DeepEqual(a, b) }

func sameResults(a, b []Result) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Chunk.ID != b[i].Chunk.ID || a[i].Chunk.Text != b[i].Chunk.Text || a[i].Score != b[i].Score {
			return false
		}
	}
	return true
}

func ids(rs []Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, fmt.Sprintf("%s(%.4g)", r.Chunk.ID, r.Score))
	}
	return out
}
