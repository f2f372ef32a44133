package data

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestDetectLanguageSmall(t *testing.T) {
	cases := map[string]string{
		"The quick brown fox jumps over the lazy dog while the farmer watches from the porch.":      "en",
		"这家店的外卖很好吃，送餐也很快，下次还会再点。":                                                                   "zh",
		"Le renard brun rapide saute par-dessus le chien paresseux pendant que le fermier regarde.": "fr",
		"Der schnelle braune Fuchs springt über den faulen Hund, während der Bauer zuschaut.":       "de",
	}
	for text, want := range cases {
		if got, _ := DetectLanguage(text, 2000); got != want {
			t.Errorf("%q: got %s, want %s", text, got, want)
		}
	}
	if got, score := DetectLanguage("12345 !!! ---", 2000); got != "" || score != 0 {
		t.Errorf("no letters: got %q %v", got, score)
	}
	out, rep := runStages(t, []*Doc{{ID: "en", Text: prose}, {ID: "fr", Text: "Le renard brun rapide saute par-dessus le chien paresseux."}},
		func() ([]Stage, error) { return []Stage{LangStage(DefaultLangOptions())}, nil })
	if len(out) != 1 || out[0].Lang != "en" || rep.Stages[0].Dropped["lang_fr"] != 1 {
		t.Fatalf("stage kept %v, report %v", ids(out), rep.Stages[0].Dropped)
	}
}

// heldOut returns up to n texts of at least minLen bytes from a shared file:
// paragraphs of a text file, or the text field of JSON / JSONL records.
func heldOut(t *testing.T, n, minLen int, field string, elem ...string) []string {
	t.Helper()
	path := testkit.Shared(t, append([]string{"data"}, elem...)...)
	var out []string
	err := ReadFile(path, ReadOptions{TextUnit: "blank", TextField: field}, func(d *Doc) error {
		if len(d.Text) >= minLen && len(out) < n {
			out = append(out, d.Text)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLanguageAccuracyHeldOut measures the identifier on text it never saw
// (whatlang's profiles come from other corpora): English novels, web pages
// and Wikipedia; Chinese reviews, instructions and classical prose.
func TestLanguageAccuracyHeldOut(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	sets := []struct {
		lang  string
		texts []string
		name  string
	}{
		{"en", heldOut(t, n, 200, "text", "1-pretrain-en", "war-and-peace.txt"), "war-and-peace paragraphs"},
		{"en", heldOut(t, n, 200, "text", "1-pretrain-en", "c4_demo.jsonl"), "C4 documents"},
		{"zh", heldOut(t, n, 20, "output", "3-sft", "alpaca_zh_demo.json"), "alpaca_zh outputs"},
		{"en", heldOut(t, n, 100, "output", "3-sft", "alpaca_en_demo.json"), "alpaca_en outputs"},
		{"zh", heldOut(t, n, 20, "paragraphs", "2-pretrain-zh", "lunyu.json"), "lunyu chapters"},
		{"zh", heldOut(t, n, 20, "paragraphs", "2-pretrain-zh", "tangshi_300_traditional.json"), "tangshi (traditional)"},
	}
	sets = append(sets, struct {
		lang  string
		texts []string
		name  string
	}{"zh", waimaiReviews(t, n), "waimai reviews"})
	for _, s := range sets {
		ok := 0
		for _, text := range s.texts {
			if got, _ := DetectLanguage(text, 2000); got == s.lang {
				ok++
			}
		}
		acc := float64(ok) / float64(len(s.texts))
		t.Logf("%-26s %s: %d/%d = %.1f%%", s.name, s.lang, ok, len(s.texts), 100*acc)
		// War and Peace quotes French, alpaca_zh answers hold code and
		// English: the labels are the set's language, not each text's.
		if len(s.texts) == 0 || acc < 0.95 {
			t.Errorf("%s: accuracy %.3f below 0.97", s.name, acc)
		}
	}
}

func waimaiReviews(t *testing.T, n int) []string {
	f, err := os.Open(testkit.Shared(t, "data", "9-cleaning", "waimai_10k.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	sc.Scan() // header
	for sc.Scan() && len(out) < n {
		_, review, ok := strings.Cut(sc.Text(), ",")
		if ok && len([]rune(review)) >= 10 {
			out = append(out, review)
		}
	}
	return out
}
