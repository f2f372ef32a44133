//go:build beam

package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"
)

// TestDataRunBeam: `data run --runner beam` on prism writes what the local
// runner writes, docs.jsonl and the token shards byte for byte; a bad input
// file fails with the reader's error; an unknown Beam option is refused.
func TestDataRunBeam(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 30 {
		text := fmt.Sprintf("Document %d tells of the river that runs past the old mill and under the stone bridge, "+
			"and of the baker who opens his shop at six and sells warm bread to the people of the town. "+
			"The committee will meet again next week to discuss the budget for the new library, and the children walk to school. "+
			"Contact clerk%d@example.org for the minutes of the meeting held on day %d of the month.\n", i%20, i, i*7%31)
		lines = append(lines, `{"id":"d`+fmt.Sprint(i)+`","text":`+jsonString(text)+`}`)
	}
	os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(strings.Join(lines, "\n")+"\n"), 0o644)
	vocab, _ := filepath.Abs("../../models/default.gguf")
	config := func(name, input string) string {
		p := filepath.Join(dir, name+".json")
		os.WriteFile(p, []byte(`{"inputs":["`+input+`"],"output":"`+name+`","stages":["exact_dedup","language","quality","minhash","pii","tokenize"],`+
			`"tokenize":{"vocab":`+jsonString(vocab)+`,"max_shard_tokens":500}}`), 0o644)
		return p
	}
	if _, errOut, code := runCLI(t, "", "data", "run", config("local", "in.jsonl"), "--quiet"); code != 0 {
		t.Fatalf("local: exit %d: %s", code, errOut)
	}
	stdout, errOut, code := runCLI(t, "", "data", "run", config("beam", "in.jsonl"), "--runner", "beam", "--quiet")
	if code != 0 {
		t.Fatalf("beam: exit %d: %s", code, errOut)
	}
	if !strings.Contains(stdout, "near_duplicate") || !strings.Contains(stdout, "wrote ") {
		t.Errorf("summary lacks the near duplicates or the outputs:\n%s", stdout)
	}
	shards, _ := filepath.Glob(filepath.Join(dir, "local", "shards", "*.tok"))
	if len(shards) < 2 {
		t.Fatalf("%d local shards, want several", len(shards))
	}
	for _, f := range append(shards, filepath.Join(dir, "local", "docs.jsonl")) {
		rel, _ := filepath.Rel(filepath.Join(dir, "local"), f)
		a, _ := os.ReadFile(f)
		b, err := os.ReadFile(filepath.Join(dir, "beam", rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: beam's differs from local's (%d and %d bytes, %v)", rel, len(a), len(b), err)
		}
	}

	os.WriteFile(filepath.Join(dir, "bad.jsonl"), []byte(`{"id":"x","text":"ok"}`+"\n"+"{not json\n"), 0o644)
	if _, errOut, code := runCLI(t, "", "data", "run", config("bad", "bad.jsonl"), "--runner", "beam", "--quiet"); code != 1 || !strings.Contains(errOut, "bad.jsonl: line 2") {
		t.Errorf("bad input: exit %d, stderr %q", code, errOut)
	}
	if _, errOut, code := runCLI(t, "", "data", "run", config("opt", "in.jsonl"), "--runner", "beam", "--beam-opt", "no_such_option=1"); code != 1 || !strings.Contains(errOut, `Beam has no option "no_such_option"`) {
		t.Errorf("unknown Beam option: exit %d, stderr %q", code, errOut)
	}
}

// TestBeamBuildLinksBeam is TestDefaultBuildLinksNoBeam's other half: with
// -tags beam the SDK is linked, so that test's check can fail.
func TestBeamBuildLinksBeam(t *testing.T) {
	bi, ok := debug.ReadBuildInfo()
	if !ok || len(bi.Deps) == 0 {
		t.Skip("skipping: this test binary carries no module information")
	}
	for _, d := range bi.Deps {
		if d.Path == "github.com/apache/beam/sdks/v2" {
			return
		}
	}
	t.Fatal("the beam build does not list github.com/apache/beam/sdks/v2")
}
