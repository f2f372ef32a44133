// Reference: rag/mine.go (BM25-mined hard negatives, DPR §3.2).

package rag

import (
	"slices"
	"testing"
)

func TestMineNegatives(t *testing.T) {
	paras := []string{
		"The Bell Rock Lighthouse was built between 1807 and 1810 off the coast of Angus.",
		"The Skerryvore Lighthouse was built between 1838 and 1844 off the coast of Tiree.",
		"The Danube flows through Vienna and Budapest to the Black Sea.",
		"Kyoto was the capital of Japan for more than a thousand years.",
		"李白字太白，号青莲居士，唐朝浪漫主义诗人。",
		"杜甫字子美，唐代现实主义诗人。",
	}
	queries := []string{
		"When was the Bell Rock Lighthouse built?",
		"When was the Skerryvore Lighthouse built?",
		"Which cities does the Danube flow through?",
		"What was the capital of Japan?",
		"李白字什么？",
		"杜甫字什么？",
		"A sentence found word for word: the Danube flows through Vienna and Budapest to the Black Sea.",
	}
	positives := append(slices.Clone(paras), paras[0])
	groups := []int{0, 0, 0, 0, 0, 0, 1}
	neg := MineNegatives(queries, positives[:7], groups, 1, 7)
	if neg[0] != paras[1] || neg[1] != paras[0] {
		t.Errorf("the lighthouse questions' negatives are not the other lighthouse:\n%q\n%q", neg[0], neg[1])
	}
	if neg[4] != paras[5] || neg[5] != paras[4] {
		t.Errorf("the Chinese questions' negatives are not the other poet: %q, %q", neg[4], neg[5])
	}
	for i, n := range neg[:6] {
		if n == positives[i] || n == "" {
			t.Errorf("pair %d: negative %q (positive %q)", i, n, positives[i])
		}
	}
	if neg[6] != "" {
		t.Errorf("a group of one passage gave the negative %q", neg[6])
	}
	// A passage holding the query text is never its negative.
	q := []string{"Danube flows through Vienna", "Kyoto", "Angus"}
	p := []string{paras[3], paras[2], paras[0]}
	for seed := range uint64(20) {
		if n := MineNegatives(q, p, []int{0, 0, 0}, 3, seed); n[0] != paras[0] {
			t.Fatalf("seed %d: the negative of a query found word for word in another passage is %q, want the third passage", seed, n[0])
		}
	}
	// Deterministic for a seed; deeper sampling stays among the others.
	a := MineNegatives(queries[:6], positives[:6], groups[:6], 3, 42)
	b := MineNegatives(queries[:6], positives[:6], groups[:6], 3, 42)
	if !slices.Equal(a, b) {
		t.Error("the same seed mined different negatives")
	}
	for i := range a {
		if a[i] == positives[i] || !slices.Contains(paras, a[i]) {
			t.Errorf("depth 3, pair %d: negative %q", i, a[i])
		}
	}
}
