package data

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigDefaultsRoundTrip(t *testing.T) {
	def := DefaultConfig()
	c, err := ParseConfig(strings.NewReader(def.JSON()), "default.json")
	if err != nil {
		t.Fatal(err)
	}
	if c.JSON() != def.JSON() {
		t.Fatal("default config does not survive a round trip")
	}
	// Every option is visible in the printed default.
	for _, key := range []string{`"min_words": 50`, `"bands": 16`, `"mode": "first"`, `"allow": [`, `"placeholder": "<%s>"`, `"max_shard_tokens": 100000000`} {
		if !strings.Contains(def.JSON(), key) {
			t.Errorf("default config lacks %s", key)
		}
	}
	c, err = ParseConfig(strings.NewReader(`{"minhash": {"bands": 8}}`), "x.json")
	if err != nil || c.MinHash.Bands != 8 || c.MinHash.Rows != 8 || c.Quality.MinWords != 50 {
		t.Fatalf("partial config: %v %+v", err, c.MinHash)
	}
	for _, bad := range []string{`{"minhash": {"bandz": 8}}`, `{"stages": ["quality", "nope"]}`, `{"stages": ["pii", "pii"]}`,
		`{"minhash": {"bands": 64}}`, `{"stages": ["tokenize", "pii"]}`, `{"line_dedup": {"mode": "some"}}`, `{"inputs": [`} {
		if _, err := ParseConfig(strings.NewReader(bad), "bad.json"); err == nil {
			t.Errorf("accepted %s", bad)
		}
	}
}

// TestRunConfigEndToEnd runs a whole config over small files written here:
// duplicates, a French page, a menu page and PII, and checks every output.
func TestRunConfigEndToEnd(t *testing.T) {
	dir := t.TempDir()
	jsonl := []map[string]string{
		{"id": "good", "text": prose + "Write to jane@example.org for the minutes.\n"},
		{"id": "copy", "text": strings.ToUpper(prose[:1]) + prose[1:] + "Write to jane@example.org for the minutes.\n"},
		{"id": "french", "text": "Le comité s'est réuni mardi pour examiner les plans de la nouvelle bibliothèque. Les membres ont convenu que le bâtiment devait offrir plus d'espace aux enfants et que les salles de lecture devaient rester calmes. Ils ont aussi discuté du budget."},
		{"id": "menu", "text": "Home page of the club\nAbout us and the team\nContact the office\nLogin to the forum\nRegister with us\nSearch the whole site\nRead the privacy policy\n"},
	}
	var b strings.Builder
	for _, r := range jsonl {
		line, _ := json.Marshal(r)
		b.Write(line)
		b.WriteByte('\n')
	}
	os.WriteFile(filepath.Join(dir, "in.jsonl"), []byte(b.String()), 0o644)
	cfgText := `{"inputs": ["in.jsonl"], "output": "out", "workers": 2,
		"stages": ["exact_dedup", "language", "quality", "minhash", "pii", "tokenize"],
		"tokenize": {"dir": "shards", "prefix": "s"}}`
	os.WriteFile(filepath.Join(dir, "c.json"), []byte(cfgText), 0o644)
	c, err := LoadConfig(filepath.Join(dir, "c.json"))
	if err != nil {
		t.Fatal(err)
	}
	var progress int
	rep, err := RunConfig(context.Background(), c, byteEncoder{}, func(Progress) { progress++ })
	if err != nil {
		t.Fatal(err)
	}
	if progress == 0 {
		t.Error("progress never reported")
	}
	out, err := os.ReadFile(filepath.Join(dir, "out", "docs.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var kept docJSON
	if len(lines) != 1 || json.Unmarshal([]byte(lines[0]), &kept) != nil || kept.ID != "good" || kept.Lang != "en" ||
		!strings.Contains(kept.Text, "Write to <EMAIL> for") {
		t.Fatalf("docs.jsonl: %s", out)
	}
	reasons := map[string]int64{}
	for _, s := range rep.Stages {
		for r, n := range s.Dropped {
			reasons[s.Name+"/"+strings.Fields(r)[0]] += n
		}
	}
	want := map[string]int64{"exact_dedup/exact_duplicate": 1, "language/lang_fr": 1, "quality/min_words": 1}
	for k, v := range want {
		if reasons[k] != v {
			t.Errorf("reason %s: %d, want %d (all: %v)", k, reasons[k], v, reasons)
		}
	}
	rej, err := os.ReadFile(filepath.Join(dir, "out", "rejected.jsonl"))
	if err != nil || strings.Count(string(rej), "\n") != 3 || !strings.Contains(string(rej), `"id":"menu","source":`) ||
		!strings.Contains(string(rej), `"stage":"exact_dedup","reason":"exact_duplicate"`) {
		t.Fatalf("rejected.jsonl: %v\n%s", err, rej)
	}
	var fromDisk Report
	if b, err := os.ReadFile(filepath.Join(dir, "out", "report.json")); err != nil || json.Unmarshal(b, &fromDisk) != nil || fromDisk.DocsIn != 4 || fromDisk.DocsOut != 1 {
		t.Fatalf("report.json: %v %+v", err, fromDisk)
	}
	sum, _ := os.ReadFile(filepath.Join(dir, "out", "summary.txt"))
	for _, s := range []string{"read 4 documents", "kept 1 document (", "exact_duplicate", "EMAIL"} {
		if !strings.Contains(string(sum), s) {
			t.Errorf("summary lacks %q:\n%s", s, sum)
		}
	}
	shards, _ := filepath.Glob(filepath.Join(dir, "out", "shards", "s-*.tok"))
	if len(shards) != 1 {
		t.Fatalf("shards %v", shards)
	}
	if h, toks, err := ReadShard(shards[0]); err != nil || h.Docs != 1 || int(h.Tokens) != len(kept.Text)+1 || toks[len(toks)-1] != 256 {
		t.Fatalf("shard: %v %+v", err, h)
	}
}

func TestExpandInputs(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	for _, f := range []string{"b.txt", "a.txt", "sub/c.txt", ".hidden"} {
		os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644)
	}
	got, err := ExpandInputs([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || !strings.HasSuffix(got[0], "a.txt") || !strings.HasSuffix(got[2], "c.txt") {
		t.Fatalf("got %v", got)
	}
	if _, err := ExpandInputs([]string{filepath.Join(dir, "none*.txt")}); err == nil {
		t.Fatal("missing input accepted")
	}
}
