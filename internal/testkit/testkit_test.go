package testkit

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestClose(t *testing.T) {
	if !Close(1.0, 1.0005, 0, 1e-3) || Close(1.0, 1.01, 0, 1e-3) || Close(0, 1e-3, 1e-4, 0) {
		t.Fatal("Close gives the wrong verdict")
	}
}

func TestNMSE(t *testing.T) {
	if got := NMSE([]float32{1, 2}, []float32{1, 2}); got != 0 {
		t.Fatalf("NMSE of equal = %v", got)
	}
	if got := NMSE([]float64{0, 3}, []float64{0, 4}); got != 1.0/16 {
		t.Fatalf("NMSE = %v, want 1/16", got)
	}
}

func TestGuards(t *testing.T) {
	s, full := Guarded(5, 3)
	s[0], s[4] = 1, 2
	CheckGuards(t, full, 5, 3)
	if len(s) != 5 || cap(s) != 5 {
		t.Fatalf("len %d cap %d", len(s), cap(s))
	}
}

// ReadJSONL returns the lines in order and fails, naming file and line, on
// a line that does not decode.
func TestReadJSONL(t *testing.T) {
	type rec struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	dir := t.TempDir()
	good := filepath.Join(dir, "good.jsonl")
	if err := os.WriteFile(good, []byte("{\"a\":1,\"b\":\"x\"}\n{\"a\":2}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got := ReadJSONL[rec](t, good)
	if len(got) != 2 || got[0] != (rec{1, "x"}) || got[1] != (rec{A: 2}) {
		t.Fatalf("got %+v", got)
	}
	bad := filepath.Join(dir, "bad.jsonl")
	if err := os.WriteFile(bad, []byte("{\"a\":1}\n{\"a\":\"no\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rt := &recordingTB{TB: t}
	func() {
		defer func() { recover() }()
		ReadJSONL[rec](rt, bad)
	}()
	if !strings.Contains(rt.msg, "bad.jsonl:2:") {
		t.Fatalf("failure %q does not name bad.jsonl:2", rt.msg)
	}
}

// recordingTB keeps the message of a Fatal/Fatalf and stops the helper with
// a panic the test recovers, so a failure path can be checked.
type recordingTB struct {
	testing.TB
	msg string
}

func (r *recordingTB) Fatalf(format string, args ...any) {
	r.msg = fmt.Sprintf(format, args...)
	panic(r)
}

func (r *recordingTB) Fatal(args ...any) {
	r.msg = fmt.Sprint(args...)
	panic(r)
}
