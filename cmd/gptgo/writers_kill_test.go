// Reference: issue #29 ("a test kills writers at random points and checks that every file is either the old
// version, the new one, or absent — never torn — and that temp files are cleaned on the next run"); POSIX rename(2).

package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gptgo/gptgo/data"
)

// killRounds is how many random points each writer is killed at.
const killRounds = 20

// killWriter is one command that writes files, run as a child and killed.
type killWriter struct {
	name string
	// args are the command's arguments; dir is its output directory.
	args func(dir string) []string
	// check inspects dir after a kill: every file whole (or absent).
	check func(t *testing.T, dir string) error
}

// runChild runs the test binary as `gptgo args...` to the end.
func runChild(t *testing.T, args ...string) (time.Duration, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), helperEnv+"=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	start := time.Now()
	if err := cmd.Run(); err != nil {
		t.Fatalf("gptgo %s: %v\n%s", strings.Join(args, " "), err, errb.String())
	}
	return time.Since(start), errb.String()
}

// tempsIn lists the temporary files internal/atomicfile (and the verbs
// that follow its naming) leave when killed: ".NAME.tmp-…".
func tempsIn(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp-") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// killAtRandom runs w once to the end to time it, then killRounds times
// starts it over the last output and kills it with SIGKILL at a random
// point of that time, checking the files after each kill. A last full run
// must leave no temporary file behind: the leftovers of killed writers are
// removed by the next run.
func killAtRandom(t *testing.T, w killWriter) {
	dir := t.TempDir()
	full, _ := runChild(t, w.args(dir)...)
	if err := w.check(t, dir); err != nil {
		t.Fatalf("after a whole run: %v", err)
	}
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 29))
	leftovers := 0
	for round := range killRounds {
		cmd := exec.Command(os.Args[0], w.args(dir)...)
		cmd.Env = append(os.Environ(), helperEnv+"=1")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		at := time.Duration(rng.Int64N(int64(full)))
		time.Sleep(at)
		cmd.Process.Kill()
		cmd.Wait()
		if err := w.check(t, dir); err != nil {
			t.Fatalf("round %d, killed after %v of a %v run: %v", round, at, full, err)
		}
		leftovers += len(tempsIn(t, dir))
	}
	runChild(t, w.args(dir)...)
	if err := w.check(t, dir); err != nil {
		t.Fatalf("after the next whole run: %v", err)
	}
	if tmp := tempsIn(t, dir); len(tmp) > 0 {
		t.Fatalf("temporary files left after the next whole run: %v", tmp)
	}
	t.Logf("%s: %d kills within a %v run, %d temporary files seen after kills, none after the next run", w.name, killRounds, full.Round(time.Millisecond), leftovers)
}

// oneOf returns a check that path is absent or equal to one of versions.
func oneOf(path string, versions ...[]byte) func(*testing.T, string) error {
	return func(t *testing.T, dir string) error {
		b, err := os.ReadFile(path)
		if os.IsNotExist(err) {
			return nil
		}
		if err != nil {
			return err
		}
		for _, v := range versions {
			if bytes.Equal(b, v) {
				return nil
			}
		}
		return fmt.Errorf("%s: %d bytes, neither the old nor the new version (torn)", path, len(b))
	}
}

