//go:build beam

package beampipe

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/data"
	"github.com/gptgo/gptgo/internal/testkit"
)

// vocab is the repository's default model, whose GGUF holds a tokenizer.
const vocab = "../../models/default.gguf"

var (
	adjectives = strings.Fields("old young quiet tired bright broken wooden heavy narrow green cold warm busy empty small tall gentle proud " +
		"careful famous hidden lonely modern ancient strange simple golden silver rusty muddy dusty patient clever honest curious distant")
	nouns = strings.Fields("baker doctor fisherman teacher mayor farmer guide captain student engineer sister nurse musician librarian " +
		"chair clock basket map boat letter bicycle candle suitcase bread gate boots bell honey window radio harbour station square forest " +
		"river hill bridge market school lighthouse street bakery garden church village kitchen tower meadow orchard valley castle island")
	verbs = strings.Fields("carried painted repaired described sold found borrowed photographed measured cleaned forgot explained " +
		"ordered returned watched planted visited opened closed followed")
	preps = strings.Fields("near behind beside under above past inside beyond across toward")
)

// document writes n sentences of words drawn from the tables above, a line
// per four sentences, so that documents share vocabulary but not passages.
func document(rng *rand.Rand, n int) string {
	pick := func(s []string) string { return s[rng.Intn(len(s))] }
	var b strings.Builder
	for i := range n {
		if i > 0 && i%4 == 0 {
			b.WriteString("\n")
		} else if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "The %s %s %s a %s %s %s the %s %s.", pick(adjectives), pick(nouns), pick(verbs), pick(adjectives), pick(nouns),
			pick(preps), pick(adjectives), pick(nouns))
	}
	return b.String() + "\n"
}

func jsonl(docs [][2]string) string {
	var b strings.Builder
	for _, d := range docs {
		js, _ := json.Marshal(map[string]string{"id": d[0], "text": d[1]})
		b.Write(js)
		b.WriteByte('\n')
	}
	return b.String()
}

// madeCorpus writes three files with planted exact duplicates, near
// duplicates (an earlier file's document with one word changed, in a later
// file and so a later bundle), a boilerplate line, PII, and documents the
// quality and language stages drop.
func madeCorpus(t *testing.T, dir string) []string {
	rng := rand.New(rand.NewSource(7))
	var files [3][][2]string
	for f := range files {
		for i := range 40 {
			text := document(rng, 12+rng.Intn(10))
			if i%5 == 0 {
				text += "Subscribe to our newsletter for more stories like this one.\n"
			}
			files[f] = append(files[f], [2]string{fmt.Sprintf("f%d-%d", f, i), text})
		}
	}
	orig := files[0][3][1]
	files[1] = append(files[1], [2]string{"near-of-f0-3", strings.Replace(orig, "The", "A", 1)})
	files[2] = append(files[2], [2]string{"near2-of-f0-3", strings.Replace(orig, "The", "One", 1)})
	files[2] = append(files[2], [2]string{"exact-of-f1-7", strings.ToUpper(files[1][7][1])})
	files[0] = append(files[0], [2]string{"pii", document(rng, 15) + "Write to jane.doe@example.com or call +44 20 7946 0958 today.\n"})
	files[1] = append(files[1], [2]string{"short", "Too short to keep."})
	files[1] = append(files[1], [2]string{"german", "Der Fluss fließt an der alten Mühle vorbei und unter der Steinbrücke hindurch, bevor er das Meer erreicht. Jeden Morgen öffnet der Bäcker seinen Laden um sechs Uhr und verkauft den Leuten der Stadt warmes Brot."})
	var paths []string
	for f, docs := range files {
		p := filepath.Join(dir, fmt.Sprintf("part-%d.jsonl", f))
		if err := os.WriteFile(p, []byte(jsonl(docs)), 0o644); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, p)
	}
	return paths
}

// runBoth runs c with the local runner and on prism, into two directories.
func runBoth(t *testing.T, c data.Config) (local, beam string, lrep, brep *data.Report) {
	t.Helper()
	root := t.TempDir()
	local, beam = filepath.Join(root, "local"), filepath.Join(root, "beam")
	var enc data.Encoder
	if slicesContains(c.Stages, data.StageTokenize) {
		var err error
		if enc, err = loadEncoder(c); err != nil {
			t.Fatal(err)
		}
	}
	lc := c
	lc.Output = local
	lrep, err := data.RunConfig(context.Background(), lc, enc, nil)
	if err != nil {
		t.Fatalf("local runner: %v", err)
	}
	bc := c
	bc.Output = beam
	brep, err = Run(context.Background(), bc, Options{})
	if err != nil {
		t.Fatalf("beam runner: %v", err)
	}
	return local, beam, lrep, brep
}

