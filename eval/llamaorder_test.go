// Reference: C++11 [rand.eng.mt] (the 10000th output of std::mt19937 seeded 5489) and llama.cpp's
// task draws (llamarand.go); a cloze task built from a text for the larger comparison.

package eval

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gptgo/gptgo/internal/testkit"
)

// std::mt19937(5489)'s 10000th output is 4123659995 (the C++ standard's
// check of the engine).
func TestMT19937(t *testing.T) {
	m := newMT19937(5489)
	var v uint32
	for range 10000 {
		v = m.next()
	}
	if v != 4123659995 {
		t.Errorf("10000th output %d, want 4123659995", v)
	}
	// Every draw is a subset without repeats; HellaSwag's covers the file
	// when k ≥ n, the others keep the file's order then.
	for _, f := range []Format{FormatHellaSwag, FormatWinogrande, FormatMultipleChoice} {
		for _, k := range []int{0, 3, 10, 400} {
			order := LlamaTaskOrder(f, 10, k)
			want := min(k, 10)
			if f != FormatHellaSwag && (k == 0 || k >= 10) {
				want = 10
				for i, j := range order {
					if i != j {
						t.Errorf("%s k=%d: %v is not the file's order", f, k, order)
						break
					}
				}
			}
			seen := map[int]bool{}
			for _, i := range order {
				seen[i] = i >= 0 && i < 10
			}
			if len(order) != want || len(seen) != want {
				t.Errorf("%s k=%d: %v", f, k, order)
			}
		}
	}
}

// clozeHellaSwag builds n HellaSwag-layout tasks from text: 12 words of
// context, the next 8 words the gold ending, three 8-word spans from
// elsewhere the distractors, the gold's place drawn; deterministic in
// seed. The same generator wrote the files llama-perplexity ran.
func clozeHellaSwag(text string, n int, seed uint64) string {
	words := strings.Fields(text)
	rng := rand.New(rand.NewPCG(seed, 27))
	var b strings.Builder
	for range n {
		i := rng.IntN(len(words) - 20)
		ends := make([]string, 0, 4)
		for range 3 {
			j := rng.IntN(len(words) - 8)
			ends = append(ends, strings.Join(words[j:j+8], " "))
		}
		g := rng.IntN(4)
		ends = append(ends[:g], append([]string{strings.Join(words[i+12:i+20], " ")}, ends[g:]...)...)
		fmt.Fprintf(&b, "Text: %s\n%d\n%s\n", strings.Join(words[i:i+12], " "), g, strings.Join(ends, "\n"))
	}
	return b.String()
}

// clozeSource is a span of a ../shared text the cloze tasks are built
// from: the default model's training domain (the end of War and Peace) and
// out of it (the start of the Wikipedia sample).
type clozeSource struct {
	name, file string
	tail       bool // the last Bytes bytes, else the first
	bytes      int
}

var clozeSources = []clozeSource{
	{"cloze-wp", "war-and-peace.txt", true, 300000},
	{"cloze-wiki", "wiki_demo.txt", false, 120000},
}

// clozeText is the span of the source text, cut back to whole UTF-8
// characters.
func (c clozeSource) text(b []byte) string {
	if len(b) > c.bytes {
		if c.tail {
			b = b[len(b)-c.bytes:]
		} else {
			b = b[:c.bytes]
		}
	}
	return strings.ToValidUTF8(string(b), "")
}

var clozeOut = flag.String("cloze-out", "", "TestWriteCloze: write the cloze task files (HellaSwag layout) into this directory, for llama-perplexity")

// TestWriteCloze writes the cloze tasks that llama-perplexity ran (go test
// -run TestWriteCloze -cloze-out DIR); without -cloze-out it only checks
// that the generator is deterministic.
func TestWriteCloze(t *testing.T) {
	text := strings.Repeat("one two three four five six seven eight nine ten eleven twelve ", 5)
	if a, b := clozeHellaSwag(text, 3, 1), clozeHellaSwag(text, 3, 1); a != b || strings.Count(a, "\n") != 18 {
		t.Fatalf("not deterministic or not 6 lines a task:\n%s\n%s", a, b)
	}
	if *clozeOut == "" {
		return
	}
	for _, c := range clozeSources {
		b, err := os.ReadFile(testkit.Shared(t, "data", "1-pretrain-en", c.file))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(*clozeOut, c.name+".txt"), []byte(clozeHellaSwag(c.text(b), 200, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// Run with LlamaTasks scores llama.cpp's subset in its order (each sample
// keeps its question's number in the file) and refuses a limit beside it.
func TestRunLlamaTasks(t *testing.T) {
	s, _ := defaultScorer(t)
	task, err := LoadTask("winogrande:"+filepath.Join("testdata", "winogrande-handmade.csv"), LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r, err := Run(context.Background(), s, task, RunOptions{LlamaTasks: 3, Samples: true})
	if err != nil {
		t.Fatal(err)
	}
	want := LlamaTaskOrder(FormatWinogrande, len(task.Items), 3)
	if r.N != 3 || len(r.Samples) != 3 {
		t.Fatalf("%d questions, %d samples", r.N, len(r.Samples))
	}
	for i, sm := range r.Samples {
		if sm.Index != want[i] {
			t.Errorf("sample %d is question %d, want %d", i, sm.Index, want[i])
		}
	}
	if _, err := Run(context.Background(), s, task, RunOptions{LlamaTasks: 3, Limit: 2}); err == nil {
		t.Error("a limit beside LlamaTasks was accepted")
	}
	mmlu := &Task{Name: "m", Format: FormatMMLU, Items: task.Items}
	if _, err := Run(context.Background(), s, mmlu, RunOptions{LlamaTasks: 3}); err == nil || !strings.Contains(err.Error(), "mmlu") {
		t.Errorf("mmlu with LlamaTasks: %v", err)
	}
}
