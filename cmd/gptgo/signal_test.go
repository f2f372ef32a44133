package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// startSignalChild runs `gptgo args...` as a child process (startChild)
// that stops at the env.at point containing point until it gets a signal.
func startSignalChild(t *testing.T, point string, args ...string) (*exec.Cmd, *syncBuffer) {
	t.Helper()
	t.Setenv(signalEnv, point)
	return startChild(t, "", args...)
}

// signalAt waits for the child to reach its point, sends sig, and returns
// its exit status; it fails if the child does not end within seconds.
func signalAt(t *testing.T, cmd *exec.Cmd, errb *syncBuffer, sig os.Signal) int {
	t.Helper()
	waitFor(t, 60*time.Second, "the child to reach its point", func() bool { return strings.Contains(errb.String(), "reached ") })
	if err := cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				t.Fatalf("the child died of %v instead of handling it; stderr:\n%s", ws.Signal(), errb.String())
			}
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	case <-time.After(20 * time.Second):
		t.Fatalf("the child ignored %v for 20 s; stderr:\n%s", sig, errb.String())
	}
	return -1
}

// dirNames lists the names in dir, hidden ones included.
func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

var smallInit = []string{"--dim", "64", "--layers", "4", "--heads", "4", "--ff", "128", "--vocab", "256"}

// init stops between tensors on SIGTERM or Ctrl-C and leaves no temporary
// file (#16 item 3).
func TestInitStopsOnSignal(t *testing.T) {
	for _, sig := range []os.Signal{syscall.SIGTERM, os.Interrupt} {
		dir := t.TempDir()
		out := filepath.Join(dir, "out.gguf")
		cmd, errb := startSignalChild(t, "init: wrote tensor 3 of", append([]string{"init", out, "--quiet"}, smallInit...)...)
		code := signalAt(t, cmd, errb, sig)
		if code != 1 || !strings.Contains(errb.String(), "interrupted; "+out+" was not written") {
			t.Errorf("%v: exit %d, stderr %q", sig, code, errb.String())
		}
		if names := dirNames(t, dir); len(names) != 0 {
			t.Errorf("%v: left %v", sig, names)
		}
	}
}

// quantize likewise, leaving only its input.
func TestQuantizeStopsOnSignal(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.gguf")
	if _, errOut, code := runCLI(t, "", append([]string{"init", in, "--type", "f32", "--quiet"}, smallInit...)...); code != 0 {
		t.Fatalf("init: %s", errOut)
	}
	for _, sig := range []os.Signal{os.Interrupt, syscall.SIGTERM} {
		out := filepath.Join(dir, "out.gguf")
		cmd, errb := startSignalChild(t, "quantize: wrote tensor 2 of", "quantize", in, out, "Q8_0", "--quiet")
		code := signalAt(t, cmd, errb, sig)
		if code != 1 || !strings.Contains(errb.String(), "interrupted; "+out+" was not written") {
			t.Errorf("%v: exit %d, stderr %q", sig, code, errb.String())
		}
		if names := dirNames(t, dir); len(names) != 1 || names[0] != "in.gguf" {
			t.Errorf("%v: directory holds %v", sig, names)
		}
	}
}

// run (and tokenize, logits) waiting for text on a stdin that never ends
// (a terminal, here a pipe kept open) give up on Ctrl-C.
func TestStdinReadStopsOnSignal(t *testing.T) {
	for _, args := range [][]string{{"run", "-n", "1"}, {"tokenize"}} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		errb := &syncBuffer{}
		cmd := &exec.Cmd{Path: os.Args[0], Args: append([]string{os.Args[0]}, args...), Stdin: r, Stderr: errb,
			Env: append(os.Environ(), helperEnv+"=1", signalEnv+"=reading the prompt from stdin")}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		r.Close() // the child holds its own copy
		code := signalAt(t, cmd, errb, os.Interrupt)
		w.Close()
		if code != 1 || !strings.Contains(errb.String(), "interrupted while reading the prompt from stdin") {
			t.Errorf("%v: exit %d, stderr %q", args, code, errb.String())
		}
	}
}

// A temporary file left by a run killed outright (SIGKILL: no handler runs)
// is removed and reported by the next run writing the same output, and
// only that output's; init says what it writes and draws its progress.
func TestInitCleansStaleTempAndShowsProgress(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out.gguf")
	other := filepath.Join(dir, ".other.gguf.tmp-1234")
	if err := os.WriteFile(other, make([]byte, 1000), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd, errb := startChild(t, "init: wrote tensor 3 of", append([]string{"init", out, "--quiet"}, smallInit...)...)
	waitFor(t, 60*time.Second, "the child to stall", func() bool { return strings.Contains(errb.String(), "stalled at") })
	kill(t, cmd)
	stale, _ := filepath.Glob(filepath.Join(dir, ".out.gguf.tmp-*"))
	if len(stale) != 1 {
		t.Fatalf("after SIGKILL: temp files %v, want one", stale)
	}
	_, errOut, code := runCLI(t, "", append([]string{"init", out}, smallInit...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if _, err := os.Stat(stale[0]); err == nil || !strings.Contains(errOut, "removed "+stale[0]) {
		t.Errorf("stale temp file kept; stderr %q", errOut)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("another output's temp file was removed: %v", err)
	}
	if !strings.Contains(errOut, "writing "+out+": about ") || !strings.Contains(errOut, "100%") {
		t.Errorf("no size or progress on stderr: %q", errOut)
	}
}

// A shape whose file would not fit is refused before a byte is written.
func TestInitRefusesHugeFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "huge.gguf")
	_, errOut, code := runCLI(t, "", "init", out, "--dim", "16384", "--layers", "128", "--heads", "128", "--ff", "53248", "--vocab", "32000")
	if code != 1 || !strings.Contains(errOut, "would take about") || !strings.Contains(errOut, "--force") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("left %v", names)
	}
	if free, ok := freeBytes(out); ok {
		if err := checkInitSize(out, free+1, false); err == nil || !strings.Contains(err.Error(), "free there") {
			t.Errorf("a file larger than the free space: %v", err)
		}
	}
}
