// Reference: the Go standard library's os/exec tests (TestHelperProcess): the test binary re-executed as the command.

package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// helperEnv, when "1" in the environment, makes the test binary run as the
// gptgo command line (os.Args[1:]) instead of running tests, so that a
// test can start gptgo as a child process and kill it.
const helperEnv = "GPTGO_TEST_MAIN"

// stallEnv names a string: the child stops (sleeps, so the process stays
// alive) at the first stderr write or env.at point that contains it, which
// pins the point where a test's kill lands.
const stallEnv = "GPTGO_TEST_STALL_AT"

// signalEnv names a point: the child says "reached POINT" on stderr at the
// first env.at point that contains it and waits there until its context is
// cancelled (SIGINT, SIGTERM), so that a test's signal lands exactly there
// and the command's own handling of it is what the test sees.
const signalEnv = "GPTGO_TEST_SIGNAL_AT"

func TestMain(m *testing.M) {
	if os.Getenv(helperEnv) == "1" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		e := &env{stdin: os.Stdin, stdout: os.Stdout, stderr: os.Stderr}
		if at := os.Getenv(stallEnv); at != "" {
			e.stderr = &stallAt{at: at}
			e.hook = func(point string) {
				if strings.Contains(point, at) {
					fmt.Fprintf(os.Stderr, "stalled at %s\n", point)
					time.Sleep(2 * time.Minute)
				}
			}
		}
		if at := os.Getenv(signalEnv); at != "" {
			var once sync.Once
			e.hook = func(point string) {
				if strings.Contains(point, at) {
					once.Do(func() {
						fmt.Fprintf(os.Stderr, "reached %s\n", point)
						select {
						case <-ctx.Done():
						case <-time.After(time.Minute):
						}
					})
				}
			}
		}
		code := runMain(ctx, e, os.Args[1:])
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// stallAt passes writes on to os.Stderr until one contains at, then
// sleeps in that write (bounded, in case the parent test dies first).
type stallAt struct {
	mu sync.Mutex
	at string
}

func (s *stallAt) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := os.Stderr.Write(p)
	if strings.Contains(string(p), s.at) {
		time.Sleep(2 * time.Minute)
	}
	return n, err
}
