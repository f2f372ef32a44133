// Reference: the SQuAD 2.0, CMRC 2018 and DPR files of ../shared/data/7-rag-qa, and DPR's recall@k.

package train

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// TestReadQASet checks the split on the shared QA sets: held-out questions
// only ask about held-out paragraphs, no held-out paragraph is a training
// positive, SQuAD 2.0's unanswerable questions are gone, and DPR's hard
// negatives come along.
func TestReadQASet(t *testing.T) {
	for _, c := range []struct {
		file              string
		minTrain, minHeld int
		negatives         bool
	}{
		{"haystack_squad2_dev_small.json", 200, 40, false},
		{"cmrc2018_dev_squad.json", 2000, 500, false},
		{"haystack_dpr_nq_sample.json", 3, 1, true},
	} {
		path := testkit.Shared(t, "data", "7-rag-qa", c.file)
		s, err := ReadQASet(path, 5)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %d training pairs, %d held-out questions over %d paragraphs", c.file, len(s.Train), len(s.Held), len(s.Passages))
		if len(s.Train) < c.minTrain || len(s.Held) < c.minHeld || len(s.Answer) != len(s.Held) {
			t.Errorf("%s: %d train, %d held, %d answers", c.file, len(s.Train), len(s.Held), len(s.Answer))
		}
		for _, p := range s.Train {
			if slices.Contains(s.Passages, p.Positive) {
				t.Fatalf("%s: a held-out paragraph is a training positive", c.file)
			}
			if (p.Negative != "") != c.negatives {
				t.Fatalf("%s: negative %q", c.file, p.Negative)
			}
		}
		for _, a := range s.Answer {
			if a < 0 || a >= len(s.Passages) {
				t.Fatalf("%s: answer %d of %d passages", c.file, a, len(s.Passages))
			}
		}
		all, err := ReadQASet(path, 0)
		if err != nil || len(all.Held) != 0 || len(all.Train) != len(s.Train)+len(s.Held) {
			t.Errorf("%s: holding out none: %d train, %d held, %v", c.file, len(all.Train), len(all.Held), err)
		}
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte(`{"data": 3}`), 0o644)
	if _, err := ReadQASet(bad, 5); err == nil || !strings.Contains(err.Error(), "SQuAD") {
		t.Errorf("a malformed file: %v", err)
	}
}

func TestRecallAtK(t *testing.T) {
	q := [][]float32{{1, 0}, {0, 1}, {0.6, 0.8}}
	p := [][]float32{{0, 1}, {1, 0}, {0.8, 0.6}}
	// Query 0's best is passage 1 (its answer); query 1's best is 0 but
	// its answer is 2 (rank 2); query 2's answer 1 ranks third.
	got := RecallAtK(q, p, []int{1, 2, 1}, []int{1, 2, 3})
	if !slices.Equal(got, []float64{1.0 / 3, 2.0 / 3, 1}) {
		t.Errorf("recall@1,2,3 = %v", got)
	}
}

// TestReadQASetSplit: the validation paragraphs (3, 13, 23, … with 10)
// are neither held out nor trained on, and holding out is unchanged.
func TestReadQASetSplit(t *testing.T) {
	path := testkit.Shared(t, "data", "7-rag-qa", "haystack_squad2_dev_small.json")
	plain, err := ReadQASet(path, 5)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ReadQASetSplit(path, 5, 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d training pairs, %d validation questions over %d paragraphs, %d held out", len(s.Train), len(s.Val), len(s.ValPassages), len(s.Held))
	if !slices.Equal(s.Held, plain.Held) || !slices.Equal(s.Passages, plain.Passages) {
		t.Error("the validation split changed the held-out questions")
	}
	if len(s.Val) == 0 || len(s.ValAnswer) != len(s.Val) || len(s.Train)+len(s.Val) != len(plain.Train) {
		t.Errorf("%d validation questions (%d answers), %d + %d ≠ %d training pairs", len(s.Val), len(s.ValAnswer), len(s.Train), len(s.Val), len(plain.Train))
	}
	for _, p := range s.Train {
		if slices.Contains(s.ValPassages, p.Positive) || slices.Contains(s.Passages, p.Positive) {
			t.Fatal("a validation or held-out paragraph is a training positive")
		}
	}
	for _, p := range s.ValPassages {
		if slices.Contains(s.Passages, p) {
			t.Fatal("a validation paragraph is held out too")
		}
	}
	if _, err := ReadQASetSplit(path, 5, -1); err == nil {
		t.Error("a negative validation interval was accepted")
	}
}