// TestWritersKilledAtRandom kills each writer of models (init, quantize),
// tokenizers (tokenizer train), token shards and reports (data tokenize),
// and checkpoints, logs and configs (train pretrain) with SIGKILL at 20
// random points: every file is the old version, the new one or absent,
// never torn; the next run cleans the temporary files.
func TestWritersKilledAtRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping: 100 child processes killed (-short)")
	}
	text, vocab, _ := trainFixture(t)
	src := t.TempDir()
	initArgs := func(out, seed string) []string {
		return []string{"init", out, "--dim", "64", "--layers", "2", "--heads", "2", "--ff", "128", "--vocab", "300", "--seed", seed, "--quiet"}
	}
	// The versions a file may hold: written whole, once each, by runs to the end.
	runChild(t, initArgs(filepath.Join(src, "old.gguf"), "1")...)
	runChild(t, initArgs(filepath.Join(src, "new.gguf"), "2")...)
	runChild(t, "quantize", filepath.Join(src, "old.gguf"), filepath.Join(src, "old-q.gguf"), "q4_0")
	runChild(t, "quantize", filepath.Join(src, "new.gguf"), filepath.Join(src, "new-q.gguf"), "q8_0")
	tokArgs := func(out, size string) []string {
		return []string{"tokenizer", "train", text, "--vocab-size", size, "-o", out, "--quiet"}
	}
	// The output's name goes into its metadata: same base name as in the test.
	os.Mkdir(filepath.Join(src, "old"), 0o755)
	os.Mkdir(filepath.Join(src, "new"), 0o755)
	runChild(t, tokArgs(filepath.Join(src, "old", "tok.gguf"), "280")...)
	runChild(t, tokArgs(filepath.Join(src, "new", "tok.gguf"), "300")...)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	seedWith := func(b []byte, dir, name string) {
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var oldModel, newModel, oldQ, newQ, oldTok, newTok = read("old.gguf"), read("new.gguf"), read("old-q.gguf"), read("new-q.gguf"), read("old/tok.gguf"), read("new/tok.gguf")

	writers := []killWriter{
		{name: "init", args: func(dir string) []string {
			if _, err := os.Stat(filepath.Join(dir, "m.gguf")); err != nil {
				seedWith(oldModel, dir, "m.gguf") // the old version the new one replaces
			}
			return initArgs(filepath.Join(dir, "m.gguf"), "2")
		}},
		{name: "quantize", args: func(dir string) []string {
			if _, err := os.Stat(filepath.Join(dir, "q.gguf")); err != nil {
				seedWith(oldQ, dir, "q.gguf")
			}
			return []string{"quantize", filepath.Join(src, "new.gguf"), filepath.Join(dir, "q.gguf"), "q8_0"}
		}},
		{name: "tokenizer train", args: func(dir string) []string {
			if _, err := os.Stat(filepath.Join(dir, "tok.gguf")); err != nil {
				seedWith(oldTok, dir, "tok.gguf")
			}
			return tokArgs(filepath.Join(dir, "tok.gguf"), "300")
		}},
		{name: "data tokenize", args: func(dir string) []string {
			return []string{"data", "tokenize", text, "-o", filepath.Join(dir, "out"), "--vocab", vocab, "--quiet"}
		}, check: shardsWhole},
		{name: "train pretrain", args: func(dir string) []string {
			cfg := filepath.Join(dir, "..", filepath.Base(dir)+"-run.json")
			os.WriteFile(cfg, []byte(`{"data": {"val_fraction": 0.5}, "model": {"dim": 16, "layers": 1, "heads": 2, "kv_heads": 1},
				"run": {"steps": 4, "batch": 2, "seq": 16, "threads": 1, "eval_every": 2, "eval_batches": 1,
					"sample_every": 0, "sample_tokens": 0, "checkpoint_every": 1}}`), 0o644)
			// A killed run with a checkpoint is resumed (the real next
			// run: it must clean what the kill left); a finished one is
			// started over.
			run := filepath.Join(dir, "run")
			if _, err := os.Stat(filepath.Join(run, modelName)); err == nil {
				os.RemoveAll(run)
			} else if _, err := os.Stat(filepath.Join(run, ckptName)); err == nil {
				return []string{"train", "pretrain", "--out", run, "--resume"}
			}
			return []string{"train", "pretrain", text, "--vocab", vocab, "--config", cfg, "--out", run, "--seed", "3"}
		}, check: runWhole},
	}
	writers[0].check = func(t *testing.T, dir string) error {
		return oneOf(filepath.Join(dir, "m.gguf"), oldModel, newModel)(t, dir)
	}
	writers[1].check = func(t *testing.T, dir string) error { return oneOf(filepath.Join(dir, "q.gguf"), oldQ, newQ)(t, dir) }
	writers[2].check = func(t *testing.T, dir string) error {
		return oneOf(filepath.Join(dir, "tok.gguf"), oldTok, newTok)(t, dir)
	}
	for _, w := range writers {
		t.Run(strings.ReplaceAll(w.name, " ", "_"), func(t *testing.T) { killAtRandom(t, w) })
	}
}

// shardsWhole: every shard present reads whole (header, size, ids inside
// the vocabulary), and every JSON file present parses.
func shardsWhole(t *testing.T, dir string) error {
	var errs []string
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.Contains(d.Name(), ".tmp-") {
			return nil
		}
		switch {
		case strings.HasSuffix(p, ".tok"):
			if _, _, err := data.ReadShard(p); err != nil {
				errs = append(errs, err.Error())
			}
		case strings.HasSuffix(p, ".json"):
			if b, err := os.ReadFile(p); err != nil || !json.Valid(b) {
				errs = append(errs, p+": not whole JSON")
			}
		}
		return nil
	})
	if len(errs) > 0 {
		return fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return nil
}

// runWhole: the checkpoint passes its CRC, the model and config are whole
// files, and every line of the append-only log parses except possibly a
// torn last one (which the resume skips).
func runWhole(t *testing.T, dir string) error {
	run := filepath.Join(dir, "run")
	if _, err := os.Stat(filepath.Join(run, ckptName)); err == nil {
		if err := checkpointIntact(filepath.Join(run, ckptName)); err != nil {
			return err
		}
	}
	if b, err := os.ReadFile(filepath.Join(run, configName)); err == nil && !json.Valid(b) {
		return fmt.Errorf("%s: torn (%d bytes)", configName, len(b))
	}
	if b, err := os.ReadFile(filepath.Join(run, logName)); err == nil {
		lines := bytes.Split(b, []byte("\n"))
		for i, l := range lines[:max(0, len(lines)-1)] {
			if !json.Valid(l) {
				return fmt.Errorf("%s line %d of %d torn: %q", logName, i+1, len(lines)-1, l)
			}
		}
	}
	if err := shardsWhole(t, run); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(run, modelName)); err == nil {
		runChild(t, "inspect", filepath.Join(run, modelName))
	}
	return nil
}
