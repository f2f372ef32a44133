package data

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

func TestMinHashCS336Licences(t *testing.T) {
	dir := testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "documents_with_fuzzy_duplicates")
	var docs []*Doc
	text := map[string]string{}
	for _, name := range []string{"pytorch_license.txt", "rails_mit_license.txt", "react_mit_license.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, &Doc{ID: name, Text: string(b)})
		text[name] = string(b)
	}
	o := DefaultMinHashOptions()
	t.Logf("Jaccard(rails, react) = %.3f, Jaccard(pytorch, rails) = %.3f (5-word shingles)",
		Jaccard(text["rails_mit_license.txt"], text["react_mit_license.txt"], 5),
		Jaccard(text["pytorch_license.txt"], text["rails_mit_license.txt"], 5))
	out, rep := runStages(t, docs, func() ([]Stage, error) {
		s, err := MinHashStage(o)
		return []Stage{s}, err
	})
	if got := strings.Join(ids(out), ","); got != "pytorch_license.txt,rails_mit_license.txt" {
		t.Fatalf("kept %s; want the PyTorch licence and one MIT licence", got)
	}
	cl := rep.Stages[0].Clusters
	if len(cl) != 1 || cl[0].Kept != "rails_mit_license.txt" || len(cl[0].Dropped) != 1 || cl[0].Dropped[0] != "react_mit_license.txt" {
		t.Fatalf("clusters %+v", cl)
	}
}

// TestMinHashEstimatesJaccard checks the estimator against exact Jaccard on
// texts of known overlap: the estimate's standard error is sqrt(s(1-s)/k).
func TestMinHashEstimatesJaccard(t *testing.T) {
	o := DefaultMinHashOptions()
	o.Permutations, o.Bands, o.Rows = 256, 32, 8
	mh, err := NewMinHasher(o)
	if err != nil {
		t.Fatal(err)
	}
	var base []string
	for i := 0; i < 400; i++ {
		base = append(base, fmt.Sprintf("w%d", i))
	}
	for _, keep := range []int{400, 300, 200, 100} {
		other := append([]string{}, base[:keep]...)
		for i := keep; i < 400; i++ {
			other = append(other, fmt.Sprintf("x%d", i))
		}
		a, b := strings.Join(base, " "), strings.Join(other, " ")
		exact := Jaccard(a, b, o.Shingle)
		est := Similarity(mh.Signature(a), mh.Signature(b))
		se := math.Sqrt(exact*(1-exact)/float64(o.Permutations)) + 1e-9
		if math.Abs(est-exact) > 4*se+0.01 {
			t.Errorf("keep %d: estimate %.3f, exact %.3f (4 SE = %.3f)", keep, est, exact, 4*se)
		}
	}
	if sig := mh.Signature("  \n "); sig != nil {
		t.Fatal("empty text got a signature")
	}
}

func TestMinHashOptionsValidate(t *testing.T) {
	o := DefaultMinHashOptions()
	o.Bands = 100
	if _, err := NewMinHasher(o); err == nil || !strings.Contains(err.Error(), "exceeds") {
		t.Fatalf("bands×rows > permutations: %v", err)
	}
	o = DefaultMinHashOptions()
	o.Shingle = 0
	if _, err := NewLSH(o); err == nil {
		t.Fatal("shingle 0 accepted")
	}
}

func TestMinHashChinese(t *testing.T) {
	a := "这家店的外卖非常好吃，送餐速度也很快，包装很精致，下次还会再来点这家的菜。服务态度很好，推荐大家尝试。"
	b := "这家店的外卖非常好吃，送餐速度也很快，包装很精致，下次还会再来点这家的菜。服务态度很好，推荐大家试试。"
	c := "今天天气不错，我们一起去公园散步吧，顺便买点水果回家，晚上再做一顿丰盛的晚饭。"
	out, _ := runStages(t, []*Doc{{ID: "a", Text: a}, {ID: "b", Text: b}, {ID: "c", Text: c}}, func() ([]Stage, error) {
		s, err := MinHashStage(DefaultMinHashOptions())
		return []Stage{s}, err
	})
	if got := strings.Join(ids(out), ","); got != "a,c" {
		t.Fatalf("kept %s, want a,c (b differs from a by two characters)", got)
	}
}

// TestMinHashBloomIndex: the fixed-memory index finds the same MIT-licence
// duplicate and keeps the PyTorch licence.
func TestMinHashBloomIndex(t *testing.T) {
	dir := testkit.Shared(t, "data", "9-cleaning", "cs336_a4_fixtures", "documents_with_fuzzy_duplicates")
	var docs []*Doc
	for _, name := range []string{"pytorch_license.txt", "rails_mit_license.txt", "react_mit_license.txt"} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		docs = append(docs, &Doc{ID: name, Text: string(b)})
	}
	o := DefaultMinHashOptions()
	o.Index, o.Capacity = "bloom", 1000
	out, rep := runStages(t, docs, func() ([]Stage, error) {
		s, err := MinHashStage(o)
		return []Stage{s}, err
	})
	if got := strings.Join(ids(out), ","); got != "pytorch_license.txt,rails_mit_license.txt" || rep.Stages[0].Counts["near_duplicates"] != 1 {
		t.Fatalf("kept %s, counts %v", got, rep.Stages[0].Counts)
	}
	o.Index = "disk"
	if _, err := MinHashStage(o); err == nil {
		t.Fatal("unknown index accepted")
	}
}

// TestMinHashDropDetail: a near duplicate's rejection carries its
// similarity and the kept document (LSH index), or says that the Bloom
// index records neither; the summary counts "1 document".
func TestMinHashDropDetail(t *testing.T) {
	a := "这家店的外卖非常好吃，送餐速度也很快，包装很精致，下次还会再来点这家的菜。服务态度很好，推荐大家尝试。"
	b := "这家店的外卖非常好吃，送餐速度也很快，包装很精致，下次还会再来点这家的菜。服务态度很好，推荐大家试试。"
	for _, index := range []string{"exact", "bloom"} {
		o := DefaultMinHashOptions()
		o.Index, o.Capacity = index, 1000
		s, err := MinHashStage(o)
		if err != nil {
			t.Fatal(err)
		}
		docs := []*Doc{{ID: "a", Text: a}, {ID: "b", Text: b}}
		for _, d := range docs {
			s.Map(d)
			s.Seq(d)
		}
		want := regexp.MustCompile(`^similarity 0\.\d{3} to a$`)
		if index == "bloom" {
			want = regexp.MustCompile(`^band \d+ matches an earlier document \(bloom index: no kept document or similarity recorded\)$`)
		}
		if docs[0].Drop != "" || docs[1].Drop != "near_duplicate" || !want.MatchString(docs[1].DropDetail) {
			t.Errorf("%s: a dropped %q, b dropped %q with detail %q", index, docs[0].Drop, docs[1].Drop, docs[1].DropDetail)
		}
	}
	var sb strings.Builder
	(&Report{DocsIn: 1, DocsOut: 1}).WriteSummary(&sb)
	if !strings.Contains(sb.String(), "read 1 document (") || !strings.Contains(sb.String(), "kept 1 document (") {
		t.Errorf("summary:\n%s", sb.String())
	}
}