func slicesContains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// sameOutputs checks docs.jsonl and every shard byte for byte, rejected.jsonl
// line by line (the exact-dedup detail says how the duplicate was found,
// which differs), and the report's per-stage tallies.
func sameOutputs(t *testing.T, local, beam string, lrep, brep *data.Report) {
	t.Helper()
	files := func(dir string) []string {
		var out []string
		filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				rel, _ := filepath.Rel(dir, p)
				out = append(out, rel)
			}
			return nil
		})
		sort.Strings(out)
		return out
	}
	lf, bf := files(local), files(beam)
	if !reflect.DeepEqual(lf, bf) {
		t.Fatalf("outputs differ: local %v, beam %v", lf, bf)
	}
	for _, f := range lf {
		if f == "report.json" || f == "summary.txt" || f == "rejected.jsonl" {
			continue
		}
		a, _ := os.ReadFile(filepath.Join(local, f))
		b, _ := os.ReadFile(filepath.Join(beam, f))
		if !bytes.Equal(a, b) {
			t.Errorf("%s differs: local %d bytes, beam %d bytes", f, len(a), len(b))
		}
	}
	if slicesContains(lf, "rejected.jsonl") {
		a, _ := os.ReadFile(filepath.Join(local, "rejected.jsonl"))
		b, _ := os.ReadFile(filepath.Join(beam, "rejected.jsonl"))
		la, lb := strings.Split(string(a), "\n"), strings.Split(string(b), "\n")
		if len(la) != len(lb) {
			t.Fatalf("rejected.jsonl: local %d lines, beam %d", len(la), len(lb))
		}
		for i := range la {
			var x, y map[string]string
			json.Unmarshal([]byte(la[i]), &x)
			json.Unmarshal([]byte(lb[i]), &y)
			if x["stage"] == data.StageExactDedup {
				delete(x, "detail")
				delete(y, "detail")
			}
			if !reflect.DeepEqual(x, y) {
				t.Errorf("rejected.jsonl line %d:\nlocal %s\nbeam  %s", i+1, la[i], lb[i])
			}
		}
	}
	if lrep.DocsIn != brep.DocsIn || lrep.BytesIn != brep.BytesIn || lrep.DocsOut != brep.DocsOut || lrep.BytesOut != brep.BytesOut ||
		lrep.SkippedRecords != brep.SkippedRecords || !reflect.DeepEqual(lrep.SkipExamples, brep.SkipExamples) {
		t.Errorf("report totals: local %+v\nbeam %+v", *lrep, *brep)
	}
	for i := range lrep.Stages {
		l, b := lrep.Stages[i], brep.Stages[i]
		for k := range l.Counts { // the local dedup stages' Bloom filters have no Beam counterpart
			if strings.HasPrefix(k, "bloom_") {
				delete(l.Counts, k)
			}
		}
		lj, _ := json.Marshal(l) // as report.json has them: empty maps and lists left out
		bj, _ := json.Marshal(b)
		if string(lj) != string(bj) {
			t.Errorf("stage %s:\nlocal %s\nbeam  %s", l.Name, lj, bj)
		}
	}
}

func madeConfig(t *testing.T) data.Config {
	c := data.DefaultConfig()
	c.Inputs = madeCorpus(t, t.TempDir())
	c.Stages = append(c.Stages, data.StageTokenize)
	c.Tokenize.Vocab = vocab
	c.Tokenize.MaxShardTokens = 4000 // several shards, cut mid-corpus
	return c
}

// TestBeamMatchesLocal: the default stages and tokenize, on a corpus the
// test makes, give the local runner's documents and shards byte for byte.
func TestBeamMatchesLocal(t *testing.T) {
	c := madeConfig(t)
	local, beam, lrep, brep := runBoth(t, c)
	sameOutputs(t, local, beam, lrep, brep)
	shards, _ := filepath.Glob(filepath.Join(beam, "shards", "*.tok"))
	if len(shards) < 3 {
		t.Errorf("%d shards, want several (max_shard_tokens 4000)", len(shards))
	}
	kept := map[string]bool{}
	b, _ := os.ReadFile(filepath.Join(beam, "docs.jsonl"))
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var d struct{ ID, Text string }
		json.Unmarshal([]byte(l), &d)
		kept[d.ID] = true
		if d.ID == "pii" && !strings.Contains(d.Text, "<EMAIL>") {
			t.Errorf("pii document not scrubbed: %q", d.Text)
		}
	}
	// The planted near duplicates are dropped in favour of the first in
	// input order, whichever bundle they were read in.
	if !kept["f0-3"] || kept["near-of-f0-3"] || kept["near2-of-f0-3"] || kept["exact-of-f1-7"] || kept["short"] || kept["german"] {
		t.Errorf("planted documents: kept %v", kept)
	}
}

// TestBeamLineDedupAll: mode "all" (the local runner's counting pass) and
// paragraphs as the unit; bad records skipped and reported in input order.
func TestBeamLineDedupAll(t *testing.T) {
	dir := t.TempDir()
	c := data.DefaultConfig()
	c.Inputs = madeCorpus(t, dir)
	bad := filepath.Join(dir, "part-3.jsonl")
	os.WriteFile(bad, []byte("{broken\n"+jsonl([][2]string{{"late", document(rand.New(rand.NewSource(9)), 14)}})+`{"id":"no-text"}`+"\n"), 0o644)
	c.Inputs = append(c.Inputs, bad)
	c.Read.SkipBadRecords = true
	c.LineDedup.Mode = "all"
	c.LineDedup.Unit = "paragraph"
	c.Stages = []string{data.StageLineDedup, data.StageQuality}
	local, beam, lrep, brep := runBoth(t, c)
	sameOutputs(t, local, beam, lrep, brep)
	if brep.SkippedRecords != 2 || len(brep.SkipExamples) != 2 || !strings.Contains(brep.SkipExamples[0], "part-3.jsonl: line 1") {
		t.Errorf("skipped %d, examples %q", brep.SkippedRecords, brep.SkipExamples)
	}
}

