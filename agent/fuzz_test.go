package agent

import (
	"bytes"
	"testing"
)

// FuzzCalc: any expression gives a value or an error, never a panic, and
// within the bounds (a hang would time the fuzzer out).
func FuzzCalc(f *testing.F) {
	for _, s := range []string{"1+2*3", "(1/3)^-2", "2^4096", "1e4096^2", "((((1))))", "-+-1.5e-3", "0^0", "9^9^9", "1/0", "."} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if v, err := Calc(s); err == nil {
			_ = FormatRat(v)
		}
	})
}

// FuzzReadTranscript: any file gives a state or an error naming it.
func FuzzReadTranscript(f *testing.F) {
	f.Add([]byte(`{"type":"start","task":"t"}` + "\n" + `{"type":"message","message":{"role":"user","content":"t"}}` + "\n" +
		`{"type":"summary","from":0,"to":1,"message":{"role":"user","content":"s"}}` + "\n" + `{"type":"call","call":{"name":"x","arguments":[1]}}`))
	f.Add([]byte(`{"type":"summary","from":5,"to":2}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, err := ReadTranscript(bytes.NewReader(b), "f")
		if err == nil && st == nil {
			t.Fatal("nil state without an error")
		}
	})
}

// FuzzParseReAct: any model text parses to an answer, calls or an error.
func FuzzParseReAct(f *testing.F) {
	f.Add("Thought: x\nAction: {\"name\": \"a\", \"arguments\": {}}\nAction: {\"name\": \"b\"}")
	f.Add("Thought: x\nFinal Answer: y\nAction: {")
	f.Add("Action:")
	f.Fuzz(func(t *testing.T, s string) {
		_, calls, err := parseReAct(s)
		for _, c := range calls {
			if err == nil && c.Name == "" {
				t.Fatalf("a call without a name from %q", s)
			}
		}
	})
}
