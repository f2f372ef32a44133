// Reference: Lee et al. 2019 §5 (the inverse cloze task), as train/embed_pairs.go builds it.

package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestSentences(t *testing.T) {
	got := sentences("Dr. Smith came. He saw 3.5 apples! Did he?\n- a\n北京是首都。上海很大！好不好？ tail without end")
	want := []string{"Dr.", "Smith came.", "He saw 3.5 apples!", "Did he?", "北京是首都。", "上海很大！", "好不好？", "tail without end"}
	// "Dr." is a sentence of its own (2 letters: dropped), "- a" too.
	want = slices.DeleteFunc(want, func(s string) bool { return s == "Dr." })
	if !slices.Equal(got, want) {
		t.Errorf("sentences:\n got %q\nwant %q", got, want)
	}
}

// TestICTPairs: every passage of three or more sentences gives one pair
// whose query is one of its sentences and whose positive is the rest (or,
// one time in ten, the whole passage); the same seed gives the same pairs,
// another seed other ones.
func TestICTPairs(t *testing.T) {
	var texts []string
	for i := range 40 {
		texts = append(texts, strings.Repeat("Alpha beta gamma "+string(rune('a'+i%26))+". ", 3)+"One more sentence here. And a last one.")
	}
	texts = append(texts, "Too short. Only two.")
	pairs := ICTPairs(texts, 1000, 7)
	if len(pairs) != 40 {
		t.Fatalf("%d pairs, want 40 (the two-sentence text gives none)", len(pairs))
	}
	kept := 0
	for i, p := range pairs {
		full := texts[i]
		if !strings.Contains(full, p.Query) {
			t.Errorf("pair %d: query %q is not from its text", i, p.Query)
		}
		switch {
		case p.Positive == full:
			kept++
		case strings.Count(p.Positive, p.Query) != strings.Count(full, p.Query)-1:
			t.Errorf("pair %d: the query %q was not taken out of the passage %q", i, p.Query, p.Positive)
		}
	}
	if kept == 0 || kept > 12 {
		t.Errorf("the query stayed in %d of 40 passages (want about one in ten)", kept)
	}
	if again := ICTPairs(texts, 1000, 7); !slices.Equal(again, pairs) {
		t.Error("the same seed gave other pairs")
	}
	if other := ICTPairs(texts, 1000, 8); slices.Equal(other, pairs) {
		t.Error("another seed gave the same pairs")
	}
	// A short passage limit cuts a text into several passages.
	if n := len(ICTPairs([]string{strings.Repeat("Word word word word. ", 30)}, 100, 1)); n < 4 {
		t.Errorf("%d pairs from 30 sentences in passages of 100 runes", n)
	}
}

func TestReadInstructionPairsAndTexts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	inst := write("a.json", `[{"instruction": "Name a colour.", "input": "one word", "output": "Blue is the colour of the sky.", "history": []},
		{"instruction": "Say hi", "input": "", "output": "hi"}, {"instruction": "", "input": "", "output": "an answer without a request"}]`)
	pairs, err := ReadInstructionPairs(inst, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(pairs) != 1 || pairs[0].Query != "Name a colour.\none word" || pairs[0].Positive != "Blue is the colour of the sky." {
		t.Errorf("pairs %+v", pairs)
	}
	if _, err := ReadInstructionPairs(write("b.json", `{"x": 1}`), 10); err == nil || !strings.Contains(err.Error(), "b.json") {
		t.Errorf("a non-list file: %v", err)
	}
	dpr := write("dpr.json", `[{"question": "q", "positive_ctxs": [{"text": "the answer"}], "negative_ctxs": [{"text": "neg one"}], "hard_negative_ctxs": [{"text": "hard one"}, {"text": "neg one"}]}]`)
	if texts, err := ReadTexts(dpr); err != nil || !slices.Equal(texts, []string{"neg one", "hard one"}) {
		t.Errorf("DPR texts %q, %v (want the negatives once each, never the positive)", texts, err)
	}
	jl := write("c.jsonl", "{\"text\": \"first\"}\n\n{\"text\": \"second\"}\n")
	if texts, err := ReadTexts(jl); err != nil || !slices.Equal(texts, []string{"first", "second"}) {
		t.Errorf("JSONL texts %q, %v", texts, err)
	}
	if _, err := ReadTexts(write("d.jsonl", "{not json}\n")); err == nil || !strings.Contains(err.Error(), "d.jsonl:1") {
		t.Errorf("a bad JSONL line: %v", err)
	}
	if texts, err := ReadTexts(write("e.txt", "line one\n\n  line two  \n")); err != nil || !slices.Equal(texts, []string{"line one", "line two"}) {
		t.Errorf("text lines %q, %v", texts, err)
	}
}

// TestICTPairsN: several queries per passage, each another sentence of
// it (at most all but one), the first of each passage ICTPairs' own.
func TestICTPairsN(t *testing.T) {
	texts := []string{
		"First of five. Second of five. Third of five. Fourth of five. Fifth of five.",
		"One of three. Two of three. Three of three.",
	}
	one := ICTPairs(texts, 1000, 3)
	many := ICTPairsN(texts, 1000, 3, 3)
	if len(one) != 2 || len(many) != 5 {
		t.Fatalf("%d and %d pairs, want 2 and 5 (3 from five sentences, 2 from three)", len(one), len(many))
	}
	if many[0] != one[0] || many[3] != one[1] {
		t.Errorf("the first pair of each passage differs from ICTPairs':\n%v\n%v", many, one)
	}
	for _, g := range [][]EmbedPair{many[:3], many[3:]} {
		seen := map[string]bool{}
		for _, p := range g {
			if seen[p.Query] {
				t.Errorf("the query %q was drawn twice from one passage", p.Query)
			}
			seen[p.Query] = true
		}
	}
	if all := ICTPairsN(texts, 1000, 3, 10); len(all) != 4+2 {
		t.Errorf("%d pairs with 10 asked per passage, want 6 (all but one sentence of each)", len(all))
	}
}