// TestResolveIgnoresArrivalOrder: the near-duplicate resolver gives the same
// verdicts whatever order its candidates arrive in (Beam promises no order
// within a side input), because it sorts them by input position first.
func TestResolveIgnoresArrivalOrder(t *testing.T) {
	o := data.DefaultMinHashOptions()
	mh, _ := data.NewMinHasher(o)
	rng := rand.New(rand.NewSource(3))
	var cands []bandMember
	for i := range 30 {
		base := document(rand.New(rand.NewSource(int64(i%6))), 20) // six families of near duplicates
		text := strings.Replace(base, "The", nouns[rng.Intn(len(nouns))], 1+rng.Intn(2))
		cands = append(cands, bandMember{Seq: int64(i), ID: fmt.Sprint("d", i), Sig: mh.Signature(text)})
	}
	cfg, _ := json.Marshal(data.DefaultConfig())
	run := func(order []bandMember) map[int64]verdict {
		f := &resolveFn{Cfg: string(cfg)}
		if err := f.Setup(); err != nil {
			t.Fatal(err)
		}
		i := 0
		out := map[int64]verdict{}
		err := f.ProcessElement(nil, func(m *bandMember) bool {
			if i == len(order) {
				return false
			}
			*m = order[i]
			i++
			return true
		}, func(seq int64, v verdict) { out[seq] = v }, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := run(cands)
	if len(want) < 20 {
		t.Fatalf("%d near duplicates among 30 documents of 6 families, want at least 20", len(want))
	}
	for range 5 {
		shuffled := append([]bandMember(nil), cands...)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		if got := run(shuffled); !reflect.DeepEqual(got, want) {
			t.Fatalf("verdicts depend on arrival order:\n%v\n%v", got, want)
		}
	}
}

// TestBeamBadInput: a malformed JSONL record stops the run with the
// reader's error, which names the file and line.
func TestBeamBadInput(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.jsonl")
	os.WriteFile(bad, []byte(`{"id":"a","text":"fine"}`+"\n"+`{"id":"b","text":`+"\n"), 0o644)
	c := data.DefaultConfig()
	c.Inputs, c.Output = []string{bad}, filepath.Join(dir, "out")
	_, err := Run(context.Background(), c, Options{})
	if err == nil || !strings.Contains(err.Error(), "bad.jsonl: line 2") {
		t.Fatalf("error %v, want one naming bad.jsonl: line 2", err)
	}
	c.Inputs = []string{filepath.Join(dir, "missing.jsonl")}
	if _, err := Run(context.Background(), c, Options{}); err == nil || !strings.Contains(err.Error(), "missing.jsonl") {
		t.Fatalf("missing input: %v", err)
	}
	c.Inputs = []string{bad}
	c.MinHash.Index = "bloom"
	if _, err := Run(context.Background(), c, Options{}); err == nil || !strings.Contains(err.Error(), `minhash.index "bloom"`) {
		t.Fatalf("bloom index: %v", err)
	}
}

// TestBeamMatchesLocalShared: the same on ../shared's English web and
// Wikipedia text and on Chinese poetry.
func TestBeamMatchesLocalShared(t *testing.T) {
	for _, tc := range []struct {
		name   string
		inputs []string
		edit   func(*data.Config)
	}{
		{"c4-wiki", []string{testkit.Shared(t, "data", "1-pretrain-en", "c4_demo.jsonl"), testkit.Shared(t, "data", "1-pretrain-en", "wiki_demo.txt")},
			func(c *data.Config) { c.Read.TextUnit = "line" }},
		{"songci", []string{testkit.Shared(t, "data", "2-pretrain-zh", "songci_300.json"), testkit.Shared(t, "data", "2-pretrain-zh", "ci.song.0.json")},
			func(c *data.Config) { c.Read.TextField = "paragraphs" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := data.DefaultConfig()
			c.Inputs = tc.inputs
			c.Stages = append(c.Stages, data.StageTokenize)
			c.Tokenize.Vocab = vocab
			c.Tokenize.MaxShardTokens = 100_000
			tc.edit(&c)
			local, beam, lrep, brep := runBoth(t, c)
			sameOutputs(t, local, beam, lrep, brep)
			t.Logf("%d documents in, %d kept, %d shards", brep.DocsIn, brep.DocsOut, brep.Stages[len(brep.Stages)-1].Counts["shards"])
		})
	}
}

// TestMain silences Beam's and prism's log: every job logs a dozen lines,
// and failed ones their whole execution plan.
func TestMain(m *testing.M) {
	Init(false)
	os.Exit(m.Run())
}
