// Reference: the first-hour polish issue (#16 item 2): `gptgo run "hi" --repeat-penalty NaN` panicked in
// generate.(*Sampler).Sample; every sampler and size flag is validated, naming the flag.

package main

import (
	"strings"
	"testing"
)

// TestBadSamplerFlagsNameTheFlag: each value that cannot mean anything is
// refused before the model loads, with the flag named, by run and chat
// alike; none panics.
func TestBadSamplerFlagsNameTheFlag(t *testing.T) {
	cases := [][]string{
		{"--repeat-penalty", "NaN"},
		{"--presence-penalty", "NaN"},
		{"--frequency-penalty", "NaN"},
		{"--temp", "NaN"},
		{"--temp", "-1"},
		{"--top-k", "-1"},
		{"--top-p", "1.5"},
		{"--min-p", "NaN"},
		{"--repeat-last-n", "-2"},
		{"-n", "-2"},
		{"-n", "0"},
		{"--threads", "-1"},
		{"--batch", "0"},
		{"--ctx", "-5"},
	}
	for _, verb := range []string{"run", "chat"} {
		for _, c := range cases {
			args := []string{verb}
			if verb == "run" {
				args = append(args, "hi")
			}
			args = append(args, append(c, "--seed", "1")...)
			_, stderr, code := runCLI(t, "hello\n", args...)
			if code == 0 || !strings.Contains(stderr, c[0]+" ") || strings.Contains(stderr, "panic") {
				t.Errorf("%s %v: exit %d, stderr %q; want an error naming %s", verb, c, code, stderr, c[0])
			}
		}
	}
}

// TestExplicitUntilFull: -n -1 and --repeat-last-n -1 are the documented
// "until the context is full" and "whole history", not errors.
func TestExplicitUntilFull(t *testing.T) {
	_, stderr, code := runCLI(t, "", "run", "ROMEO:", "-n", "-1", "--repeat-last-n", "-1", "--repeat-penalty", "1.1", "--ctx", "32", "--seed", "1")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
}
